/** The Anthropic adapter against a wire-faithful fake Messages API on loopback. */
import { expect } from '@jest/globals';
import { chatRequestSchema, type ChatRequest } from '../../runtime/src/core/chat-request';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import { providerSchema, type ProviderConfig } from '../../runtime/src/config/schema';
import { createAnthropicAdapter } from '../../runtime/src/providers/anthropic/adapter';
import { ProviderError } from '../../runtime/src/providers/errors';
import type { CallOptions, ProviderAdapter, Route } from '../../runtime/src/providers/types';
import { continuationRequests } from '../../runtime/src/stream/resilient-stream';
import { startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { nextValue } from '../helpers/iterate';
import { providerFailure } from '../helpers/provider-failure';

/** One HTTP client for every adapter in this file (the gateway's own, on Node). */
const http = createUndiciHttp();
afterAll(() => http.close());

const KEY = 'sk-ant-api03-secret-test-key-0123456789abcdef';

function providerFor(url: string, headers?: Record<string, string>): ProviderConfig {
  return providerSchema.parse({
    id: 'anthropic-main',
    type: 'anthropic',
    headers,
    accounts: [{ id: 'acct-1', credentials: { env: 'UNUSED' }, endpoints: [{ region: 'us', url }] }],
  });
}

function routeOf(provider: ProviderConfig, model = 'claude-test-1'): Route {
  const account = provider.accounts[0];
  const endpoint = account.endpoints[0];
  return { key: `${provider.id}/${account.id}/${endpoint.region}/${model}`, provider, account, endpoint, model, logicalModel: 'chat' };
}

const chat = (body: Record<string, unknown>): ChatRequest => chatRequestSchema.parse({ model: 'chat', ...body });
const ask = (text: string, extra: Record<string, unknown> = {}) => chat({ messages: [{ role: 'user', content: text }], ...extra });
const opts = (signal = new AbortController().signal): CallOptions => ({ signal, requestId: 'req-test' });

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<{ chunks: ChatCompletionChunk[]; error?: unknown }> {
  const out: ChatCompletionChunk[] = [];
  try {
    for await (const c of chunks) out.push(c);
  } catch (error) {
    return { chunks: out, error };
  }
  return { chunks: out };
}

const textOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

/** Bounded wait for a condition the server side reaches asynchronously (no timing assertion). */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

const lastMessage = (req: FakeAnthropicRequest) => req.messages?.[req.messages.length - 1];

/** Replies like a model with one tool: calls it for a question, answers once it has the result. */
function weatherBot(req: FakeAnthropicRequest) {
  const blocks = lastMessage(req)?.content;
  const result = Array.isArray(blocks) ? (blocks as Array<{ type?: string; content?: string }>).find((b) => b.type === 'tool_result') : undefined;
  if (result) return { text: `It is ${result.content} in Rome.` };
  return { text: 'Let me check.', toolUses: [{ id: 'toolu_rome', name: 'weather', input: { city: 'Rome', units: 'metric' } }] };
}

describe('Anthropic adapter', () => {
  let fake: FakeAnthropic;
  let provider: ProviderConfig;
  let adapter: ProviderAdapter;
  let route: Route;

  beforeAll(async () => {
    fake = await startFakeAnthropic({
      apiKey: KEY,
      reply: (req) => {
        if (req.tools) return weatherBot(req);
        const last = lastMessage(req);
        if (last?.role === 'assistant') return { text: ' Paris.' };
        return { text: 'Hello from the fake Anthropic.', usage: { cache_read_input_tokens: 5 } };
      },
      contextTokens: 100_000,
    });
    provider = providerFor(fake.url, { 'anthropic-beta': 'test-feature' });
    adapter = createAnthropicAdapter(provider, { resolveCredential: async () => KEY, http });
    route = routeOf(provider);
  });

  afterEach(() => {
    fake.faults.length = 0;
    fake.always = undefined;
  });

  afterAll(async () => {
    await fake.close();
    await adapter.close?.();
  });

  describe('complete', () => {
    it('answers text as an OpenAI completion, with the real headers and body upstream', async () => {
      const before = fake.requests.length;
      const { completion, rateLimit } = await adapter.complete(route, ask('Hi'), opts());
      expect(completion).toMatchObject({
        object: 'chat.completion',
        model: 'claude-test-1',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the fake Anthropic.' }, finish_reason: 'stop' }],
      });
      expect(completion.id).toMatch(/^chatcmpl-msg_fake_\d+$/);
      expect(completion.usage.prompt_tokens).toBeGreaterThan(5);
      expect(completion.usage.prompt_tokens_details).toEqual({ cached_tokens: 5 });
      expect(rateLimit).toMatchObject({ limitRequests: 50, limitTokens: 40_000 });
      expect(rateLimit?.resetRequestsMs).toBeGreaterThan(0);

      const sent = fake.requests[before];
      expect(sent.path).toBe('/v1/messages');
      expect(sent.headers).toMatchObject({ 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'test-feature' });
      expect(sent.body).toEqual({ model: 'claude-test-1', max_tokens: 4096, messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] });
    });

    it('sends the system prompt on top and a multi-turn history in order', async () => {
      const before = fake.requests.length;
      await adapter.complete(
        route,
        chat({
          messages: [
            { role: 'system', content: 'You are terse.' },
            { role: 'user', content: 'One' },
            { role: 'assistant', content: 'Two' },
            { role: 'user', content: 'Three' },
          ],
          max_tokens: 64,
          temperature: 0.2,
          stop: ['END'],
        }),
        opts(),
      );
      expect(fake.requests[before].body).toMatchObject({
        system: 'You are terse.',
        max_tokens: 64,
        temperature: 0.2,
        stop_sequences: ['END'],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'One' }] },
          { role: 'assistant', content: [{ type: 'text', text: 'Two' }] },
          { role: 'user', content: [{ type: 'text', text: 'Three' }] },
        ],
      });
    });

    it('does not double /v1 when the configured URL already ends in it', async () => {
      const v1 = createAnthropicAdapter(providerFor(`${fake.url}/v1/`), { resolveCredential: async () => KEY, http });
      try {
        const { completion } = await v1.complete(routeOf(providerFor(`${fake.url}/v1/`)), ask('Hi'), opts());
        expect(completion.choices[0].message.content).toBe('Hello from the fake Anthropic.');
        expect(fake.requests[fake.requests.length - 1].path).toBe('/v1/messages');
      } finally {
        await v1.close?.();
      }
    });

    it('round-trips a tool call: tool_calls out, tool results back in, final answer', async () => {
      const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
      const first = await adapter.complete(route, ask('Weather in Rome?', { tools }), opts());
      const message = first.completion.choices[0].message;
      expect(first.completion.choices[0].finish_reason).toBe('tool_calls');
      expect(message.content).toBe('Let me check.');
      expect(message.tool_calls).toEqual([{ id: 'toolu_rome', type: 'function', function: { name: 'weather', arguments: expect.any(String) } }]);
      expect(JSON.parse(message.tool_calls![0].function.arguments)).toEqual({ city: 'Rome', units: 'metric' });

      const second = await adapter.complete(
        route,
        chat({
          tools,
          messages: [
            { role: 'user', content: 'Weather in Rome?' },
            { role: 'assistant', content: message.content, tool_calls: message.tool_calls },
            { role: 'tool', tool_call_id: 'toolu_rome', content: '21C' },
          ],
        }),
        opts(),
      );
      expect(second.completion.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'It is 21C in Rome.' } });
    });

    it('continues an assistant prefill: the answer holds only the continuation', async () => {
      const before = fake.requests.length;
      const [req] = continuationRequests(ask('Capital of France?'), 'The capital of France is ', true);
      const { completion } = await adapter.complete(route, req, opts());
      expect(completion.choices[0].message.content).toBe(' Paris.');
      const sent = fake.requests[before].body as FakeAnthropicRequest;
      expect(lastMessage(sent)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The capital of France is' }] });
    });

    it('names the model the upstream reported', async () => {
      const aliasing = await startFakeAnthropic({ apiKey: KEY, reportedModel: 'claude-test-1-20250101' });
      const p = providerFor(aliasing.url);
      const a = createAnthropicAdapter(p, { resolveCredential: async () => KEY, http });
      try {
        expect((await a.complete(routeOf(p), ask('Hi'), opts())).completion.model).toBe('claude-test-1-20250101');
      } finally {
        await aliasing.close();
        await a.close?.();
      }
    });

    it('refuses a request Anthropic cannot take before calling it', async () => {
      const before = fake.requests.length;
      const err = await providerFailure(adapter.complete(route, ask('Hi', { temperature: 1.7 }), opts()));
      expect(err).toMatchObject({ failure: 'refused', param: 'temperature' });
      expect(fake.requests.length).toBe(before);
    });
  });

  describe('stream', () => {
    it('streams text: role first, the whole text, finish_reason, usage last', async () => {
      const { chunks, rateLimit } = await adapter.stream(route, ask('Hi', { stream: true }), opts());
      const got = await collect(chunks);
      expect(got.error).toBeUndefined();
      expect(got.chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(textOf(got.chunks)).toBe('Hello from the fake Anthropic.');
      const [final, usage] = got.chunks.slice(-2);
      expect(final.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
      expect(usage.choices).toEqual([]);
      expect(usage.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
      expect(got.chunks.slice(0, -1).every((c) => c.usage === undefined)).toBe(true);
      expect(new Set(got.chunks.map((c) => c.id)).size).toBe(1);
      expect(got.chunks[0].model).toBe('claude-test-1');
      expect(rateLimit?.limitRequests).toBe(50);
      expect((fake.requests[fake.requests.length - 1].body as FakeAnthropicRequest).stream).toBe(true);
    });

    it('streams a tool call that reassembles into the arguments the model gave', async () => {
      const tools = [{ type: 'function', function: { name: 'weather' } }];
      const got = await collect((await adapter.stream(route, ask('Weather?', { tools, stream: true }), opts())).chunks);
      expect(got.error).toBeUndefined();
      const calls = got.chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      expect(calls[0]).toEqual({ index: 0, id: 'toolu_rome', type: 'function', function: { name: 'weather', arguments: '' } });
      expect(calls.every((c) => c.index === 0)).toBe(true);
      expect(JSON.parse(calls.map((c) => c.function?.arguments ?? '').join(''))).toEqual({ city: 'Rome', units: 'metric' });
      expect(textOf(got.chunks)).toBe('Let me check.');
      expect(got.chunks[got.chunks.length - 2].choices[0].finish_reason).toBe('tool_calls');
      expect(got.chunks[got.chunks.length - 1]).toMatchObject({ choices: [], usage: expect.any(Object) });
    });

    it('surfaces an in-stream overloaded_error as a transient ProviderError after the chunks before it', async () => {
      fake.faults.push({ kind: 'stream-error', afterChunks: 2 });
      const got = await collect((await adapter.stream(route, ask('Hi', { stream: true }), opts())).chunks);
      expect(textOf(got.chunks)).toBe('Hello from');
      expect(got.error).toBeInstanceOf(ProviderError);
      expect(got.error).toMatchObject({ failure: 'transient', code: 'overloaded_error' });
    });

    it('a cut stream fails as transient, never as a finished answer', async () => {
      fake.faults.push({ kind: 'cut', afterChunks: 2 });
      const got = await collect((await adapter.stream(route, ask('Hi', { stream: true }), opts())).chunks);
      expect(got.error).toMatchObject({ name: 'ProviderError', failure: 'transient' });
      expect(got.chunks.some((c) => c.choices[0]?.finish_reason)).toBe(false);
      expect(got.chunks.some((c) => c.usage)).toBe(false);
    });

    it('drops a malformed chunk and still delivers the rest of the answer', async () => {
      fake.faults.push({ kind: 'malformed', afterChunks: 2 });
      const got = await collect((await adapter.stream(route, ask('Hi', { stream: true }), opts())).chunks);
      expect(got.error).toBeUndefined();
      expect(textOf(got.chunks)).toBe('Hello from the fake Anthropic.');
      expect(got.chunks[got.chunks.length - 2].choices[0].finish_reason).toBe('stop');
    });

    it('finishes a stream whose message_stop is missing after its stop reason', async () => {
      fake.faults.push({ kind: 'no-terminator' });
      const got = await collect((await adapter.stream(route, ask('Hi', { stream: true }), opts())).chunks);
      expect(got.error).toBeUndefined();
      expect(textOf(got.chunks)).toBe('Hello from the fake Anthropic.');
      expect(got.chunks[got.chunks.length - 1]).toMatchObject({ choices: [], usage: expect.any(Object) });
    });

    it('a stall followed by the client giving up aborts and closes the upstream connection', async () => {
      const own = await startFakeAnthropic({ apiKey: KEY });
      const p = providerFor(own.url);
      const a = createAnthropicAdapter(p, { resolveCredential: async () => KEY, http });
      try {
        own.faults.push({ kind: 'stall', afterChunks: 2 });
        const ac = new AbortController();
        const { chunks } = await a.stream(routeOf(p), ask('Hi', { stream: true }), opts(ac.signal));
        const it = chunks[Symbol.asyncIterator]();
        const seen: string[] = [];
        while (seen.join('') !== 'Hello from') seen.push((await nextValue(it))?.choices[0]?.delta.content ?? '');
        expect(own.openConnections()).toBe(1);
        const pending = it.next();
        ac.abort(new Error('client went away'));
        await expect(pending).rejects.toThrow('client went away');
        expect(await eventually(() => own.openConnections() === 0)).toBe(true);
      } finally {
        // The fake first: it ends any request still open, so the adapter's close cannot wait on it.
        await own.close();
        await a.close?.();
      }
    });
  });

  describe('failures', () => {
    it.each([
      [429, 'throttled', 'rate_limit_error'],
      [529, 'transient', 'overloaded_error'],
      [500, 'transient', 'api_error'],
      [503, 'transient', 'api_error'],
      [400, 'refused', 'invalid_request_error'],
      [403, 'refused', 'permission_error'],
      [404, 'refused', 'not_found_error'],
      [413, 'refused', 'request_too_large'],
    ])('status %i is %s (%s), for complete and stream', async (status, failureClass, type) => {
      fake.faults.push({ kind: 'status', status }, { kind: 'status', status });
      const c = await providerFailure(adapter.complete(route, ask('Hi'), opts()));
      const s = await providerFailure(adapter.stream(route, ask('Hi', { stream: true }), opts()));
      for (const err of [c, s]) expect(err).toMatchObject({ failure: failureClass, status, code: type });
      if (status === 429) expect(c.retryAfterMs).toBe(1000);
    });

    it('a wrong API key is refused with the provider reason, and the key never appears', async () => {
      const wrong = 'sk-ant-api03-wrong-key-zzzzzzzzzzzzzzzzzzzz';
      const a = createAnthropicAdapter(provider, { resolveCredential: async () => wrong, http });
      try {
        const err = await providerFailure(a.complete(route, ask('Hi'), opts()));
        expect(err).toMatchObject({ failure: 'refused', status: 401, code: 'authentication_error' });
        expect(err.message).toContain('invalid x-api-key');
        expect(err.message).not.toContain(wrong);
      } finally {
        await a.close?.();
      }
    });

    it('never echoes the API key, even when the upstream quotes it', async () => {
      fake.faults.push({ kind: 'status', status: 401, message: `invalid x-api-key: ${KEY}` }, { kind: 'status', status: 400, message: `bad header x-api-key=${KEY}` });
      const errors = [await providerFailure(adapter.complete(route, ask('Hi'), opts())), await providerFailure(adapter.stream(route, ask('Hi', { stream: true }), opts()))];
      for (const err of errors) {
        expect(err.message).not.toContain(KEY);
        expect(JSON.stringify({ ...err, message: err.message })).not.toContain(KEY);
      }
      expect(errors[1].message).toContain('bad header');
    });

    it('a prompt too long for the model is context_length', async () => {
      const err = await providerFailure(adapter.complete(route, ask('x'.repeat(10_000), { max_tokens: 99_000 }), opts()));
      expect(err).toMatchObject({ failure: 'context_length', status: 400 });
      expect(err.message).toContain('prompt is too long');
    });

    it.each(['garbage', 'wrong-content-type'] as const)('%s on 200 is a transient ProviderError, for complete and stream', async (kind) => {
      fake.faults.push({ kind }, { kind });
      const c = await providerFailure(adapter.complete(route, ask('Hi'), opts()));
      expect(c.failure).toBe('transient');
      expect(c.message).toMatch(kind === 'garbage' ? /not JSON/ : /content-type "text\/html.*not JSON/);
      let s: unknown;
      try {
        s = (await collect((await adapter.stream(route, ask('Hi', { stream: true }), opts())).chunks)).error;
      } catch (err) {
        s = err;
      }
      expect(s).toMatchObject({ name: 'ProviderError', failure: 'transient' });
    });

    it('a reset connection and a cut JSON body are transient', async () => {
      fake.faults.push({ kind: 'reset' }, { kind: 'cut', afterChunks: 0 });
      expect((await providerFailure(adapter.complete(route, ask('Hi'), opts()))).failure).toBe('transient');
      expect((await providerFailure(adapter.complete(route, ask('Hi'), opts()))).failure).toBe('transient');
    });

    it('a delayed answer still arrives', async () => {
      fake.faults.push({ kind: 'delay', ms: 20 });
      expect((await adapter.complete(route, ask('Hi'), opts())).completion.choices[0].message.content).toBe('Hello from the fake Anthropic.');
    });

    it('an account without a key fails this route (transient), naming the account', async () => {
      const a = createAnthropicAdapter(provider, { resolveCredential: async () => undefined, http });
      try {
        const err = await providerFailure(a.complete(route, ask('Hi'), opts()));
        expect(err).toMatchObject({ failure: 'transient', code: 'no_credentials' });
        expect(err.message).toContain('acct-1');
      } finally {
        await a.close?.();
      }
    });

    it('aborting a hung request rejects it and closes the upstream connection', async () => {
      const own = await startFakeAnthropic({ apiKey: KEY });
      const p = providerFor(own.url);
      const a = createAnthropicAdapter(p, { resolveCredential: async () => KEY, http });
      try {
        own.faults.push({ kind: 'hang' });
        const ac = new AbortController();
        const pending = a.complete(routeOf(p), ask('Hi'), opts(ac.signal));
        expect(await eventually(() => own.requests.length === 1)).toBe(true);
        ac.abort(new Error('deadline passed'));
        await expect(pending).rejects.toThrow('deadline passed');
        expect(await eventually(() => own.openConnections() === 0)).toBe(true);
      } finally {
        // The fake first: it ends any request still open, so the adapter's close cannot wait on it.
        await own.close();
        await a.close?.();
      }
    });
  });
});
