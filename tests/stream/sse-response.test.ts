/** The SSE body reads upstream only as fast as the client takes chunks, and cancels upstream when it leaves. */
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import { ProviderError } from '../../runtime/src/providers/errors';
import { sseBody } from '../../runtime/src/stream/sse-response';

const chunk = (i: number): ChatCompletionChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content: `t${i}` }, finish_reason: null }],
});

function source(n: number, failAt?: number) {
  const state = { pulled: 0, returned: false };
  async function* gen() {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new ProviderError('transient', 'upstream reset');
        state.pulled++;
        yield chunk(i);
      }
      yield { ...chunk(0), choices: [], usage: { prompt_tokens: 1, completion_tokens: n, total_tokens: n + 1 } };
    } finally {
      state.returned = true;
    }
  }
  return { state, chunks: gen() };
}

const text = (u: Uint8Array) => new TextDecoder().decode(u);

describe('sseBody', () => {
  it('pulls upstream chunks only as the client reads them (backpressure)', async () => {
    const { state, chunks } = source(10_000);
    let cancelled: unknown;
    const reader = sseBody(chunks, { includeUsage: false, onCancel: (r) => (cancelled = r) }).getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await new Promise((r) => setImmediate(r));
    expect(state.pulled).toBeLessThanOrEqual(4);
    await reader.cancel('client gone');
    expect(cancelled).toBe('client gone');
    expect(state.returned).toBe(true);
  });

  it('ends with [DONE], passing the usage chunk only when asked', async () => {
    for (const includeUsage of [true, false]) {
      const { chunks } = source(2);
      const out = await new Response(sseBody(chunks, { includeUsage, onCancel: () => {} })).text();
      const events = out.split('\n\n').filter(Boolean);
      expect(events.at(-1)).toBe('data: [DONE]');
      expect(events.some((e) => e.includes('"usage"'))).toBe(includeUsage);
    }
  });

  it('ends a failed stream with an OpenAI error event and no [DONE]', async () => {
    const { chunks } = source(5, 2);
    let ended: unknown;
    const out = await new Response(sseBody(chunks, { includeUsage: true, onCancel: () => {}, onEnd: (e) => (ended = e) })).text();
    const events = out.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[2]!.slice(6)).error).toMatchObject({ type: 'api_error', code: 'stream_interrupted' });
    expect(out).not.toContain('[DONE]');
    expect(ended).toBeInstanceOf(ProviderError);
    expect(text(new TextEncoder().encode(events[0]))).toContain('t0');
  });
});
