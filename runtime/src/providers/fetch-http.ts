/**
 * The gateway's HTTP in the Lambda proxy: the runtime's own fetch (keep-alive by
 * default), so the bundle carries no HTTP client of its own. It has no connect timeout
 * of its own: the proxy's spokes are in the same network, and the attempt's first-byte
 * timeout still bounds a connect that hangs.
 */
import { readWhole, type HttpClient, type UpstreamBody, type UpstreamResponse } from './http';
import type { UpstreamSignal } from './types';

function abortSignalOf(signal: UpstreamSignal): AbortSignal {
  return signal instanceof AbortSignal ? signal : signal.signal;
}

function upstreamResponse(res: Response): UpstreamResponse {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => (headers[name] = value));
  const stream = res.body;
  const drop = () => void stream?.cancel().catch(() => undefined);
  const body: UpstreamBody = {
    text: () => res.text(),
    // fetch cannot hand a half-read connection back to its pool: dropping it closes it.
    dump: async () => drop(),
    destroy: drop,
    [Symbol.asyncIterator]: () => chunksOf(stream),
  };
  return { statusCode: res.status, headers, body };
}

/** The body's chunks; a reader that stops early cancels the rest. */
async function* chunksOf(stream: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!stream) return;
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

export function createFetchHttp(): HttpClient {
  return {
    async post(url, body, headers, signal) {
      return upstreamResponse(await fetch(url, { method: 'POST', body, headers, signal: abortSignalOf(signal) }));
    },
    async postForText(url, body, headers, signal, limits) {
      return readWhole(await this.post(url, body, headers, signal), limits);
    },
    async get(url, headers, timeoutMs) {
      return upstreamResponse(await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) }));
    },
    async close() {},
  };
}
