/**
 * Messages clients through failures, with the real Anthropic SDK: 529 overloaded_error,
 * 429 and resets before the first byte fail over invisibly; a stream cut after it is
 * continued on another route so the client still gets one whole message, every event
 * once (text by prefill, a tool call that was cut before it was whole, a thinking block
 * cut before its signature: that turn restarted from its start, never a signature of
 * the gateway's own); a Claude-format client falls back to an OpenAI-compatible target
 * when Claude is out of quota.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_ANTHROPIC_KEY, signatureOf, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicReply, type FakeAnthropicRequest } from '../fakes/anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { LineCapture, parsePrometheus, sumOf } from '../observability/capture';
import { until } from '../helpers/until';
import type { StatusSnapshot } from '../../runtime/src/status/snapshot';

const TEXT = 'Failover keeps the answer whole: the client never sees the break, and every word arrives exactly once.';
const THOUGHT = 'The question is about failover. I should explain that the answer stays whole across a break.';
const TOOL = { id: 'toolu_lookup', name: 'lookup', input: { query: 'failover rules', limit: 3, exact: true } };
const LOOKUP: Anthropic.Tool = { name: 'lookup', description: 'Looks things up', input_schema: { type: 'object', properties: { query: { type: 'string' } } } };

/** The text of a trailing assistant turn (the prefill the gateway continues from), '' when there is none. */
function prefillOf(req: FakeAnthropicRequest): string {
  const last = req.messages?.at(-1);
  if (last?.role !== 'assistant') return '';
  const blocks = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as Array<{ type: string; text?: string }>);
  return blocks.map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('');
}

/** A model that continues a prefill exactly where it stops: thinking (when on), the text, and the tool call when tools are offered. */
function model(req: FakeAnthropicRequest): FakeAnthropicReply {
  const prefill = prefillOf(req);
  const tools = req.tools?.length ? [TOOL] : undefined;
  if (prefill) return { text: TEXT.slice(prefill.length) || undefined, toolUses: tools };
  return { thinking: THOUGHT, text: TEXT, toolUses: tools };
}

interface Sse {
  events: Array<{ event: string; data: Record<string, unknown> }>;
  status: number;
}

/** The raw SSE answer, parsed (to count events the SDK would merge). */
async function rawStream(url: string, body: Record<string, unknown>): Promise<Sse> {
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter((e) => e.startsWith('event: '))
    .map((e) => {
      const [head, data] = e.split('\ndata: ');
      return { event: head.slice(7), data: JSON.parse(data) as Record<string, unknown> };
    });
  return { events, status: res.status };
}

