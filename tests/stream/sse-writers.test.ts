/**
 * Both SSE sinks, one table: the web stream (sseBody: Lambda, app.fetch) and the Node
 * response (writeSse: the Node server, over real HTTP on loopback) must frame, end, fail
 * and apply backpressure the same way, so the two cannot drift.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import { keepRawJson } from '../../runtime/src/core/raw-chunk';
import { ProviderError } from '../../runtime/src/providers/errors';
import { chatChunkFraming } from '../../runtime/src/stream/openai-sse';
import { sseBody, writeSse, type SseBodyOptions, type SseFraming } from '../../runtime/src/stream/sse-response';
import { until } from '../helpers/until';
import type { OpenAIErrorBody } from '../../runtime/src/core/gateway-error';

const chunk = (i: number, pad = 0): ChatCompletionChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content: `t${i}${'x'.repeat(pad)}` }, finish_reason: null }],
});
const usageChunk = (n: number): ChatCompletionChunk => ({ ...chunk(0), choices: [], usage: { prompt_tokens: 1, completion_tokens: n, total_tokens: n + 1 } });

/** An upstream of `n` chunks and a usage chunk, failing at `failAt`; counts what was pulled. */
function source(n: number, failAt?: number, pad = 0) {
  const state = { pulled: 0, returned: false };
  async function* gen(): AsyncGenerator<ChatCompletionChunk> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new ProviderError('transient', 'upstream reset');
        state.pulled++;
        yield chunk(i, pad);
        if (i % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      yield usageChunk(n);
    } finally {
      state.returned = true;
    }
  }
  return { state, chunks: gen() };
}

/** A client reading one sink's answer. */
interface Reading {
  /** The whole answer, as the client received it. */
  text(): Promise<string>;
  /** Reads nothing for a while, then goes away. */
  leave(): Promise<void>;
}

interface Sink {
  /** How far the writer may run ahead of a client that reads nothing (socket buffers on Node). */
  maxAhead: number;
  open(chunks: AsyncIterable<ChatCompletionChunk>, framing: SseFraming<ChatCompletionChunk>, opts: SseBodyOptions): Promise<Reading>;
  close(): Promise<void>;
}

const webStream: Sink = {
  maxAhead: 2,
  async open(chunks, framing, opts) {
    const body = sseBody(chunks, framing, opts);
    return {
      text: () => new Response(body).text(),
      leave: async () => {
        const reader = body.getReader();
        await reader.read();
        await reader.cancel(new Error('client gone'));
      },
    };
  },
  close: async () => undefined,
};

function nodeResponse(): Sink {
  let server: Server | undefined;
  return {
    maxAhead: 100_000,
    async open(chunks, framing, opts) {
      server = createServer((_req, res) => writeSse(res, { 'content-type': 'text/event-stream' }, chunks, framing, opts));
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      return {
        text: () => res.body.text(),
        leave: async () => {
          res.body.destroy();
        },
      };
    },
    close: () => new Promise<void>((r) => (server ? server.close(() => r()) : r())),
  };
}

const events = (text: string) => text.split('\n\n').filter(Boolean);

const SINKS = [
  { name: 'sseBody (web stream)', make: () => webStream },
  { name: 'writeSse (Node response)', make: nodeResponse },
];

describe.each(SINKS)('$name', ({ make }) => {
  let sink: Sink;
  beforeEach(() => {
    sink = make();
  });
  afterEach(() => sink.close());

  it.each([true, false])('ends with [DONE], passes the usage chunk only when asked (%s), and sends a raw chunk as it came', async (includeUsage) => {
    const raw = chunk(7);
    keepRawJson(raw, '{"as":"it came"}');
    async function* three() {
      yield chunk(0);
      yield raw;
      yield usageChunk(2);
    }
    let ended: unknown = 'not yet';
    const reading = await sink.open(three(), chatChunkFraming(includeUsage), { onCancel: () => {}, onEnd: (e) => (ended = e) });
    const out = events(await reading.text());
    expect(out[0]).toBe(`data: ${JSON.stringify(chunk(0))}`);
    expect(out[1]).toBe('data: {"as":"it came"}');
    expect(out.some((e) => e.includes('"usage"'))).toBe(includeUsage);
    expect(out.at(-1)).toBe('data: [DONE]');
    expect(out).toHaveLength(includeUsage ? 4 : 3);
    await until(() => ended !== 'not yet');
    expect(ended).toBeUndefined();
  });

  it('ends a broken stream with an OpenAI error event and no [DONE], never a silent cut', async () => {
    const { chunks } = source(5, 2);
    let ended: unknown;
    const reading = await sink.open(chunks, chatChunkFraming(true), { onCancel: () => {}, onEnd: (e) => (ended = e) });
    const text = await reading.text();
    const out = events(text);
    expect(out).toHaveLength(3);
    const { error } = JSON.parse(out[2].slice(6)) as OpenAIErrorBody;
    expect(error).toMatchObject({ type: 'api_error', code: 'stream_interrupted', param: null });
    expect(error.message).toBe('The upstream stream failed (transient): upstream reset');
    expect(text).not.toContain('[DONE]');
    await until(() => ended !== undefined);
    expect(ended).toBeInstanceOf(ProviderError);
  });

  it('pulls upstream only as fast as the client reads, and cancels it when the client leaves', async () => {
    const { state, chunks } = source(1_000_000, undefined, 200);
    let cancelled: unknown;
    let ended = false;
    const reading = await sink.open(chunks, chatChunkFraming(false), { onCancel: (r) => (cancelled = r), onEnd: () => (ended = true) });
    // The client reads nothing: the writer must stop pulling once the buffers are full.
    let seen = [-2, -1];
    for (let i = 0; i < 40 && !(seen[0] === seen[1] && seen[1] === state.pulled); i++) {
      seen = [seen[1], state.pulled];
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen[0]).toBe(state.pulled);
    expect(state.pulled).toBeLessThanOrEqual(sink.maxAhead);
    await reading.leave();
    await until(() => ended);
    expect(cancelled).toBeInstanceOf(Error);
    expect(state.returned).toBe(true);
  });
});
