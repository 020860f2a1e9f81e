/**
 * The SSE answer written straight to Node's ServerResponse, over real HTTP on loopback:
 * upstream chunks are pulled only as fast as the client reads, a client that leaves
 * cancels upstream, and the end is [DONE] or an explicit error event.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import { ProviderError } from '../../runtime/src/providers/errors';
import { writeSse, type SseBodyOptions } from '../../runtime/src/stream/sse-response';
import { RAW_JSON, type RawChunk } from '../../runtime/src/stream/sse-write';

const chunk = (i: number): ChatCompletionChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content: `t${i} ${'x'.repeat(200)}` }, finish_reason: null }],
});

function source(n: number, failAt?: number) {
  const state = { pulled: 0, returned: false };
  async function* gen(): AsyncGenerator<ChatCompletionChunk> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new ProviderError('transient', 'upstream reset');
        state.pulled++;
        yield chunk(i);
        if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      yield { ...chunk(0), choices: [], usage: { prompt_tokens: 1, completion_tokens: n, total_tokens: n + 1 } };
    } finally {
      state.returned = true;
    }
  }
  return { state, chunks: gen() };
}

async function serve(chunks: AsyncIterable<ChatCompletionChunk>, opts: SseBodyOptions): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => writeSse(res, { 'content-type': 'text/event-stream' }, chunks, opts));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

describe('writeSse (Node server)', () => {
  it('ends with [DONE] and passes the usage chunk only when asked, with the raw JSON when a chunk has it', async () => {
    for (const includeUsage of [true, false]) {
      const raw: RawChunk = { ...chunk(7), [RAW_JSON]: '{"as":"it came"}' };
      async function* three() {
        yield chunk(0);
        yield raw;
        yield { ...chunk(0), choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
      }
      let ended: unknown = 'not yet';
      const { url, server } = await serve(three(), { includeUsage, onCancel: () => {}, onEnd: (e) => (ended = e) });
      const res = await request(url);
      expect(res.headers['content-type']).toBe('text/event-stream');
      const events = (await res.body.text()).split('\n\n').filter(Boolean);
      expect(events.at(-1)).toBe('data: [DONE]');
      expect(events[1]).toBe('data: {"as":"it came"}');
      expect(events.some((e) => e.includes('"usage"'))).toBe(includeUsage);
      expect(ended).toBeUndefined();
      await close(server);
    }
  });

  it('ends a broken stream with an error event, never a silent cut', async () => {
    const { chunks } = source(5, 2);
    let ended: unknown;
    const { url, server } = await serve(chunks, { includeUsage: false, onCancel: () => {}, onEnd: (e) => (ended = e) });
    const events = (await (await request(url)).body.text()).split('\n\n').filter(Boolean);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[2]!.slice(6)).error).toMatchObject({ code: 'stream_interrupted', type: 'api_error' });
    expect(ended).toBeInstanceOf(ProviderError);
    await close(server);
  });

  it('pulls upstream only as fast as the client reads, and cancels it when the client leaves', async () => {
    const { state, chunks } = source(1_000_000);
    let cancelled: unknown;
    let ended = false;
    const { url, server } = await serve(chunks, { includeUsage: false, onCancel: (r) => (cancelled = r), onEnd: () => (ended = true) });
    const res = await request(url);
    // The client reads nothing: the socket and client buffers fill, then the pump waits.
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let seen = [-2, -1];
    for (let i = 0; i < 40 && !(seen[0] === seen[1] && seen[1] === state.pulled); i++) {
      seen = [seen[1]!, state.pulled];
      await sleep(200);
    }
    const pulledWhileStalled = state.pulled;
    await sleep(300);
    expect(state.pulled).toBe(pulledWhileStalled);
    expect(pulledWhileStalled).toBeLessThan(100_000);
    res.body.destroy();
    for (let i = 0; i < 100 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
    expect(cancelled).toBeInstanceOf(Error);
    expect(state.returned).toBe(true);
    expect(ended).toBe(true);
    await close(server);
  });
});
