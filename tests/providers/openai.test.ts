/**
 * The openai / openai-compatible adapter against the fake OpenAI server, over real HTTP
 * on 127.0.0.1: what goes on the wire, what comes back, and how every fault is classified.
 */
import OpenAI from 'openai';
import { chatRequestSchema, type ChatRequest } from '../../runtime/src/core/chat-request';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import { providerSchema, type ProviderConfig } from '../../runtime/src/config/schema';
import { resolveLocalCredential } from '../../runtime/src/providers/credentials';
import type { FailureClass } from '../../runtime/src/core/attempt';
import { ProviderError } from '../../runtime/src/providers/errors';
import { baseUrl, createOpenAIAdapter, type OpenAIAdapter } from '../../runtime/src/providers/openai/adapter';
import type { CallOptions, Route } from '../../runtime/src/providers/types';
import type { Fault } from '../fakes/fault';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai';
import { until } from '../helpers/until';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { CancelSource } from '../../runtime/src/core/cancellation';
import { nextValue } from '../helpers/iterate';

/** One HTTP client for every adapter in this file (the gateway's own, on Node). */
const http = createUndiciHttp();
afterAll(() => http.close());

const KEY_ENV = 'OPENAI_ADAPTER_TEST_KEY';
const KEY = 'sk-test-Q7wErTy8uIoP9aSdFgHjKl0zXcVbNm42';
const REPLY = 'The quick brown fox jumps over the lazy dog, twice over.';
const UPSTREAM_MODEL = 'gpt-4o-mini-2024-07-18';
/** The gateway's estimate of request()'s prompt: its text and 16 characters of framing, 4 characters a token. */
const PROMPT_ESTIMATE = Math.ceil(('Say something about foxes.'.length + 16) / 4);

let fake: FakeOpenAI;
let adapter: OpenAIAdapter;
let provider: ProviderConfig;

function makeProvider(url: string, opts: { type?: 'openai' | 'openai-compatible'; withKey?: boolean; headers?: Record<string, string> } = {}) {
  return providerSchema.parse({
    id: 'oai',
    type: opts.type ?? 'openai',
    headers: opts.headers,
    accounts: [{ id: 'acct', credentials: opts.withKey === false ? undefined : { env: KEY_ENV }, endpoints: [{ region: 'local', url }] }],
  });
}

function routeOf(p: ProviderConfig, model = UPSTREAM_MODEL): Route {
  return { key: `oai/acct/local/${model}`, provider: p, account: p.accounts[0], endpoint: p.accounts[0].endpoints[0], model, logicalModel: 'chat' };
}

function request(extra: Record<string, unknown> = {}): ChatRequest {
  return chatRequestSchema.parse({ model: 'chat', messages: [{ role: 'user', content: 'Say something about foxes.' }], ...extra });
}

function callOpts(signal = new AbortController().signal, more: Partial<CallOptions> = {}): CallOptions {
  return { signal, requestId: 'req-test-1', ...more };
}

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

