/**
 * Chat tool-call arguments are a JSON string; a target that takes the object (Anthropic,
 * Bedrock) gets them parsed. Arguments nested thousands of levels deep are a 400 naming
 * them, as every other free-form value of the request is: never a 500, and never a failure
 * of the route (which ejected a Bedrock route for every client).
 */
import { startFakeAnthropic, FAKE_ANTHROPIC_KEY, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';

const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** A tool call whose arguments are `args`, answered by its tool, for model `model`. */
const history = (model: string, args: string) => ({
  model,
  messages: [
    { role: 'user', content: 'What is the weather in Rome?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: args } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
  ],
  tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
});

describe('tool-call arguments nested too deep for a translated target', () => {
  let anthropic: FakeAnthropic;
  let bedrock: FakeBedrock;
  let gw: TestGateway;
  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKEFAKEFAKE';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
    process.env.DEPTH_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [anthropic, bedrock] = await Promise.all([startFakeAnthropic(), startFakeBedrock()]);
    gw = await startGateway({
      providers: [
        { id: 'an', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'DEPTH_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] },
        { id: 'br', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] },
      ],
      models: [
        { name: 'claude', targets: [{ provider: 'an', model: 'claude-sonnet-4-5' }] },
        { name: 'nova', targets: [{ provider: 'br', model: 'amazon.nova-pro-v1:0' }] },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([anthropic.close(), bedrock.close()]);
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'DEPTH_TEST_ANTHROPIC_KEY']) delete process.env[k];
  });

  it.each(['claude', 'nova'])('%s: arguments 20,000 levels deep are a 400 naming them, and no provider is called', async (model) => {
    const before = anthropic.requests.length + bedrock.requests.length;
    const res = await postJson(`${gw.url}/v1/chat/completions`, history(model, deepObject(20_000)));
    expect(res.status).toBe(400);
    const { error } = await jsonOf<ErrorBody>(res);
    expect(error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_tool_arguments', param: 'messages[1].tool_calls' });
    expect(error.message).toContain('messages[1].tool_calls[0].function.arguments is nested deeper than 64 levels');
    expect(anthropic.requests.length + bedrock.requests.length).toBe(before);
  });

  // The client's fault is not the route's: repeated, it does not eject the route for everyone else.
  it.each(['claude', 'nova'])('%s: after a run of such requests, other clients are still served', async (model) => {
    for (let i = 0; i < 8; i++) expect((await postJson(`${gw.url}/v1/chat/completions`, history(model, deepObject(20_000)))).status).toBe(400);
    const innocent = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'Hi' }] });
    expect(innocent.status).toBe(200);
  });

  it.each(['claude', 'nova'])('%s: arguments 64 levels deep are served', async (model) => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, history(model, deepObject(64)));
    expect(res.status).toBe(200);
  });
});
