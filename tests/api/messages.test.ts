/**
 * POST /v1/messages and /v1/messages/count_tokens with the real Anthropic SDK (1.x) as the
 * client, the gateway in front of a wire-faithful fake of the Anthropic API: bodies pass
 * through with only the model swapped, answers and events come back as the target sent
 * them (thinking signatures, tool inputs, cache usage), errors are Anthropic's and raise
 * the SDK's own error classes, both API versions and both ways of sending the key work.
 */
import Anthropic from '@anthropic-ai/sdk';
import { createHash } from 'node:crypto';
import { FAKE_ANTHROPIC_KEY, signatureOf, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

const THOUGHT = 'The user wants the capital of Italy. That is Rome; the weather tool gives the rest.';

function lastUser(req: FakeAnthropicRequest): unknown {
  return req.messages?.at(-1)?.content;
}

/** Answers like Claude with a weather tool: thinks (when asked), calls the tool, then answers from its result. */
function claude(req: FakeAnthropicRequest) {
  const last = lastUser(req);
  const result = Array.isArray(last) ? (last as Array<{ type?: string; content?: unknown }>).find((b) => b.type === 'tool_result') : undefined;
  if (result) return { text: `It is ${String(result.content)} in Rome.` };
  if (req.tools?.length) return { thinking: THOUGHT, text: 'Let me check the weather.', toolUses: [{ id: 'toolu_rome', name: 'weather', input: { city: 'Rome', units: 'metric' } }] };
  return { thinking: THOUGHT, text: 'Hello from the fake Anthropic.', usage: { cache_read_input_tokens: 7, cache_creation_input_tokens: 3 } };
}

const WEATHER: Anthropic.Tool = {
  name: 'weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, units: { type: 'string' } }, required: ['city'] },
};

describe('Anthropic Messages API through the gateway (Anthropic target)', () => {
  let fake: FakeAnthropic;
  let gw: TestGateway;
  let client: Anthropic;

  beforeAll(async () => {
    process.env.MESSAGES_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    fake = await startFakeAnthropic({ reply: claude, knownBetas: ['interleaved-thinking-2025-05-14', 'claude-code-20250219', 'fine-grained-tool-streaming-2025-05-14'] });
    gw = await startGateway({
      providers: [{ id: 'anthropic', type: 'anthropic', accounts: [{ id: 'acct', credentials: { env: 'MESSAGES_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: fake.url }] }] }],
      models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-sonnet-test' }] }],
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'gateway-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gw.close();
    await fake.close();
    delete process.env.MESSAGES_TEST_ANTHROPIC_KEY;
  });

  afterEach(() => {
    fake.faults.length = 0;
  });

  it('creates a message: the body reaches Anthropic with only the model swapped, the answer comes back as Anthropic sent it', async () => {
    const before = fake.requests.length;
    const params = {
      model: 'claude',
      max_tokens: 300,
      system: [{ type: 'text' as const, text: 'You are terse.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }] }],
      metadata: { user_id: 'user-42' },
      stop_sequences: ['END'],
    };
    const { data: message, response } = await client.messages.create(params).withResponse();
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-test',
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: 'Hello from the fake Anthropic.' }],
    });
    expect(message.id).toMatch(/^msg_fake_\d+$/);
    expect(message.usage).toMatchObject({ cache_read_input_tokens: 7, cache_creation_input_tokens: 3 });
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/acct/us/claude-sonnet-test');
    expect(response.headers.get('x-gateway-attempts')).toBe('1');
    expect(response.headers.get('request-id')).toBe(response.headers.get('x-request-id'));

    const sent = fake.requests[before];
    expect(sent.path).toBe('/v1/messages');
    expect(sent.body).toEqual({ ...params, model: 'claude-sonnet-test' });
    expect(sent.headers['anthropic-version']).toBe('2026-10-21');
    expect(sent.headers['x-api-key']).toBe(FAKE_ANTHROPIC_KEY);
  });

  it('streams with the SDK helpers: text events, finalMessage, usage', async () => {
    const stream = client.messages.stream({ model: 'claude', max_tokens: 200, messages: [{ role: 'user', content: 'Hello' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe('Hello from the fake Anthropic.');
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: 'Hello from the fake Anthropic.' })]);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(final.stop_reason).toBe('end_turn');
  });

  it('streams thinking with its signature, and the next turn sends it back intact (the target checks it)', async () => {
    const params = {
      model: 'claude',
      max_tokens: 4000,
      thinking: { type: 'enabled' as const, budget_tokens: 2048 },
      tools: [WEATHER],
      messages: [{ role: 'user' as const, content: 'Weather in the capital of Italy?' }],
    };
    const stream = client.messages.stream(params);
    let thinking = '';
    let json = '';
    stream.on('thinking', (delta) => (thinking += delta));
    stream.on('inputJson', (partial) => (json += partial));
    const turn = await stream.finalMessage();
    expect(thinking).toBe(THOUGHT);
    expect(turn.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(turn.content[0]).toMatchObject({ type: 'thinking', thinking: THOUGHT, signature: signatureOf(THOUGHT) });
    expect(turn.content[2]).toMatchObject({ type: 'tool_use', id: 'toolu_rome', name: 'weather', input: { city: 'Rome', units: 'metric' } });
    expect(JSON.parse(json)).toEqual({ city: 'Rome', units: 'metric' });
    expect(turn.stop_reason).toBe('tool_use');

    // The whole assistant turn goes back, thinking block and signature included, with the tool's result.
    const next = await client.messages.create({
      ...params,
      messages: [...params.messages, { role: 'assistant', content: turn.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_rome', content: '21°C' }] }],
    });
    expect(next.content).toEqual([expect.objectContaining({ type: 'text', text: 'It is 21°C in Rome.' })]);
  });

  it('counts tokens with the target’s own counter', async () => {
    const before = fake.requests.length;
    const { data, response } = await client.messages
      .countTokens({ model: 'claude', system: 'Be brief.', messages: [{ role: 'user', content: 'How many tokens is this?' }], tools: [WEATHER] })
      .withResponse();
    const sent = fake.requests[before];
    expect(sent.path).toBe('/v1/messages/count_tokens');
    expect(sent.body).toMatchObject({ model: 'claude-sonnet-test', system: 'Be brief.' });
    expect(data.input_tokens).toBe(Math.max(1, Math.ceil(JSON.stringify(['Be brief.', (sent.body as FakeAnthropicRequest).messages, [WEATHER]]).length / 4)));
    expect(response.headers.get('x-gateway-token-count')).toBe('provider');
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/acct/us/claude-sonnet-test');
  });

  it('lists the logical models in Anthropic’s shape for an Anthropic client (the OpenAI shape for others)', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['claude']);
    const page = await client.models.list();
    expect(page.data[0]).toMatchObject({ type: 'model', id: 'claude', display_name: 'claude' });
    expect(await (await fetch(`${gw.url}/v1/models`)).json()).toMatchObject({ object: 'list', data: [{ id: 'claude', object: 'model' }] });
  });

  it('retrieves one model in Anthropic’s shape (OpenAI’s for others); an unknown one is the SDK’s NotFoundError', async () => {
    expect(await client.models.retrieve('claude')).toEqual({ type: 'model', id: 'claude', display_name: 'claude', created_at: expect.any(String) as string });
    const unknown = await client.models.retrieve('no-such-model').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unknown).toMatchObject({ type: 'not_found_error', errorCode: 'model_not_found' });
    expect((unknown as Error).message).toContain('The model "no-such-model" does not exist. Known models: claude.');
    expect(await gw.client.models.retrieve('claude')).toMatchObject({ id: 'claude', object: 'model', owned_by: 'ai-gateway' });
  });

  it('answers gateway errors in Anthropic’s shape, as the SDK’s error classes', async () => {
    const unknown = await client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect((unknown as InstanceType<typeof Anthropic.APIError>).errorCode).toBe('model_not_found');
    expect((unknown as InstanceType<typeof Anthropic.APIError>).type).toBe('not_found_error');

    const bad = await client.messages
      .create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'x' } as never] }] })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect((bad as Error).message).toContain('messages.0.content.0.input: Field required');

    const res = await postJson(`${gw.url}/v1/messages`, { model: 'claude', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    expect(res.headers.get('request-id')).toBeTruthy();
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required', details: { error_code: 'invalid_value' } },
      request_id: res.headers.get('request-id'),
    });

    const extra = await postJson(`${gw.url}/v1/messages`, { model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], frequency_penalty: 1 });
    expect(((await extra.json()) as { error: { message: string } }).error.message).toBe('frequency_penalty: Extra inputs are not permitted');
  });

  it('passes the target’s own refusal to the client (its status and words)', async () => {
    fake.faults.push({ kind: 'status', status: 400, message: 'messages: roles must alternate' });
    const err = await client.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain('messages: roles must alternate');
  });

  it('answers 529 overloaded_error from every route with an overloaded error the SDK retries', async () => {
    fake.faults.push({ kind: 'status', status: 529 }, { kind: 'status', status: 529 });
    const err = await client.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
    expect((err as InstanceType<typeof Anthropic.APIError>).errorCode).toBe('upstream_unavailable');
  });

  describe('API versions and keys', () => {
    const body = { model: 'claude', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] };

    it('takes an older client: x-api-key and 2023-06-01, whose sampling parameters reach the target', async () => {
      const before = fake.requests.length;
      const res = await postJson(`${gw.url}/v1/messages`, { ...body, temperature: 0.3, top_k: 5 }, { 'x-api-key': 'gateway-key', 'anthropic-version': '2023-06-01' });
      expect(res.status).toBe(200);
      const sent = fake.requests[before];
      expect(sent.headers['anthropic-version']).toBe('2023-06-01');
      expect(sent.body).toMatchObject({ temperature: 0.3, top_k: 5 });
    });

    it('refuses the sampling parameters 2026-10-21 removed, before any upstream call', async () => {
      const before = fake.requests.length;
      for (const field of ['temperature', 'top_p', 'top_k']) {
        const res = await postJson(`${gw.url}/v1/messages`, { ...body, [field]: field === 'top_k' ? 5 : 0.5 }, { authorization: 'Bearer gateway-key', 'anthropic-version': '2026-10-21' });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(new RegExp(`^${field}: Extra inputs are not permitted`));
      }
      expect(fake.requests.length).toBe(before);
    });

    it('refuses a version it does not know, naming the header; a missing one means 2023-06-01', async () => {
      const res = await postJson(`${gw.url}/v1/messages`, body, { 'anthropic-version': '2020-01-01' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('anthropic-version');
      const before = fake.requests.length;
      expect((await postJson(`${gw.url}/v1/messages`, body)).status).toBe(200);
      expect(fake.requests[before].headers['anthropic-version']).toBe('2023-06-01');
    });

    it('passes the client’s beta flags to the Anthropic API', async () => {
      const before = fake.requests.length;
      const res = await postJson(`${gw.url}/v1/messages`, body, { 'anthropic-beta': 'claude-code-20250219, interleaved-thinking-2025-05-14', 'anthropic-version': '2023-06-01' });
      expect(res.status).toBe(200);
      expect(fake.requests[before].headers['anthropic-beta']).toBe('claude-code-20250219,interleaved-thinking-2025-05-14');
    });
  });
});