const textOf = (chunks: ChatCompletionChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

/** Polls a condition a bounded number of times (no timing assertion: only "eventually"). */
async function eventually(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

async function failureOf(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError, got success');
}

async function setup(options: FakeOpenAIOptions = {}, providerOpts: Parameters<typeof makeProvider>[1] = {}) {
  fake = await startFakeOpenAI({ reply: REPLY, ...options });
  provider = makeProvider(fake.url, providerOpts);
  adapter = createOpenAIAdapter(provider, { resolveCredential: resolveLocalCredential, http });
}

beforeAll(() => {
  process.env[KEY_ENV] = KEY;
});
afterAll(() => {
  delete process.env[KEY_ENV];
});
afterEach(async () => {
  await adapter?.close?.();
  await fake?.close();
});

describe('non-streaming', () => {
  test('answers with the completion, usage and the route model on the wire', async () => {
    await setup({ apiKey: KEY });
    const { completion } = await adapter.complete(routeOf(provider), request({ temperature: 0.2 }), callOpts());
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0].message.content).toBe(REPLY);
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.model).toBe(UPSTREAM_MODEL);
    expect(completion.usage.completion_tokens).toBe(Math.ceil(REPLY.length / 4));
    const sent = fake.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({ model: UPSTREAM_MODEL, temperature: 0.2, messages: [{ role: 'user', content: 'Say something about foxes.' }] });
    expect(sent.body).not.toHaveProperty('stream');
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.headers['x-request-id']).toBe('req-test-1');
  });

  test('a base URL without /v1 gets it appended; OpenAI without url uses the public API', async () => {
    await setup();
    const p = makeProvider(fake.origin);
    const a = createOpenAIAdapter(p, { resolveCredential: resolveLocalCredential, http });
    try {
      await a.complete(routeOf(p), request(), callOpts());
      expect(fake.requests[0].path).toBe('/v1/chat/completions');
    } finally {
      await a.close?.();
    }
    const noUrl = providerSchema.parse({ id: 'o', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'us' }] }] });
    expect(baseUrl(noUrl, noUrl.accounts[0].endpoints[0])).toBe('https://api.openai.com/v1');
    expect(baseUrl(noUrl, { ...noUrl.accounts[0].endpoints[0], url: 'http://h:8000/v1/' })).toBe('http://h:8000/v1');
  });

  test('without credentials no Authorization header is sent (Ollama, vLLM)', async () => {
    await setup({}, { type: 'openai-compatible', withKey: false });
    await adapter.complete(routeOf(provider), request(), callOpts());
    expect(fake.requests[0].headers).not.toHaveProperty('authorization');
  });

  test('provider headers and forwarded trace headers go upstream', async () => {
    await setup({}, { headers: { 'OpenAI-Organization': 'org-123' } });
    await adapter.complete(routeOf(provider), request(), callOpts(undefined, { forwardHeaders: { traceparent: '00-abc-def-01' } }));
    expect(fake.requests[0].headers['openai-organization']).toBe('org-123');
    expect(fake.requests[0].headers.traceparent).toBe('00-abc-def-01');
  });

  test('openai-compatible servers get max_tokens, system instead of developer, no OpenAI storage fields', async () => {
    await setup({}, { type: 'openai-compatible' });
    const req = request({
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      max_completion_tokens: 50,
      store: true,
      metadata: { team: 'a' },
      user: 'u1',
      safety_identifier: 'hashed-user-1',
    });
    await adapter.complete(routeOf(provider), req, callOpts());
    const sent = fake.requests[0].body as Record<string, unknown>;
    expect(sent.max_tokens).toBe(50);
    expect(sent).not.toHaveProperty('max_completion_tokens');
    expect(sent).not.toHaveProperty('store');
    expect(sent).not.toHaveProperty('metadata');
    expect(sent).not.toHaveProperty('user');
    expect(sent).not.toHaveProperty('safety_identifier');
    expect(sent.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  test('an OpenAI provider gets the client request as it came', async () => {
    await setup();
    const req = request({ max_completion_tokens: 50, store: false, user: 'u1', safety_identifier: 'hashed-user-1', stop: ['\n\n'] });
    await adapter.complete(routeOf(provider), req, callOpts());
    expect(fake.requests[0].body).toEqual({ ...req, model: UPSTREAM_MODEL });
  });

  test('tool calls come back whole', async () => {
    await setup({ toolCall: { arguments: { city: 'Paris' } } });
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const { completion } = await adapter.complete(routeOf(provider), request({ tools }), callOpts());
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(completion.choices[0].message.tool_calls?.[0].function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
  });

  test('rate-limit headers and a spoke gateway route come back as metadata', async () => {
    await setup({ rateLimitHeaders: true, headers: { 'x-gateway-route': 'bedrock/a/us-east-1/nova', 'x-gateway-attempts': '2' } });
    const res = await adapter.complete(routeOf(provider), request(), callOpts());
    expect(res.rateLimit).toEqual({
      limitRequests: 10_000,
      remainingRequests: 9_999,
      resetRequestsMs: 6,
      limitTokens: 2_000_000,
      remainingTokens: 1_999_000,
      resetTokensMs: 30,
    });
    expect(res.upstreamRoute).toBe('bedrock/a/us-east-1/nova');
    expect(res.upstreamAttempts).toBe(2);
  });

  test('usage missing upstream is estimated', async () => {
    await setup({ editCompletion: ({ usage: _dropped, ...rest }) => rest });
    const { completion } = await adapter.complete(routeOf(provider), request(), callOpts());
    expect(completion.usage).toEqual({
      prompt_tokens: PROMPT_ESTIMATE,
      completion_tokens: Math.ceil(REPLY.length / 4),
      total_tokens: PROMPT_ESTIMATE + Math.ceil(REPLY.length / 4),
    });
  });

  test('DeepSeek blank lines ahead of the JSON body are tolerated', async () => {
    await setup({ leadingBlankLines: 5 });
    const { completion } = await adapter.complete(routeOf(provider), request(), callOpts());
    expect(completion.choices[0].message.content).toBe(REPLY);
  });

  test('a delay fault only delays', async () => {
    await setup();
    fake.faults.push({ kind: 'delay', ms: 30 });
    const { completion } = await adapter.complete(routeOf(provider), request(), callOpts());
    expect(completion.choices[0].message.content).toBe(REPLY);
  });
});

describe('streaming', () => {
  test('content arrives in chunks and usage comes last even when the client did not ask', async () => {
    await setup({ chunks: 5 });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const chunks = await collect(res.chunks);
    expect(textOf(chunks)).toBe(REPLY);
    const usageChunks = chunks.filter((c) => c.usage);
    expect(usageChunks).toHaveLength(1);
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: { completion_tokens: Math.ceil(REPLY.length / 4) } });
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(fake.requests[0].body).toMatchObject({ model: UPSTREAM_MODEL, stream: true, stream_options: { include_usage: true } });
    expect(res.droppedEvents).toBe(0);
  });

  test('a client that asked for usage still gets exactly one usage chunk', async () => {
    await setup();
    const res = await adapter.stream(routeOf(provider), request({ stream: true, stream_options: { include_usage: true } }), callOpts());
    const chunks = await collect(res.chunks);
    expect(chunks.filter((c) => c.usage)).toHaveLength(1);
    expect(chunks[chunks.length - 1].choices).toEqual([]);
  });

  test('tool calls stream as deltas that reassemble', async () => {
    await setup({ toolCall: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' }, id: 'call_1' }, chunks: 3 });
    const tools = [{ type: 'function', function: { name: 'get_weather' } }];
    const res = await adapter.stream(routeOf(provider), request({ stream: true, tools }), callOpts());
    const chunks = await collect(res.chunks);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas[0]).toMatchObject({ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather' } });
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe('{"city":"Paris","unit":"celsius"}');
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'tool_calls')).toBe(true);
    expect(chunks[chunks.length - 1].usage).toBeTruthy();
  });

  test('rate-limit headers are read before the first chunk', async () => {
    await setup({ rateLimitHeaders: true });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    expect(res.rateLimit?.remainingRequests).toBe(9_999);
    await collect(res.chunks);
  });

  test('a malformed chunk is dropped and the rest arrives', async () => {
    await setup({ chunks: 4 });
    fake.faults.push({ kind: 'malformed', afterChunks: 2 });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const chunks = await collect(res.chunks);
    expect(textOf(chunks)).toBe(REPLY);
    expect(res.droppedEvents).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
  });

  test('events that are JSON but not chunks are dropped too', async () => {
    await setup({ editFrames: (f) => [f[0], 'data: {"hello":"world"}\n\n', 'data: [1,2]\n\n', ...f.slice(1)] });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    expect(textOf(await collect(res.chunks))).toBe(REPLY);
    expect(res.droppedEvents).toBe(2);
  });

  test('a stream without [DONE] after finish_reason finishes normally with usage', async () => {
    await setup();
    fake.faults.push({ kind: 'no-terminator' });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const chunks = await collect(res.chunks);
    expect(textOf(chunks)).toBe(REPLY);
    expect(chunks[chunks.length - 1].usage?.completion_tokens).toBe(Math.ceil(REPLY.length / 4));
  });

  test('a stream that ends before finish_reason and [DONE] is transient', async () => {
    await setup({ chunks: 4, editFrames: (f) => f.slice(0, 3) });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const seen: ChatCompletionChunk[] = [];
    const err = await failureOf(
      (async () => {
        for await (const c of res.chunks) seen.push(c);
      })(),
    );
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('stream ended before [DONE]');
    expect(seen.filter((c) => c.usage)).toHaveLength(0);
  });

  test('usage missing upstream is estimated in the last chunk', async () => {
    await setup({ editFrames: (f) => f.filter((frame) => !frame.includes('"choices":[]')) });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const chunks = await collect(res.chunks);
    expect(chunks[chunks.length - 1]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: PROMPT_ESTIMATE, completion_tokens: Math.ceil(REPLY.length / 4) },
    });
  });

  test('usage a server puts on a content chunk is moved to the one last usage chunk', async () => {
    const usage = { prompt_tokens: 7, completion_tokens: 14, total_tokens: 21 };
    await setup({
      editFrames: (f) => {
        const kept = f.filter((frame) => !frame.includes('"choices":[]'));
        const finish = kept.length - 2;
        const doc = JSON.parse(kept[finish].slice(6)) as Record<string, unknown>;
        kept[finish] = `data: ${JSON.stringify({ ...doc, usage })}\n\n`;
        return kept;
      },
    });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const chunks = await collect(res.chunks);
    expect(chunks.filter((c) => c.usage)).toHaveLength(1);
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage });
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
  });

  test('DeepSeek keep-alive comments are not chunks', async () => {
    await setup({ keepAliveComments: true, chunkDelayMs: 2 });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const chunks = await collect(res.chunks);
    expect(textOf(chunks)).toBe(REPLY);
    expect(res.droppedEvents).toBe(0);
  });

  test('a cut stream throws transient from the iterator after the first chunks', async () => {
    await setup({ chunks: 4 });
    fake.faults.push({ kind: 'cut', afterChunks: 2 });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const seen: ChatCompletionChunk[] = [];
    const err = await failureOf(
      (async () => {
        for await (const c of res.chunks) seen.push(c);
      })(),
    );
    expect(err.failure).toBe('transient');
    expect(textOf(seen)).toBe(REPLY.slice(0, 2 * Math.ceil(REPLY.length / 4)));
  });

  test.each([
    [{ kind: 'stream-error', afterChunks: 1 } satisfies Fault, 'transient'],
    [{ kind: 'stream-error', afterChunks: 1, code: '400', message: "This model's maximum context length is 4096 tokens." } satisfies Fault, 'context_length'],
    [{ kind: 'stream-error', afterChunks: 0, code: 'rate_limit_exceeded', message: 'slow down' } satisfies Fault, 'throttled'],
  ])('an in-stream vLLM error is classified (%o)', async (fault, failure) => {
    await setup();
    fake.faults.push(fault);
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const err = await failureOf(collect(res.chunks));
    expect(err.failure).toBe(failure);
  });

  test('a garbage stream is transient', async () => {
    await setup();
    fake.faults.push({ kind: 'garbage' });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    const seen: ChatCompletionChunk[] = [];
    const err = await failureOf(
      (async () => {
        for await (const c of res.chunks) seen.push(c);
      })(),
    );
    expect(err.failure).toBe('transient');
    expect(seen).toEqual([]);
  });

  test('200 with an HTML content type rejects stream() as transient', async () => {
    await setup();
    fake.faults.push({ kind: 'wrong-content-type' });
    const err = await failureOf(adapter.stream(routeOf(provider), request({ stream: true }), callOpts()));
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('text/html');
  });
});

