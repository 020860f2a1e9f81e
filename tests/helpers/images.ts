/** Small real PNG files of a chosen pixel size (and padded to a chosen byte size), as bytes and data: URLs. */
import { crc32 } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG whose header says `width` x `height`; an ancillary chunk pads it to about `bytes`. */
export function png(width: number, height: number, bytes = 0): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const head = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)]);
  const padding = Math.max(0, bytes - head.length - 24);
  const parts: Buffer[] = [head];
  if (padding > 0) parts.push(chunk('tEXt', Buffer.alloc(padding, 0x61)));
  parts.push(chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

export function dataUrl(bytes: Buffer, mediaType = 'image/png'): string {
  return `data:${mediaType};base64,${bytes.toString('base64')}`;
}

/** A user message with a question and one image part per URL. */
export function imageMessage(text: string, ...urls: string[]) {
  return { role: 'user' as const, content: [{ type: 'text' as const, text }, ...urls.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] };
}
