/**
 * Guardrails read a Messages request's text as they read a chat request's: a deny rule
 * blocks it with Anthropic's 400 and nothing reaches the provider; masking changes the
 * text Claude receives (system, text blocks, tool results), never a thinking block.
 * count_tokens sends the provider's counter the same masked text, and refuses what is denied.
 */
import { FAKE_ANTHROPIC_KEY, signatureOf, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

describe('guardrails on /v1/messages', () => {
  let fake: FakeAnthropic;
  let gw: TestGateway;

  beforeAll(async () => {
    process.env.GUARDRAIL_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    fake = await startFakeAnthropic();
    gw = await startGateway(
      {
        providers: [{ id: 'anthropic', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'GUARDRAIL_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: fake.url }] }] }],
        models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-g' }] }],
        guardrails: [{ id: 'pii', local: { deny: ['secret project'], mask: ['email'] }, onError: 'block' }],
      },
      'all-in-one',
      { probes: false },
    );
  });

  afterAll(async () => {
    await gw.close();
    await fake.close();
    delete process.env.GUARDRAIL_TEST_ANTHROPIC_KEY;
  });

  it('blocks a denied prompt with a 400 in Anthropic’s shape, and calls no provider', async () => {
    const before = fake.requests.length;
    const res = await postJson(`${gw.url}/v1/messages`, { model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'Tell me about the Secret Project.' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', details: { error_code: 'content_filter' } } });
    expect(fake.requests.length).toBe(before);
  });

  it('masks e-mail addresses in the system prompt, text blocks and tool results; thinking stays as signed', async () => {
    const thought = 'Mail ada@example.com later.';
    const res = await postJson(`${gw.url}/v1/messages`, {
      model: 'claude',
      max_tokens: 10,
      system: 'Owner: bob@example.com',
      tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Write to ada@example.com' }] },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: thought, signature: signatureOf(thought) },
            { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { who: 'ada' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ada@example.com is on leave' }] },
      ],
    });
    expect(res.status).toBe(200);
    const sent = fake.requests.at(-1)!.body as FakeAnthropicRequest;
    expect(sent.system).toBe('Owner: [EMAIL]');
    expect(sent.messages?.[0].content).toEqual([{ type: 'text', text: 'Write to [EMAIL]' }]);
    expect(sent.messages?.[1].content).toEqual([
      { type: 'thinking', thinking: thought, signature: signatureOf(thought) },
      { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { who: 'ada' } },
    ]);
    expect(sent.messages?.[2].content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_1', content: '[EMAIL] is on leave' }]);
  });

  it('count_tokens: a denied prompt is refused before any provider counts it; the counter gets the masked text', async () => {
    const before = fake.requests.length;
    const denied = await postJson(`${gw.url}/v1/messages/count_tokens`, { model: 'claude', messages: [{ role: 'user', content: 'Count the Secret Project.' }] });
    expect(denied.status).toBe(400);
    expect(await denied.json()).toMatchObject({ type: 'error', error: { details: { error_code: 'content_filter' } } });
    expect(fake.requests.length).toBe(before);

    const counted = await postJson(`${gw.url}/v1/messages/count_tokens`, {
      model: 'claude',
      system: 'Owner: bob@example.com',
      messages: [{ role: 'user', content: 'Write to ada@example.com' }],
    });
    expect(counted.status).toBe(200);
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages/count_tokens');
    const body = sent.body as FakeAnthropicRequest;
    expect(body.system).toBe('Owner: [EMAIL]');
    expect(body.messages?.[0].content).toBe('Write to [EMAIL]');
  });
});