describe('status faults are classified', () => {
  const cases: Array<[string, Fault, FakeOpenAIOptions, FailureClass]> = [
    ['429 rate_limit_exceeded', { kind: 'status', status: 429 }, {}, 'throttled'],
    ['429 insufficient_quota', { kind: 'status', status: 429, code: 'insufficient_quota' }, {}, 'quota_exhausted'],
    ['402 DeepSeek balance', { kind: 'status', status: 402 }, {}, 'quota_exhausted'],
    ['400 context_length_exceeded', { kind: 'status', status: 400, code: 'context_length_exceeded' }, {}, 'context_length'],
    ['400 context (vLLM integer code)', { kind: 'status', status: 400, message: "This model's maximum context length is 4096 tokens." }, { vllmErrors: true }, 'context_length'],
    ['400 content_filter', { kind: 'status', status: 400, code: 'content_filter' }, {}, 'refused'],
    ['400 invalid', { kind: 'status', status: 400 }, {}, 'refused'],
    ['404 model', { kind: 'status', status: 404 }, {}, 'refused'],
    ['422 DeepSeek', { kind: 'status', status: 422 }, {}, 'refused'],
    ['500', { kind: 'status', status: 500 }, {}, 'transient'],
    ['503', { kind: 'status', status: 503 }, {}, 'transient'],
    ['529', { kind: 'status', status: 529 }, {}, 'transient'],
  ];

  test.each(cases)('%s (complete and stream)', async (_name, fault, options, failure) => {
    await setup(options);
    fake.faults.push(fault, fault);
    const a = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    const b = await failureOf(adapter.stream(routeOf(provider), request({ stream: true }), callOpts()));
    for (const err of [a, b]) {
      expect(err.failure).toBe(failure);
      expect(err.status).toBe((fault as { status: number }).status);
    }
  });

  test('429 carries the retry-after hint', async () => {
    await setup();
    fake.faults.push({ kind: 'status', status: 429 });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.retryAfterMs).toBe(1000);
  });
});

