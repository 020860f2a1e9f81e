/**
 * The Bedrock adapter, with the real @aws-sdk/client-bedrock-runtime inside it, against a
 * wire-faithful fake Bedrock Runtime on loopback (SigV4, JSON, AWS event stream).
 */
import { chatRequestSchema, type ChatRequest } from '../../runtime/src/core/chat-request';
import type { ChatCompletionChunk, ToolCall } from '../../runtime/src/core/openai-types';
import { providerSchema, type ProviderConfig } from '../../runtime/src/config/schema';
import { createBedrockAdapter, type BedrockAdapter } from '../../runtime/src/providers/bedrock/adapter';
import type { FailureClass } from '../../runtime/src/core/attempt';
import { ProviderError } from '../../runtime/src/providers/errors';
import type { CallOptions, Route } from '../../runtime/src/providers/types';
import { DEFAULT_REPLY_TEXT, startFakeBedrock, type BedrockRecordedRequest, type FakeBedrock } from '../fakes/bedrock';
import type { Fault } from '../fakes/fault';
import { nextValue } from '../helpers/iterate';
import { providerFailure } from '../helpers/provider-failure';

const MODEL = 'amazon.nova-pro-v1:0';
const FAKE_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

function providerFor(url: string, extra: Record<string, unknown> = {}): ProviderConfig {
  return providerSchema.parse({
    id: 'bedrock-main',
    type: 'bedrock',
    accounts: [
      {
        id: 'spoke-a',
        endpoints: [
          { region: 'us-east-1', url },
          { region: 'us-west-2', url },
        ],
      },
      { id: 'spoke-b', endpoints: [{ region: 'us-east-1', url }] },
    ],
    ...extra,
  });
}

function routeOf(provider: ProviderConfig, model = MODEL, account = 0, endpoint = 0): Route {
  const a = provider.accounts[account];
  const e = a.endpoints[endpoint];
  return { key: `${provider.id}/${a.id}/${e.region}/${model}`, provider, account: a, endpoint: e, model, logicalModel: 'chat' };
}

const newAdapter = (provider: ProviderConfig): BedrockAdapter => createBedrockAdapter(provider, { credentials: FAKE_CREDENTIALS });
const chat = (body: Record<string, unknown>): ChatRequest => chatRequestSchema.parse({ model: 'chat', ...body });
const ask = (text: string, extra: Record<string, unknown> = {}) => chat({ messages: [{ role: 'user', content: text }], ...extra });
const opts = (signal = new AbortController().signal, forwardHeaders?: Record<string, string>): CallOptions => ({
  signal,
  requestId: 'req-test',
  ...(forwardHeaders ? { forwardHeaders } : {}),
});

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

