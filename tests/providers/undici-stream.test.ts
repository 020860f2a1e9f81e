/**
 * Streamed answers over undici's dispatcher (providers/undici-stream.ts), against a real
 * HTTP server on 127.0.0.1: the body arrives whole and in order however slowly it is
 * read, a reader that falls behind holds the server back instead of buffering the
 * answer, and a reader that gives up, a cancellation or a broken connection end the
 * answer as a Readable body would.
 */
import { expect } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelSource } from '../../runtime/src/core/cancellation';
import type { HttpClient } from '../../runtime/src/providers/http';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { sleep } from '../helpers/until';

let server: Server;
let url: string;
let handle: (req: IncomingMessage, res: ServerResponse) => void;
let http: HttpClient;

beforeEach(async () => {
  server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`;
  http = createUndiciHttp();
});
afterEach(async () => {
  await http.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Writes `parts` as fast as the connection takes them; resolves with whether the answer ended or was cut. */
function writeParts(res: ServerResponse, parts: number, size: number, written: { bytes: number }): Promise<'ended' | 'closed'> {
  return new Promise((resolve) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.once('close', () => resolve(res.writableFinished ? 'ended' : 'closed'));
    let i = 0;
    const more = () => {
      while (i < parts) {
        const chunk = Buffer.alloc(size, 97 + (i % 26));
        i++;
        written.bytes += size;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
}

test('a streamed answer read slowly arrives whole and in order', async () => {
  const written = { bytes: 0 };
  handle = (_req, res) => void writeParts(res, 200, 1000, written);
  const res = await http.post(url, '{}', {}, new CancelSource());
  expect(res.statusCode).toBe(200);
  const parts: Buffer[] = [];
  for await (const part of res.body) {
    parts.push(Buffer.from(part as Uint8Array));
    if (parts.length % 20 === 0) await sleep(5);
  }
  const body = Buffer.concat(parts);
  expect(body.length).toBe(200 * 1000);
  for (let i = 0; i < 200; i++) expect(body[i * 1000]).toBe(97 + (i % 26));
});

test('a reader that falls behind holds the server back: the answer is not buffered whole', async () => {
  const written = { bytes: 0 };
  const total = 256 * 1024 * 1024;
  let done: Promise<'ended' | 'closed'> | undefined;
  handle = (_req, res) => void (done = writeParts(res, total / 65536, 65536, written));
  const res = await http.post(url, '{}', {}, new CancelSource());
  const it = res.body[Symbol.asyncIterator]();
  await it.next();
  await sleep(300);
  // Loopback socket buffers hold a few MB; without backpressure all 256 MB would be read.
  const held = written.bytes;
  expect(held).toBeLessThan(64 * 1024 * 1024);
  // And the server stays held: nothing more goes out while the reader waits.
  await sleep(300);
  expect(written.bytes).toBe(held);
  await it.return!();
  expect(await done).toBe('closed');
});

test('a reader that stops early closes the connection; dump past its limit does too', async () => {
  const written = { bytes: 0 };
  let done: Promise<'ended' | 'closed'> | undefined;
  handle = (_req, res) => void (done = writeParts(res, 100_000, 1000, written));
  const first = await http.post(url, '{}', {}, new CancelSource());
  for await (const _ of first.body) break;
  expect(await done).toBe('closed');

  const second = await http.post(url, '{}', {}, new CancelSource());
  await second.body.dump({ limit: 10_000 });
  expect(await done).toBe('closed');
});

test('dump and text read a short answer to its end', async () => {
  handle = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  const a = await http.post(url, '{}', {}, new CancelSource());
  expect(await a.body.text()).toBe('{"ok":true}');
  const b = await http.post(url, '{}', {}, new CancelSource());
  await expect(b.body.dump()).resolves.toBeUndefined();
});

test('a cancellation mid-answer ends the reader with its reason, and the server sees the connection close', async () => {
  let done: Promise<'ended' | 'closed'> | undefined;
  handle = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    done = new Promise((resolve) => res.once('close', () => resolve(res.writableFinished ? 'ended' : 'closed')));
  };
  const cancel = new CancelSource();
  const res = await http.post(url, '{}', {}, cancel);
  const it = res.body[Symbol.asyncIterator]();
  expect(Buffer.from((await it.next()).value as Uint8Array).toString()).toBe('data: one\n\n');
  const reason = new Error('client went away');
  setTimeout(() => cancel.abort(reason), 20);
  await expect(it.next()).rejects.toBe(reason);
  expect(await done).toBe('closed');
});

test('a cancellation before the answer rejects the call with its reason', async () => {
  handle = () => undefined; // never answers
  const cancel = new CancelSource();
  const call = http.post(url, '{}', {}, cancel);
  const reason = new Error('deadline');
  setTimeout(() => cancel.abort(reason), 20);
  await expect(call).rejects.toBe(reason);
  const gone = new CancelSource();
  gone.abort(reason);
  await expect(http.post(url, '{}', {}, gone)).rejects.toBe(reason);
});

test('a connection cut mid-answer ends the reader with an error after the chunks that came', async () => {
  handle = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n', () => setTimeout(() => res.socket?.destroy(), 20));
  };
  const res = await http.post(url, '{}', {}, new CancelSource());
  const seen: string[] = [];
  await expect(
    (async () => {
      for await (const part of res.body) seen.push(Buffer.from(part as Uint8Array).toString());
    })(),
  ).rejects.toThrow();
  expect(seen.join('')).toBe('data: one\n\n');
});