describe('count_tokens and quotas', () => {
  it('counts without using a route’s generation quota or a tenant’s tokens', async () => {
    process.env.QUOTA_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    const fake = await startFakeAnthropic();
    const key = 'tenant-key-count';
    const gw = await startGateway({
      providers: [
        {
          id: 'anthropic',
          type: 'anthropic',
          accounts: [{ id: 'a', credentials: { env: 'QUOTA_TEST_ANTHROPIC_KEY' }, limits: { '*': { rpm: 2 } }, endpoints: [{ region: 'us', url: fake.url }] }],
        },
      ],
      models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-q' }] }],
      tenants: [{ id: 'team', keys: [`sha256:${createHash('sha256').update(key).digest('hex')}`], limits: { tpm: 5000 } }],
    });
    try {
      const client = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });
      const big = 'word '.repeat(3000); // about 4,000 tokens a count
      for (let i = 0; i < 5; i++) {
        const { response } = await client.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: big }] }).withResponse();
        expect(response.headers.get('x-gateway-token-count')).toBe('provider');
      }
      // The route's 2 rpm and the tenant's 5,000 tpm are still whole for generations.
      for (let i = 0; i < 2; i++) expect((await client.messages.create({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })).type).toBe('message');
    } finally {
      await gw.close();
      await fake.close();
      delete process.env.QUOTA_TEST_ANTHROPIC_KEY;
    }
  });
});