/** Tool calls as an OpenAI client rebuilds them from deltas (by index). */
function toolCallsOf(chunks: ChatCompletionChunk[]): ToolCall[] {
  const calls: ToolCall[] = [];
  for (const c of chunks) {
    for (const d of c.choices[0]?.delta.tool_calls ?? []) {
      calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
      if (d.id) calls[d.index].id = d.id;
      if (d.function?.name) calls[d.index].function.name = d.function.name;
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
  }
  return calls;
}

/** Bounded wait for a condition the server side reaches asynchronously (no timing assertion). */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

const lastRequest = (fake: FakeBedrock): BedrockRecordedRequest => fake.requests[fake.requests.length - 1];
const bodyOf = (fake: FakeBedrock) => lastRequest(fake).body as Record<string, unknown>;

describe('Bedrock adapter', () => {
  let fake: FakeBedrock;
  let provider: ProviderConfig;
  let adapter: BedrockAdapter;
  let route: Route;

  beforeAll(async () => {
    fake = await startFakeBedrock();
    provider = providerFor(fake.url);
    adapter = newAdapter(provider);
    route = routeOf(provider);
  });

  beforeEach(() => {
    fake.faults.length = 0;
    fake.always = undefined;
    fake.requests.length = 0;
    fake.reply = { text: DEFAULT_REPLY_TEXT };
  });

  afterAll(async () => {
    await adapter.close?.();
    await fake.close();
  });

  describe('Converse', () => {
    it('answers a text request as an OpenAI chat.completion, sent SigV4-signed for bedrock', async () => {
      fake.reply = { text: 'Paris is the capital.', usage: { inputTokens: 12, outputTokens: 5, cacheReadInputTokens: 8 } };
      const { completion } = await adapter.complete(route, ask('Capital of France?'), opts());

      expect(completion.object).toBe('chat.completion');
      expect(completion.id).toMatch(/^chatcmpl-\w+$/);
      expect(Number.isInteger(completion.created)).toBe(true);
      expect(completion.model).toBe(MODEL);
      expect(completion.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Paris is the capital.' }, finish_reason: 'stop', logprobs: null }]);
      expect(completion.usage).toEqual({ prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, prompt_tokens_details: { cached_tokens: 8 } });

      const seen = lastRequest(fake);
      expect(seen.operation).toBe('converse');
      expect(seen.path).toBe('/model/amazon.nova-pro-v1%3A0/converse');
      expect(seen.modelId).toBe(MODEL);
      expect(seen.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
      expect(seen.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Capital of France?' }] }] });
    });

    it('sends system prompts top-level, merges consecutive turns and maps sampling parameters', async () => {
      await adapter.complete(
        route,
        chat({
          messages: [
            { role: 'system', content: 'You are terse.' },
            { role: 'user', content: 'Hello.' },
            { role: 'user', content: 'Are you there?' },
            { role: 'assistant', content: 'Yes.' },
            { role: 'developer', content: 'Use metric units.' },
            { role: 'user', content: 'How tall is the Eiffel tower?' },
          ],
          max_completion_tokens: 64,
          temperature: 0.3,
          top_p: 0.8,
          stop: ['###'],
        }),
        opts(),
      );
      expect(bodyOf(fake)).toEqual({
        system: [{ text: 'You are terse.' }, { text: 'Use metric units.' }],
        messages: [
          { role: 'user', content: [{ text: 'Hello.' }, { text: 'Are you there?' }] },
          { role: 'assistant', content: [{ text: 'Yes.' }] },
          { role: 'user', content: [{ text: 'How tall is the Eiffel tower?' }] },
        ],
        inferenceConfig: { maxTokens: 64, temperature: 0.3, topP: 0.8, stopSequences: ['###'] },
      });
    });

    it('round-trips a tool call: definitions out, toolUse back, toolResult in the next turn', async () => {
      const tools = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Current weather for a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ];
      fake.reply = { text: 'Let me look.', toolCalls: [{ id: 'tooluse_abc', name: 'get_weather', input: { city: 'Rome', units: 'metric' } }] };
      const question = { role: 'user', content: 'Weather in Rome?' };
      const first = await adapter.complete(route, chat({ messages: [question], tools, tool_choice: 'required' }), opts());

      expect(bodyOf(fake).toolConfig).toEqual({
        tools: [{ toolSpec: { name: 'get_weather', description: 'Current weather for a city', inputSchema: { json: tools[0].function.parameters } } }],
        toolChoice: { any: {} },
      });
      const answer = first.completion.choices[0];
      expect(answer.finish_reason).toBe('tool_calls');
      expect(answer.message.content).toBe('Let me look.');
      expect(answer.message.tool_calls).toEqual([{ id: 'tooluse_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome","units":"metric"}' } }]);

      fake.reply = { text: 'It is 21C in Rome.' };
      const second = await adapter.complete(
        route,
        chat({
          tools,
          messages: [question, answer.message, { role: 'tool', tool_call_id: 'tooluse_abc', content: '{"temp":21}' }],
        }),
        opts(),
      );
      expect((bodyOf(fake).messages as unknown[]).slice(1)).toEqual([
        {
          role: 'assistant',
          content: [{ text: 'Let me look.' }, { toolUse: { toolUseId: 'tooluse_abc', name: 'get_weather', input: { city: 'Rome', units: 'metric' } } }],
        },
        { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_abc', content: [{ text: '{"temp":21}' }] } }] },
      ]);
      expect(second.completion.choices[0].message.content).toBe('It is 21C in Rome.');
    });

    it('refuses invalid tool call arguments before calling Bedrock', async () => {
      const err = await providerFailure(
        adapter.complete(
          route,
          chat({
            messages: [
              { role: 'user', content: 'Hi' },
              { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{oops' } }] },
              { role: 'tool', tool_call_id: 'c1', content: 'x' },
            ],
          }),
          opts(),
        ),
      );
      expect(err).toMatchObject({ failure: 'refused', status: 400, param: 'messages[1].tool_calls' });
      expect(fake.requests).toHaveLength(0);
    });

    it('passes provider headers and forwarded trace headers upstream, still signed', async () => {
      const withHeaders = newAdapter(providerFor(fake.url, { headers: { 'x-team': 'search' } }));
      try {
        await withHeaders.complete(route, ask('Hi'), opts(undefined, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }));
      } finally {
        await withHeaders.close?.();
      }
      const seen = lastRequest(fake);
      expect(seen.headers['x-team']).toBe('search');
      expect(seen.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      expect(seen.headers.authorization).toMatch(/\/bedrock\/aws4_request/);
    });

    it('URL-encodes inference profile ids in the path', async () => {
      const profile = 'us.anthropic.claude-3-5-sonnet-20240620-v1:0';
      const { completion } = await adapter.complete(routeOf(provider, profile), ask('Hi'), opts());
      expect(lastRequest(fake).modelId).toBe(profile);
      expect(completion.model).toBe(profile);
    });
  });

  describe('ConverseStream', () => {
    it('streams text: role chunk first, content deltas, finish chunk, usage chunk last', async () => {
      fake.reply = { text: 'The quick brown fox jumps.', usage: { inputTokens: 9, outputTokens: 6 } };
      const { chunks: stream } = await adapter.stream(route, ask('Tell me a sentence.'), opts());
      const { chunks, error } = await collect(stream);

      expect(error).toBeUndefined();
      expect(lastRequest(fake).operation).toBe('converse-stream');
      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(textOf(chunks)).toBe('The quick brown fox jumps.');
      expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1);
      const finish = chunks[chunks.length - 2];
      expect(finish.choices).toEqual([{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }]);
      const usage = chunks[chunks.length - 1];
      expect(usage.choices).toEqual([]);
      expect(usage.usage).toEqual({ prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 });
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.model === MODEL && c.object === 'chat.completion.chunk')).toBe(true);
    });

    it('streams tool calls with running indexes that rebuild into whole calls', async () => {
      fake.reply = {
        text: 'Checking both.',
        toolCalls: [
          { id: 'tooluse_paris', name: 'get_weather', input: { city: 'Paris', days: [1, 2, 3] } },
          { id: 'tooluse_time', name: 'get_time', input: { zone: 'Europe/Paris' } },
        ],
      };
      const tools = ['get_weather', 'get_time'].map((name) => ({ type: 'function', function: { name } }));
      const { chunks: stream } = await adapter.stream(route, ask('Weather and time in Paris?', { tools }), opts());
      const { chunks, error } = await collect(stream);

      expect(error).toBeUndefined();
      expect(textOf(chunks)).toBe('Checking both.');
      const calls = toolCallsOf(chunks);
      expect(calls.map((c) => [c.id, c.function.name, JSON.parse(c.function.arguments) as unknown])).toEqual([
        ['tooluse_paris', 'get_weather', { city: 'Paris', days: [1, 2, 3] }],
        ['tooluse_time', 'get_time', { zone: 'Europe/Paris' }],
      ]);
      // Input arrives in fragments, as from Bedrock.
      expect(chunks.filter((c) => c.choices[0]?.delta.tool_calls?.[0].function?.arguments).length).toBeGreaterThan(2);
      expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('tool_calls');
      expect(chunks[chunks.length - 1].usage).toBeDefined();
      expect(chunks[chunks.length - 1].choices).toEqual([]);
    });

    it('finishes a stream that lacks the closing metadata event, with a usage chunk all the same', async () => {
      fake.faults.push({ kind: 'no-terminator' });
      const { chunks: stream } = await adapter.stream(route, ask('Hi'), opts());
      const { chunks, error } = await collect(stream);
      expect(error).toBeUndefined();
      expect(textOf(chunks)).toBe(DEFAULT_REPLY_TEXT);
      expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('stop');
      expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: { total_tokens: 0 } });
    });
  });

  describe('errors', () => {
    const cases: Array<[string, Fault, FailureClass, number]> = [
      ['429 ThrottlingException', { kind: 'status', status: 429 }, 'throttled', 429],
      ['400 ServiceQuotaExceededException', { kind: 'status', status: 400, code: 'ServiceQuotaExceededException' }, 'quota_exhausted', 400],
      ['429 ModelNotReadyException', { kind: 'status', status: 429, code: 'ModelNotReadyException' }, 'transient', 429],
      ['500 InternalServerException', { kind: 'status', status: 500 }, 'transient', 500],
      ['503 ServiceUnavailableException', { kind: 'status', status: 503 }, 'transient', 503],
      ['424 ModelErrorException', { kind: 'status', status: 424 }, 'transient', 424],
      ['408 ModelTimeoutException', { kind: 'status', status: 408 }, 'transient', 408],
      ['400 ValidationException', { kind: 'status', status: 400, message: 'Malformed input request: #: extraneous key [foo]' }, 'refused', 400],
      ['403 AccessDeniedException', { kind: 'status', status: 403 }, 'refused', 403],
      ['404 ResourceNotFoundException', { kind: 'status', status: 404 }, 'refused', 404],
      ['400 input too long', { kind: 'status', status: 400, code: 'ValidationException', message: 'Input is too long for requested model.' }, 'context_length', 400],
      ['400 context_length_exceeded', { kind: 'status', status: 400, code: 'context_length_exceeded' }, 'context_length', 400],
    ];

    it.each(cases)('complete(): %s', async (_, fault, failureClass, status) => {
      fake.faults.push(fault);
      const err = await providerFailure(adapter.complete(route, ask('Hi'), opts()));
      expect(err.failure).toBe(failureClass);
      expect(err.status).toBe(status);
    });

    it.each(cases)('stream() rejects before any chunk: %s', async (_, fault, failureClass, status) => {
      fake.faults.push(fault);
      const err = await providerFailure(adapter.stream(route, ask('Hi'), opts()));
      expect(err.failure).toBe(failureClass);
      expect(err.status).toBe(status);
    });

    it("returns the provider's message for refusals", async () => {
      fake.faults.push({ kind: 'status', status: 400, message: 'Malformed input request: #: extraneous key [foo]' });
      const err = await providerFailure(adapter.complete(route, ask('Hi'), opts()));
      expect(err.message).toBe('Malformed input request: #: extraneous key [foo]');
      expect(err.code).toBe('ValidationException');
    });

    it('honours Retry-After on throttling', async () => {
      fake.faults.push({ kind: 'status', status: 429, headers: { 'retry-after': '2' } });
      const err = await providerFailure(adapter.complete(route, ask('Hi'), opts()));
      expect(err.failure).toBe('throttled');
      expect(err.retryAfterMs).toBe(2000);
    });

    it.each([
      ['throttlingException', 'throttled'],
      ['internalServerException', 'transient'],
      ['modelStreamErrorException', 'transient'],
      ['serviceUnavailableException', 'transient'],
      ['validationException', 'refused'],
    ] as const)('an in-stream %s is thrown from the iterator as %s', async (code, failureClass) => {
      fake.faults.push({ kind: 'stream-error', afterChunks: 2, code });
      const { chunks: stream } = await adapter.stream(route, ask('Hi'), opts());
      const { chunks, error } = await collect(stream);
      expect(textOf(chunks)).toBe('Hello from ');
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).failure).toBe(failureClass);
      expect(chunks.some((c) => c.usage || c.choices[0]?.finish_reason)).toBe(false);
    });

    it('a cut stream ends in a transient error, never in a finished answer', async () => {
      fake.faults.push({ kind: 'cut', afterChunks: 2 });
      const { chunks: stream } = await adapter.stream(route, ask('Hi'), opts());
      const { chunks, error } = await collect(stream);
      expect(textOf(chunks)).toBe('Hello from ');
      expect((error as ProviderError).failure).toBe('transient');
      expect(chunks.some((c) => c.usage || c.choices[0]?.finish_reason)).toBe(false);
    });

    it('a malformed event is never passed on: the stream fails as transient', async () => {
      fake.faults.push({ kind: 'malformed', afterChunks: 1 });
      const { chunks: stream } = await adapter.stream(route, ask('Hi'), opts());
      const { chunks, error } = await collect(stream);
      expect(textOf(chunks)).toBe('Hello ');
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).failure).toBe('transient');
      expect(textOf(chunks)).not.toContain('MALFORMED');
    });

    it.each(['garbage', 'wrong-content-type'] as const)('a 200 answer that is not Converse (%s) is transient', async (kind) => {
      fake.faults.push({ kind }, { kind });
      expect((await providerFailure(adapter.complete(route, ask('Hi'), opts()))).failure).toBe('transient');
      expect((await providerFailure(adapter.stream(route, ask('Hi'), opts()))).failure).toBe('transient');
    });

    it('a connection reset is transient', async () => {
      fake.faults.push({ kind: 'reset' }, { kind: 'reset' });
      expect((await providerFailure(adapter.complete(route, ask('Hi'), opts()))).failure).toBe('transient');
      expect((await providerFailure(adapter.stream(route, ask('Hi'), opts()))).failure).toBe('transient');
    });

    it('serves normally after a delay fault', async () => {
      fake.faults.push({ kind: 'delay', ms: 20 });
      const { completion } = await adapter.complete(route, ask('Hi'), opts());
      expect(completion.choices[0].message.content).toBe(DEFAULT_REPLY_TEXT);
    });
  });
});