describe('Messages failover and stream continuation', () => {
  let a: FakeAnthropic;
  let b: FakeAnthropic;
  /** Out of quota for good: every request a 429 with a long Retry-After. */
  let exhausted: FakeAnthropic;
  let oa: FakeOpenAI;
  let gw: TestGateway;
  let client: Anthropic;
  const logs = new LineCapture();

  beforeAll(async () => {
    process.env.FAILOVER_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [a, b, exhausted] = await Promise.all([startFakeAnthropic({ reply: model }), startFakeAnthropic({ reply: model }), startFakeAnthropic({ reply: model })]);
    exhausted.always = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    oa = await startFakeOpenAI({ reply: 'GPT answers for Claude.', chunks: 3, toolCall: { name: 'lookup', arguments: { query: 'failover rules' }, id: 'call_gpt' } });
    const account = (id: string, url: string) => ({ id, credentials: { env: 'FAILOVER_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url }] });
    gw = await startGateway(
      {
        providers: [
          { id: 'primary', type: 'anthropic', accounts: [account('a', a.url)] },
          { id: 'secondary', type: 'anthropic', accounts: [account('b', b.url)] },
          { id: 'exhausted', type: 'anthropic', accounts: [account('c', exhausted.url)] },
          { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'o', endpoints: [{ region: 'r', url: oa.url }] }] },
        ],
        models: [
          {
            name: 'claude',
            targets: [
              { provider: 'primary', model: 'claude-a' },
              { provider: 'secondary', model: 'claude-b' },
            ],
          },
          {
            name: 'claude-idle',
            timeouts: { idleMs: 400 },
            targets: [
              { provider: 'primary', model: 'claude-a' },
              { provider: 'secondary', model: 'claude-b' },
            ],
          },
          {
            name: 'claude-hedged',
            failover: { hedging: { coldDelayMs: 100 } },
            targets: [
              { provider: 'primary', model: 'claude-a' },
              { provider: 'secondary', model: 'claude-b' },
            ],
          },
          {
            name: 'claude-throttled',
            targets: [
              { provider: 'exhausted', model: 'claude-c' },
              { provider: 'secondary', model: 'claude-b' },
            ],
          },
          { name: 'gpt-only', targets: [{ provider: 'oa', model: 'gpt-test' }] },
          {
            name: 'claude-or-gpt',
            targets: [
              { provider: 'exhausted', model: 'claude-c' },
              { provider: 'oa', model: 'gpt-test' },
            ],
          },
        ],
      },
      'all-in-one',
      // EMF on, as in ECS: Messages requests are metric documents like chat ones.
      { observability: { destination: logs, env: { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/x' } } },
    );
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gw.close();
    await Promise.all([a.close(), b.close(), exhausted.close(), oa.close()]);
    delete process.env.FAILOVER_ANTHROPIC_KEY;
  });

  beforeEach(() => {
    // Every test starts with both Claude routes in service: no fault left, no ejection from the last test's breaks.
    for (const fake of [a, b]) fake.faults.length = 0;
    gw.gateway.stats.retain([]);
  });

  const ask = { model: 'claude', max_tokens: 1000, messages: [{ role: 'user' as const, content: 'Explain failover.' }] };

  it.each([
    ['529 overloaded_error', { kind: 'status' as const, status: 529 }],
    ['a reset', { kind: 'reset' as const }],
  ])('retries %s once on the same route, then fails over, invisibly (JSON and stream)', async (_, fault) => {
    // One failure: the target's only route is retried on a fresh connection and serves.
    a.faults.push(fault);
    const once = await client.messages.create(ask).withResponse();
    expect(once.data.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(once.response.headers.get('x-gateway-route')).toBe('primary/a/us/claude-a');
    expect(once.response.headers.get('x-gateway-attempts')).toBe('2');

    // Two: the retry failed too, the other target serves.
    a.faults.push(fault, fault);
    const { data, response } = await client.messages.create(ask).withResponse();
    expect(data.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(response.headers.get('x-gateway-route')).toBe('secondary/b/us/claude-b');
    expect(response.headers.get('x-gateway-attempts')).toBe('3');
    expect(a.faults).toHaveLength(0);

    gw.gateway.stats.retain([]);
    a.faults.push(fault, fault);
    const stream = await client.messages.stream(ask).withResponse();
    expect(stream.response.headers.get('x-gateway-route')).toBe('secondary/b/us/claude-b');
    expect((await stream.data.finalMessage()).content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
  });

  it('hedges a stream whose first event is late on the other target: the first to answer serves, the slow call is cancelled', async () => {
    a.faults.push({ kind: 'delay', ms: 3000 });
    const { data, response } = await client.messages.stream({ ...ask, model: 'claude-hedged' }).withResponse();
    expect(response.headers.get('x-gateway-route')).toBe('secondary/b/us/claude-b');
    expect((await data.finalMessage()).content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    const id = response.headers.get('x-request-id');
    expect(await until(() => logs.requests().some((l) => l.requestId === id))).toBe(true);
    const line = logs.requests().find((l) => l.requestId === id)!;
    expect(line).toMatchObject({ api: 'messages', hedge: 'won' });
    expect(line.attempts).toEqual(
      expect.arrayContaining([expect.objectContaining({ route: 'primary/a/us/claude-a', outcome: 'cancelled' }), expect.objectContaining({ route: 'secondary/b/us/claude-b', hedge: true })]),
    );
  });

  it('answers a prompt too long for one Claude model from the next target (a larger window), not with a 400', async () => {
    a.faults.push({ kind: 'status', status: 400, message: 'prompt is too long: 208310 tokens > 200000 maximum' });
    const { data, response } = await client.messages.create(ask).withResponse();
    expect(data.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(response.headers.get('x-gateway-route')).toBe('secondary/b/us/claude-b');
    expect(response.headers.get('x-gateway-attempts')).toBe('2');
  });

  it('cools a route down after a 429 and serves from the other until it may serve again', async () => {
    const throttled = { ...ask, model: 'claude-throttled' };
    const first = await client.messages.create(throttled).withResponse();
    expect(first.response.headers.get('x-gateway-route')).toBe('secondary/b/us/claude-b');
    const asked = exhausted.requests.length;
    expect(asked).toBeGreaterThan(0);
    const second = await client.messages.stream(throttled).withResponse();
    expect(second.response.headers.get('x-gateway-route')).toBe('secondary/b/us/claude-b');
    expect((await second.data.finalMessage()).content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(exhausted.requests.length).toBe(asked); // not asked again while it cools down
  });

  it('continues a text stream cut after its first byte with prefill on another route: the whole text, once', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 4 });
    const before = b.requests.length;
    const { events } = await rawStream(gw.url, ask);
    const text = events
      .filter((e) => e.event === 'content_block_delta')
      .map((e) => (e.data.delta as { text?: string }).text ?? '')
      .join('');
    expect(text).toBe(TEXT);
    expect(events.filter((e) => e.event === 'message_start')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'content_block_start')).toHaveLength(1);
    expect(events.at(-1)?.event).toBe('message_stop');
    const continuation = b.requests[before].body as FakeAnthropicRequest;
    expect(continuation.messages?.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: TEXT.split(' ').slice(0, 4).join(' ') }] });
  });

  it('continues a stream cut inside a tool call: the client gets the call whole, once', async () => {
    // Text is 18 words; the cut comes after two of the tool call's four input deltas.
    a.faults.push({ kind: 'cut', afterChunks: TEXT.split(' ').length + 2 });
    const before = b.requests.length;
    const stream = client.messages.stream({ ...ask, tools: [LOOKUP] });
    let json = '';
    stream.on('inputJson', (partial) => (json += partial));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT }), expect.objectContaining({ type: 'tool_use', ...TOOL })]);
    expect(JSON.parse(json)).toEqual(TOOL.input);
    expect(final.stop_reason).toBe('tool_use');
    // The half-sent call never reached the client: the continuation asks for it after the whole text.
    expect((b.requests[before].body as FakeAnthropicRequest).messages?.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: TEXT }] });
  });

  it('restarts a turn whose thinking was cut before its signature: one thinking block, signed by the model', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 5 });
    const before = b.requests.length;
    const thinkingAsk = { ...ask, max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 } };
    const { events } = await rawStream(gw.url, thinkingAsk);
    expect(events.filter((e) => e.event === 'content_block_start').map((e) => (e.data.content_block as { type: string }).type)).toEqual(['thinking', 'text']);
    const thinking = events.filter((e) => (e.data.delta as { type?: string } | undefined)?.type === 'thinking_delta').map((e) => (e.data.delta as { thinking: string }).thinking);
    expect(thinking.join('')).toBe(THOUGHT);
    const signatures = events.filter((e) => (e.data.delta as { type?: string } | undefined)?.type === 'signature_delta');
    expect(signatures.map((e) => (e.data.delta as { signature: string }).signature)).toEqual([signatureOf(THOUGHT)]);
    // The restart is the client's own request: thinking on, no prefill.
    expect(b.requests[before].body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 2048 }, messages: ask.messages });
  });

  it('continues after a complete thinking block without thinking again, and the history stays valid for the next turn', async () => {
    const words = THOUGHT.split(' ').length;
    a.faults.push({ kind: 'cut', afterChunks: words + 1 + 3 });
    const before = b.requests.length;
    const thinkingAsk = { ...ask, max_tokens: 4000, thinking: { type: 'enabled' as const, budget_tokens: 2048 } };
    const final = await client.messages.stream(thinkingAsk).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'thinking', thinking: THOUGHT, signature: signatureOf(THOUGHT) }), expect.objectContaining({ type: 'text', text: TEXT })]);
    const continuation = b.requests[before].body as FakeAnthropicRequest;
    expect(continuation.thinking).toEqual({ type: 'disabled' });
    expect(continuation.messages?.at(-1)?.content).toEqual([{ type: 'text', text: TEXT.split(' ').slice(0, 3).join(' ') }]);
    // The assistant turn as the client kept it goes back; the target checks the signature.
    const next = await client.messages.create({ ...thinkingAsk, messages: [...thinkingAsk.messages, { role: 'assistant', content: final.content }, { role: 'user', content: 'And then?' }] });
    expect(next.type).toBe('message');
  });

  it('continues after an overloaded_error event mid-stream', async () => {
    a.faults.push({ kind: 'stream-error', afterChunks: 6, code: 'overloaded_error' });
    const final = await client.messages.stream(ask).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
  });

  it('continues a stream that went quiet (idle timeout) on another route', async () => {
    a.faults.push({ kind: 'stall', afterChunks: 3 });
    const final = await client.messages.stream({ ...ask, model: 'claude-idle' }).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
  });

  it('ends the upstream call when the client leaves mid-stream', async () => {
    a.faults.push({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, stream: true }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first events are in
    const during = a.openConnections();
    controller.abort();
    // The stalled upstream stream's socket is closed (pooled idle ones may stay).
    expect(await until(() => a.openConnections() < during, 5_000)).toBe(true);
    expect(await until(() => logs.requests().some((l) => l.errorCode === 'client_closed'))).toBe(true);
  });

  it('ends with an error event, never a truncated message, when nothing can continue', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 3 });
    b.faults.push({ kind: 'status', status: 529 }, { kind: 'status', status: 529 });
    const { events } = await rawStream(gw.url, ask);
    expect(events.at(-1)?.event).toBe('error');
    expect(events.some((e) => e.event === 'message_stop')).toBe(false);
    await expect(client.messages.stream(ask).finalMessage()).resolves.toBeDefined(); // and the next one is whole again
  });

  it('counts Messages requests, failovers and continuations in /metrics, EMF and /status like chat ones', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 4 });
    const { data, response } = await client.messages.stream(ask).withResponse();
    const final = await data.finalMessage();
    gw.gateway.events.flush();
    const samples = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(sumOf(samples, 'gateway_requests_total', { model: 'claude', status: '200' })).toBeGreaterThan(5);
    expect(sumOf(samples, 'gateway_stream_continuations_total')).toBeGreaterThan(0);
    expect(sumOf(samples, 'gateway_tokens_total', { model: 'claude', direction: 'out' })).toBeGreaterThan(0);
    // Its EMF document: one request of model claude with one attempt before its first byte, its tokens and time to first token.
    const id = response.headers.get('x-request-id');
    expect(await until(() => logs.emf().some((d) => d.RequestId === id))).toBe(true);
    const doc = logs.emf().find((d) => d.RequestId === id)!;
    expect(doc).toMatchObject({ Model: 'claude', Status: 200, Requests: 1, Attempts: 1, OutputTokens: final.usage.output_tokens });
    expect(typeof doc.TtftMs).toBe('number');
    // /status: counted in the totals, the continuation among the recent failovers.
    const status = (await (await fetch(`${gw.url}/status.json`)).json()) as StatusSnapshot;
    expect(status.totals.requests).toBeGreaterThan(5);
    expect(status.recent).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'failover', model: 'claude', route: 'secondary/b/us/claude-b' })]));
  });

  describe('falling back to an OpenAI-compatible target', () => {
    it('answers a Claude-format client from GPT when Claude is out of quota, thinking blocks left out of the history', async () => {
      const before = oa.requests.length;
      const history = [
        { role: 'user' as const, content: 'Hi' },
        {
          role: 'assistant' as const,
          content: [
            { type: 'thinking' as const, thinking: THOUGHT, signature: signatureOf(THOUGHT) },
            { type: 'text' as const, text: 'Hello.' },
          ],
        },
        { role: 'user' as const, content: 'Explain failover.' },
      ];
      const { data, response } = await client.messages.create({ model: 'claude-or-gpt', max_tokens: 100, system: 'Be brief.', messages: history }).withResponse();
      expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-test', stop_reason: 'end_turn', content: [{ type: 'text', text: 'GPT answers for Claude.' }] });
      expect(response.headers.get('x-gateway-route')).toBe('oa/o/r/gpt-test');
      const sent = oa.requests[before].body as { messages: unknown[] };
      expect(sent.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Explain failover.' },
      ]);
      expect(await until(() => logs.requests().some((l) => (l.notes as string[] | undefined)?.some((n) => n.includes('thinking blocks'))))).toBe(true);
    });

    it('sends a user’s image to GPT as an image part', async () => {
      const before = oa.requests.length;
      const image = { type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: 'iVBORw0KGgo=' } };
      const answer = await client.messages.create({ model: 'claude-or-gpt', max_tokens: 50, messages: [{ role: 'user', content: [image, { type: 'text', text: 'What is this?' }] }] });
      expect(answer.content).toEqual([expect.objectContaining({ type: 'text', text: 'GPT answers for Claude.' })]);
      expect((oa.requests[before].body as { messages: unknown[] }).messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ]);
    });

    it('passes GPT over for a request it cannot take (a document) rather than refusing it; a model with no Claude target says which part', async () => {
      const doc = {
        role: 'user' as const,
        content: [
          { type: 'document' as const, source: { type: 'text' as const, media_type: 'text/plain' as const, data: 'Quarterly numbers.' } },
          { type: 'text' as const, text: 'Summarise.' },
        ],
      };
      const before = oa.requests.length;
      const err = await client.messages.create({ model: 'claude-or-gpt', max_tokens: 50, messages: [doc] }).catch((e: unknown) => e);
      // Claude is out of quota and GPT cannot take the document: the client may retry, it did nothing wrong.
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
      expect(oa.requests.length).toBe(before);
      const refused = await client.messages.create({ model: 'gpt-only', max_tokens: 50, messages: [doc] }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect((refused as Error).message).toContain('messages.0.content.0: document blocks are only served by Claude targets');
    });

    it('streams GPT’s tool call to the Claude-format client as a tool_use block', async () => {
      const stream = client.messages.stream({ model: 'claude-or-gpt', max_tokens: 100, tools: [LOOKUP], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Look it up.' }] });
      const final = await stream.finalMessage();
      expect(final.content).toEqual([expect.objectContaining({ type: 'tool_use', id: 'call_gpt', name: 'lookup', input: { query: 'failover rules' } })]);
      expect(final.stop_reason).toBe('tool_use');
      const sent = oa.requests.at(-1)?.body as { tool_choice: unknown; tools: unknown[] };
      expect(sent.tool_choice).toBe('required');
      expect(sent.tools).toEqual([{ type: 'function', function: { name: 'lookup', description: 'Looks things up', parameters: LOOKUP.input_schema } }]);
    });
  });
});