describe('broken answers', () => {
  test('a reset connection is transient', async () => {
    await setup();
    fake.faults.push({ kind: 'reset' }, { kind: 'reset' });
    expect((await failureOf(adapter.complete(routeOf(provider), request(), callOpts()))).failure).toBe('transient');
    expect((await failureOf(adapter.stream(routeOf(provider), request({ stream: true }), callOpts()))).failure).toBe('transient');
  });

  test('a body cut halfway is transient, and says the answer broke off', async () => {
    await setup();
    fake.faults.push({ kind: 'cut', afterChunks: 0 });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('reading the answer failed');
  });

  test('an answer over 8 MiB is given up as transient, and the connection with it', async () => {
    await setup({ editCompletion: (c) => ({ ...c, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'x'.repeat(9 * 1024 * 1024) } }] }) });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('upstream body over 8388608 bytes');
    expect(await until(() => fake.openConnections() === 0)).toBe(true);
  });

  test('an error answer too large to read is still classified by its status', async () => {
    await setup();
    fake.faults.push({ kind: 'status', status: 429, message: 'slow down '.repeat(10_000) });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.failure).toBe('throttled');
    expect(err.message).not.toContain('slow down slow down');
  });

  test('a call cancelled while the answer is awaited ends with the reason and closes the connection', async () => {
    await setup();
    fake.faults.push({ kind: 'stall', afterChunks: 0 });
    const cancel = new CancelSource();
    const reason = new Error('client left');
    const pending = adapter.complete(routeOf(provider), request(), { ...callOpts(), cancel });
    await until(() => fake.requests.length === 1);
    cancel.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(await until(() => fake.openConnections() === 0)).toBe(true);
  });

  test('a call cancelled before it starts sends nothing', async () => {
    await setup();
    const cancel = new CancelSource();
    const reason = new Error('deadline');
    cancel.abort(reason);
    await expect(adapter.complete(routeOf(provider), request(), { ...callOpts(), cancel })).rejects.toBe(reason);
    expect(fake.requests).toHaveLength(0);
  });

  test('garbage JSON is an invalid completion', async () => {
    await setup();
    fake.faults.push({ kind: 'garbage' });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('upstream answered with an invalid completion');
  });

  test('JSON that is not a chat.completion is an invalid completion', async () => {
    await setup({ editCompletion: (c) => ({ ...c, choices: [] }) });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.message).toContain('upstream answered with an invalid completion: no choices');
  });

  test('an HTML page with status 200 is transient', async () => {
    await setup();
    fake.faults.push({ kind: 'wrong-content-type' });
    const err = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('text/html');
  });

  test('an unreadable credential fails the route as transient and names the variable', async () => {
    await setup();
    const p = providerSchema.parse({ id: 'x', type: 'openai', accounts: [{ id: 'a', credentials: { env: 'NOT_SET_ANYWHERE_42' }, endpoints: [{ region: 'r', url: fake.url }] }] });
    const err = await failureOf(adapter.complete(routeOf(p), request(), callOpts()));
    expect(err.failure).toBe('transient');
    expect(err.message).toContain('NOT_SET_ANYWHERE_42');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('credentials never leak', () => {
  test('a wrong key quoted back by the upstream is not in any error message', async () => {
    await setup({ apiKey: 'sk-the-right-key-000000000000' });
    const complete = await failureOf(adapter.complete(routeOf(provider), request(), callOpts()));
    const stream = await failureOf(adapter.stream(routeOf(provider), request({ stream: true }), callOpts()));
    for (const err of [complete, stream]) {
      expect(err.failure).toBe('refused');
      expect(err.status).toBe(401);
      expect(err.message).toContain('Incorrect API key provided');
      for (const piece of [KEY, KEY.slice(0, 8), KEY.slice(-4), 'Q7wErTy8']) expect(err.message).not.toContain(piece);
      expect(JSON.stringify(err)).not.toContain(KEY.slice(-4));
    }
  });
});

describe('connections', () => {
  test('aborting a stream mid-way closes the upstream connection', async () => {
    await setup({ chunks: 4 });
    fake.faults.push({ kind: 'stall', afterChunks: 1 });
    const ac = new AbortController();
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts(ac.signal));
    const it = res.chunks[Symbol.asyncIterator]();
    expect((await nextValue(it))?.choices[0].delta.role).toBe('assistant');
    expect(fake.openConnections()).toBe(1);
    ac.abort(new Error('client went away'));
    await expect(it.next()).rejects.toThrow('client went away');
    expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
    expect(fake.clientAborts()).toBe(1);
  });

  test('aborting a request that hangs closes the upstream connection', async () => {
    await setup();
    fake.faults.push({ kind: 'hang' });
    const ac = new AbortController();
    const pending = adapter.complete(routeOf(provider), request(), callOpts(ac.signal));
    expect(await eventually(() => fake.requests.length === 1)).toBe(true);
    ac.abort(new Error('deadline'));
    await expect(pending).rejects.toThrow('deadline');
    expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
    expect(fake.clientAborts()).toBe(1);
  });

  test('a consumer that stops reading early releases the connection', async () => {
    await setup({ chunks: 4 });
    fake.faults.push({ kind: 'stall', afterChunks: 2 });
    const res = await adapter.stream(routeOf(provider), request({ stream: true }), callOpts());
    for await (const c of res.chunks) if (c.choices[0]?.delta.content) break;
    expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
  });

  test('many sequential requests reuse a few keep-alive sockets', async () => {
    await setup({ chunks: 3 });
    for (let i = 0; i < 15; i++) {
      await adapter.complete(routeOf(provider), request(), callOpts());
      await collect((await adapter.stream(routeOf(provider), request({ stream: true }), callOpts())).chunks);
    }
    expect(fake.requests).toHaveLength(30);
    expect(fake.connectionsAccepted()).toBeLessThanOrEqual(2);
  });
});

describe('the fake speaks the real protocol (official OpenAI SDK as client)', () => {
  const client = () => new OpenAI({ baseURL: fake.url, apiKey: 'sk-fake', maxRetries: 0 });

  test('non-streaming and streaming answers parse in the SDK', async () => {
    await setup({ chunks: 3 });
    const sdk = client();
    const c = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(c.choices[0].message.content).toBe(REPLY);
    const stream = await sdk.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(REPLY);
    expect(usage).toEqual(c.usage);
  });

  test('SDK tool-call stream helper reassembles the fake tool call', async () => {
    await setup({ toolCall: { arguments: { q: 'x' } } });
    const runner = client().chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0].message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } });
  });

  test('SDK error classes match the fake error statuses and bodies', async () => {
    await setup();
    fake.faults.push({ kind: 'status', status: 429 }, { kind: 'status', status: 400, code: 'context_length_exceeded' });
    const sdk = client();
    const ask = () => sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    await expect(ask()).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(ask()).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' });
  });

  test('GET /v1/models lists models and GET /health follows the unhealthy flag', async () => {
    await setup({ models: ['m1', 'm2'] });
    const page = await client().models.list();
    expect(page.data.map((m) => m.id)).toEqual(['m1', 'm2']);
    expect((await fetch(`${fake.origin}/health`)).status).toBe(200);
    fake.options.unhealthy = true;
    expect((await fetch(`${fake.origin}/health`)).status).toBe(503);
  });
});
