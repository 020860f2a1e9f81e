/**
 * What a Messages client receives of an answer assembled from upstream events: text as it
 * comes, every other block whole once complete, indexes without gaps across a
 * continuation, and the requests that continue an answer after a break (never a
 * thinking block or a signature of the gateway's own).
 */
import type { MessagesRequest } from '../../runtime/src/core/messages-request';
import type { MessagesEvent } from '../../runtime/src/providers/messages-types';
import { ClientMessage } from '../../runtime/src/stream/client-message';

const ev = (type: string, data: Record<string, unknown> = {}): MessagesEvent => ({ type, data: { type, ...data } });
const start = () => ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'm', usage: { input_tokens: 40, output_tokens: 1 } } });
const blockStart = (index: number, block: Record<string, unknown>) => ev('content_block_start', { index, content_block: block });
const delta = (index: number, d: Record<string, unknown>) => ev('content_block_delta', { index, delta: d });
const text = (index: number, t: string) => delta(index, { type: 'text_delta', text: t });
const stop = (index: number) => ev('content_block_stop', { index });
const req: MessagesRequest = { model: 'claude', max_tokens: 500, thinking: { type: 'enabled', budget_tokens: 2000 }, messages: [{ role: 'user', content: 'Go.' }] };

function feed(m: ClientMessage, events: MessagesEvent[]): MessagesEvent[] {
  return events.flatMap((e) => m.accept(e));
}

describe('ClientMessage', () => {
  it('holds a thinking block until its signature and stop, then sends it whole; text goes out as it comes', () => {
    const m = new ClientMessage(() => 0);
    expect(feed(m, [start(), blockStart(0, { type: 'thinking', thinking: '', signature: '' }), delta(0, { type: 'thinking_delta', thinking: 'Hmm.' })])).toHaveLength(1);
    const released = feed(m, [delta(0, { type: 'signature_delta', signature: 'sig' }), stop(0)]);
    expect(released.map((e) => e.type)).toEqual(['content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop']);
    expect(feed(m, [blockStart(1, { type: 'text', text: '' }), text(1, 'Hello')]).map((e) => e.type)).toEqual(['content_block_start', 'content_block_delta']);
  });

  it('pings a client while it holds a block past the ping interval', () => {
    let now = 0;
    const m = new ClientMessage(() => now);
    feed(m, [start(), blockStart(0, { type: 'tool_use', id: 't', name: 'f', input: {} })]);
    now = 11_000;
    expect(m.accept(delta(0, { type: 'input_json_delta', partial_json: '{"a":1}' }))).toEqual([expect.objectContaining({ type: 'ping' })]);
  });

  it('restarts a turn from its start when the break came before the client had any block', () => {
    const m = new ClientMessage(() => 0);
    feed(m, [start(), blockStart(0, { type: 'thinking', thinking: '', signature: '' }), delta(0, { type: 'thinking_delta', thinking: 'Half a thought' })]);
    expect(m.continuation(req, true, 'Continue.')).toEqual([req]);
  });

  it('continues after sent blocks without thinking: prefill first, then an explicit request; the open text trimmed of trailing space', () => {
    const m = new ClientMessage(() => 0);
    feed(m, [
      start(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      delta(0, { type: 'thinking_delta', thinking: 'T' }),
      delta(0, { type: 'signature_delta', signature: 's' }),
      stop(0),
    ]);
    feed(m, [blockStart(1, { type: 'text', text: '' }), text(1, 'The answer is ')]);
    const [prefilled, explicit] = m.continuation(req, true, 'Continue.');
    expect(prefilled.thinking).toEqual({ type: 'disabled' });
    expect(prefilled.messages).toEqual([...req.messages, { role: 'assistant', content: [{ type: 'text', text: 'The answer is' }] }]);
    expect(explicit.messages.at(-1)).toEqual({ role: 'user', content: 'Continue.' });
    expect(prefilled.max_tokens).toBeLessThan(req.max_tokens);
  });

  it('turns thinking off for a continuation when the model thought by its own default', () => {
    const m = new ClientMessage(() => 0);
    feed(m, [
      start(),
      blockStart(0, { type: 'thinking', thinking: '', signature: '' }),
      delta(0, { type: 'signature_delta', signature: 's' }),
      stop(0),
      blockStart(1, { type: 'text', text: '' }),
      text(1, 'Partly'),
    ]);
    const [prefilled] = m.continuation({ ...req, thinking: undefined }, true, 'Continue.');
    expect(prefilled.thinking).toEqual({ type: 'disabled' });
  });

  it('after a complete tool call only prefill can continue (a tool_use needs its result next)', () => {
    const m = new ClientMessage(() => 0);
    feed(m, [start(), blockStart(0, { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }), delta(0, { type: 'input_json_delta', partial_json: '{"q":"x"}' }), stop(0)]);
    const requests = m.continuation({ ...req, thinking: undefined }, false, 'Continue.');
    expect(requests).toHaveLength(1);
    expect(requests[0].messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { q: 'x' } }] });
    expect(m.endsAtToolUse()).toBe(true);
  });

  it('merges a continuation’s text into the open block, drops its repeat, and counts indexes without gaps', () => {
    const m = new ClientMessage(() => 0);
    feed(m, [start(), blockStart(0, { type: 'text', text: '' }), text(0, 'One two ')]);
    m.continueWith();
    const out = feed(m, [start(), blockStart(0, { type: 'text', text: '' }), text(0, 'two three.'), stop(0), blockStart(1, { type: 'tool_use', id: 't', name: 'f', input: {} }), stop(1)]);
    const deltas = out.filter((e) => e.type === 'content_block_delta').map((e) => (e.data.delta as { text?: string }).text);
    expect(deltas.join('')).toBe('three.');
    expect(out.filter((e) => e.type === 'content_block_start').map((e) => e.data.index)).toEqual([1]);
    expect(m.receivedText()).toBe('One two three.');
  });

  it('reports the whole answer’s output after a continuation, the prompt as the client sent it', () => {
    const m = new ClientMessage(() => 0);
    feed(m, [start(), blockStart(0, { type: 'text', text: '' }), text(0, 'abcdefgh')]);
    m.continueWith();
    const out = feed(m, [start(), ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 90, output_tokens: 5 } })]);
    expect(out.at(-1)?.data.usage).toEqual({ output_tokens: 2 + 5 });
    expect(m.usage.input_tokens).toBe(40);
  });
});