describe('Bedrock adapter: aborts and connections', () => {
  let fake: FakeBedrock;
  let provider: ProviderConfig;

  beforeEach(async () => {
    fake = await startFakeBedrock();
    provider = providerFor(fake.url);
  });

  afterEach(async () => {
    await fake.close();
  });

  it('a stalled stream ends with the abort reason once the caller aborts, and the upstream connection closes', async () => {
    const adapter = newAdapter(provider);
    try {
      fake.faults.push({ kind: 'stall', afterChunks: 1 });
      const controller = new AbortController();
      const { chunks } = await adapter.stream(routeOf(provider), ask('Hi'), opts(controller.signal));
      const iterator = chunks[Symbol.asyncIterator]();
      expect((await nextValue(iterator))?.choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect((await nextValue(iterator))?.choices[0].delta).toEqual({ content: 'Hello ' });
      const pending = iterator.next();
      expect(fake.openConnections()).toBe(1);

      const reason = new ProviderError('silent', 'no chunk within the idle timeout');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
    } finally {
      await adapter.close?.();
    }
  });

  it('a consumer that stops reading early releases the upstream connection', async () => {
    const adapter = newAdapter(provider);
    try {
      fake.faults.push({ kind: 'stall', afterChunks: 1 });
      const { chunks } = await adapter.stream(routeOf(provider), ask('Hi'), opts());
      for await (const chunk of chunks) if (chunk.choices[0]?.delta.content) break;
      expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
    } finally {
      await adapter.close?.();
    }
  });

  it('aborting a request Bedrock has not answered yet rejects it and closes the upstream connection', async () => {
    const adapter = newAdapter(provider);
    try {
      fake.faults.push({ kind: 'hang' });
      const controller = new AbortController();
      const pending = adapter.complete(routeOf(provider), ask('Hi'), opts(controller.signal));
      expect(await eventually(() => fake.requests.length === 1)).toBe(true);
      const reason = new Error('client went away');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
    } finally {
      await adapter.close?.();
    }
  });

  it('reuses one SDK client and one keep-alive connection per account and region', async () => {
    const adapter = newAdapter(provider);
    try {
      for (let i = 0; i < 3; i++) await adapter.complete(routeOf(provider), ask(`Hi ${i}`), opts());
      await collect((await adapter.stream(routeOf(provider), ask('Hi'), opts())).chunks);
      expect(adapter.clientCount()).toBe(1);
      expect(fake.totalConnections()).toBe(1);

      await adapter.complete(routeOf(provider, MODEL, 0, 1), ask('Hi'), opts()); // spoke-a, us-west-2
      await adapter.complete(routeOf(provider, MODEL, 1, 0), ask('Hi'), opts()); // spoke-b, us-east-1
      await adapter.complete(routeOf(provider, 'other-model', 1, 0), ask('Hi'), opts());
      expect(adapter.clientCount()).toBe(3);
      expect(fake.requests.map((r) => /\/\d{8}\/([a-z0-9-]+)\/bedrock\//.exec(String(r.headers.authorization))?.[1])).toEqual([
        'us-east-1',
        'us-east-1',
        'us-east-1',
        'us-east-1',
        'us-west-2',
        'us-east-1',
        'us-east-1',
      ]);
    } finally {
      await adapter.close?.();
    }
    expect(await eventually(() => fake.openConnections() === 0)).toBe(true);
  });

  it('the fake rejects requests that are not SigV4-signed for bedrock', async () => {
    const res = await fetch(`${fake.url}/model/${encodeURIComponent(MODEL)}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException:/);
    expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });

    const wrongService = await fetch(`${fake.url}/model/${encodeURIComponent(MODEL)}/converse`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock-runtime/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`,
      },
      body: '{}',
    });
    expect(wrongService.status).toBe(403);
    expect(wrongService.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException:/);
  });
});
