/**
 * Reading an upstream's Server-Sent Events body: events come out whole however the bytes
 * were cut into chunks, characters split across chunks included, and a leading byte order
 * mark is not part of the first field.
 */
import { expect } from '@jest/globals';
import { readSse } from '../../runtime/src/providers/sse-read';

async function* chunks(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

async function events(parts: Uint8Array[]): Promise<Array<{ event?: string; data: string }>> {
  const out: Array<{ event?: string; data: string }> = [];
  for await (const e of readSse(chunks(parts))) out.push({ ...(e.event ? { event: e.event } : {}), data: e.data });
  return out;
}

/** `text` as UTF-8, cut at every byte offset in `cuts`. */
function cut(text: string, cuts: number[]): Uint8Array[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: Uint8Array[] = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, at));
    from = at;
  }
  return out;
}

const TEXT = 'data: {"c":"café ☕ 🦊"}\n\nevent: done\ndata: [DONE]\n\n';

test('events come out whole wherever the chunks were cut, inside a character too', async () => {
  const whole = await events(cut(TEXT, []));
  expect(whole).toEqual([{ data: '{"c":"café ☕ 🦊"}' }, { event: 'done', data: '[DONE]' }]);
  const bytes = Buffer.byteLength(TEXT);
  for (let at = 1; at < bytes; at++) expect(await events(cut(TEXT, [at]))).toEqual(whole);
  // Every byte its own chunk: each multi-byte character arrives in pieces.
  expect(
    await events(
      cut(
        TEXT,
        Array.from({ length: bytes - 1 }, (_, i) => i + 1),
      ),
    ),
  ).toEqual(whole);
});

test('a byte order mark before the first event is dropped', async () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  expect(await events([Buffer.concat([bom, Buffer.from('data: x\n\n')])])).toEqual([{ data: 'x' }]);
  expect(await events([bom, Buffer.from('data: y\n\n')])).toEqual([{ data: 'y' }]);
});

test('a last event without its blank line still counts', async () => {
  expect(await events(cut('data: a\n\ndata: b\n', []))).toEqual([{ data: 'a' }, { data: 'b' }]);
});