describe('count_tokens past the deadline', () => {
  it('answers 504 deadline_exceeded in Anthropic’s shape when the counter does not answer in time', async () => {
    process.env.DEADLINE_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    const fake = await startFakeAnthropic();
    fake.always = { kind: 'hang' };
    const gw = await startGateway({
      server: { requestTimeoutMs: 1_000 },
      providers: [{ id: 'anthropic', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'DEADLINE_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: fake.url }] }] }],
      models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-d' }] }],
    });
    try {
      const res = await postJson(`${gw.url}/v1/messages/count_tokens`, { model: 'claude', messages: [{ role: 'user', content: 'Hi' }] }, { 'anthropic-version': '2023-06-01' });
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: expect.any(String) as unknown } });
    } finally {
      fake.always = undefined;
      await gw.close();
      await fake.close();
      delete process.env.DEADLINE_TEST_ANTHROPIC_KEY;
    }
  });
});

describe('Anthropic Messages API with tenants', () => {
  it('authenticates a tenant by x-api-key or bearer, and refuses others as the SDK expects', async () => {
    const key = 'tenant-key-0123456789';
    const gw = await startGateway({
      providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 5000, seed: 3 }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'sim-model' }] }],
      tenants: [{ id: 'team', keys: [`sha256:${createHash('sha256').update(key).digest('hex')}`] }],
    });
    try {
      const body = { model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] };
      expect((await postJson(`${gw.url}/v1/messages`, body, { 'x-api-key': key })).status).toBe(200);
      const sdk = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });
      expect((await sdk.messages.create(body as never)).type).toBe('message');
      const wrong = new Anthropic({ baseURL: gw.url, apiKey: 'wrong', maxRetries: 0 });
      await expect(wrong.messages.create(body as never)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      // The models routes answer an Anthropic client in its own error shape too.
      const listing = await wrong.models.list().catch((e: unknown) => e);
      expect(listing).toBeInstanceOf(Anthropic.AuthenticationError);
      expect(listing).toMatchObject({ type: 'authentication_error', errorCode: 'invalid_api_key' });
    } finally {
      await gw.close();
    }
  });
});
