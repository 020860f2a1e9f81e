/**
 * The images of a chat request as the gateway reads them: where each is (its param, as
 * OpenAI names params), and what its URL is: inline `data:` bytes (png, jpeg, gif, webp,
 * base64) or a remote http(s) URL that only a provider may fetch. The gateway itself
 * never fetches a URL a client sent.
 */
import { imageSize } from 'image-size';
import type { ChatRequest } from './chat-request';
import { echo } from './echo';

export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

/** An image sent inline: its media type and base64 data (a view into the URL, not a copy). */
export interface InlineImage {
  readonly kind: 'inline';
  readonly mediaType: ImageMediaType;
  readonly base64: string;
  /** Size of the decoded bytes. */
  readonly bytes: number;
}

export interface RemoteImage {
  readonly kind: 'remote';
  readonly url: string;
}

export type ParsedImage = InlineImage | RemoteImage;

export interface RequestImage {
  /** `messages[1].content[2].image_url.url`. */
  readonly param: string;
  readonly image: ParsedImage;
  readonly detail?: 'auto' | 'low' | 'high' | null;
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The image a URL names, or why it cannot be one. */
export function parseImageUrl(url: string): ParsedImage | { error: string } {
  const head = DATA_URL.exec(url.slice(0, 256));
  if (!head) {
    if (/^https?:\/\//i.test(url)) return { kind: 'remote', url };
    return { error: 'must be a data: URL (base64 png, jpeg, gif or webp) or an http(s) URL' };
  }
  const mediaType = head[1].toLowerCase() === 'image/jpg' ? 'image/jpeg' : head[1].toLowerCase();
  if (!(IMAGE_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    return { error: `the data: URL is of type "${echo(head[1] || 'text/plain')}"; images must be ${IMAGE_MEDIA_TYPES.join(', ')}` };
  }
  if (!/;base64$/i.test(head[2])) return { error: 'the data: URL must be base64-encoded (data:image/png;base64,...)' };
  const base64 = url.slice(head[0].length);
  if (base64.length === 0 || base64.length % 4 === 1 || !BASE64.test(base64)) return { error: 'the data: URL does not hold valid base64' };
  return { kind: 'inline', mediaType: mediaType as ImageMediaType, base64, bytes: decodedBytes(base64) };
}

export interface PixelSize {
  readonly width: number;
  readonly height: number;
}

/** Base64 characters decoded to find the size: JPEG headers may sit behind EXIF data, the others in the first bytes. */
const HEADER_BASE64_CHARS = 64 * 1024;
/** Sizes already read, per parsed image: each provider kind's check of one request reads the same image objects. */
const pixelSizes = new WeakMap<InlineImage, PixelSize | null>();

/** An inline image's pixel size, from its header (never from the length of its base64); undefined when the header cannot be read. */
export function pixelSizeOf(image: InlineImage): PixelSize | undefined {
  let size = pixelSizes.get(image);
  if (size === undefined) {
    size = null;
    try {
      const { width, height } = imageSize(Buffer.from(image.base64.slice(0, HEADER_BASE64_CHARS), 'base64'));
      if (width > 0 && height > 0) size = { width, height };
    } catch {
      // truncated or unknown header: the size stays unknown
    }
    pixelSizes.set(image, size);
  }
  return size ?? undefined;
}

function decodedBytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}

/** Whether any user message holds an image part (the common case, none, costs one pass over the messages). */
export function hasImages(req: Pick<ChatRequest, 'messages'>): boolean {
  for (const m of req.messages) {
    if (m.role === 'user' && Array.isArray(m.content) && m.content.some((p) => p.type === 'image_url')) return true;
  }
  return false;
}

/** Every image part of the request, in order, parsed; a part that is not a usable image comes back as an `error`. */
export function requestImages(req: Pick<ChatRequest, 'messages'>): Array<RequestImage | { param: string; error: string }> {
  const out: Array<RequestImage | { param: string; error: string }> = [];
  req.messages.forEach((m, i) => {
    if (m.role !== 'user' || !Array.isArray(m.content)) return;
    m.content.forEach((p, j) => {
      if (p.type !== 'image_url') return;
      const param = `messages[${i}].content[${j}].image_url.url`;
      const image = parseImageUrl(p.image_url.url);
      out.push('error' in image ? { param, error: image.error } : { param, image, detail: p.image_url.detail });
    });
  });
  return out;
}
