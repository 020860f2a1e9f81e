/**
 * Native Messages requests under their targets' prompt-cache settings, as chat requests
 * are: `targets[].promptCache: false` drops every `cache_control` before the body goes
 * (Anthropic API and Claude on Bedrock alike), `models[].promptCache.auto` marks the end of
 * the system prompt and of the tools where the client did not, within Anthropic's four
 * breakpoints (the fake refuses a fifth, as Anthropic does); without either the body goes
 * as the client sent it. Called with the real Anthropic SDK.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { startFakeBedrockClaude, type FakeBedrockClaude } from '../fakes/bedrock-claude';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';
import { startGateway, type TestGateway } from '../helpers/gateway';

const CLAUDE_ON_BEDROCK = 'anthropic.claude-sonnet-4-test-v1:0';
const mark = { type: 'ephemeral' as const };
const LOOKUP: Anthropic.Tool = { name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } };
const SEARCH: Anthropic.Tool = { name: 'search', input_schema: { type: 'object' } };

/** A request with markers everywhere they may be: a tool, the system prompt, a message block and a tool result's own block. */
function marked(model: string): Anthropic.MessageCreateParamsNonStreaming {
  return {
    model,
    max_tokens: 50,
    tools: [{ ...LOOKUP, cache_control: mark }],
    system: [{ type: 'text', text: 'You are terse.', cache_control: mark }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Look it up.', cache_control: { type: 'ephemeral', ttl: '1h' } }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'found', cache_control: mark }] }] },
    ],
  };
}

describe('prompt-cache settings on native Messages', () => {
  let anthropic: FakeAnthropic;
  let bedrock: FakeBedrockClaude;
  let gw: TestGateway;
  let client: Anthropic;
  useFakeAwsCredentials();

  beforeAll(async () => {
    process.env.CACHE_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [anthropic, bedrock] = await Promise.all([startFakeAnthropic({ reply: { text: 'ok' } }), startFakeBedrockClaude({ reply: () => ({ text: 'ok' }) })]);
    const api = { id: 'anthropic', type: 'anthropic' as const, accounts: [{ id: 'a', credentials: { env: 'CACHE_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: anthropic.url }] }] };
    const br = { id: 'bedrock', type: 'bedrock' as const, accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] };
    gw = await startGateway({
      providers: [api, br],
      models: [
        { name: 'as-sent', targets: [{ provider: 'anthropic', model: 'claude-test' }] },
        { name: 'off', targets: [{ provider: 'anthropic', model: 'claude-test', promptCache: false }] },
        { name: 'off-bedrock', targets: [{ provider: 'bedrock', model: CLAUDE_ON_BEDROCK, promptCache: false }] },
        { name: 'auto', promptCache: { auto: true }, targets: [{ provider: 'anthropic', model: 'claude-test' }] },
        { name: 'auto-bedrock', promptCache: { auto: true }, targets: [{ provider: 'bedrock', model: CLAUDE_ON_BEDROCK }] },
      ],
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gw.close();
    await Promise.all([anthropic.close(), bedrock.close()]);
    delete process.env.CACHE_TEST_ANTHROPIC_KEY;
  });

  /** The body the Anthropic fake received for one request. */
  async function sentToAnthropic(params: Anthropic.MessageCreateParamsNonStreaming | Anthropic.MessageCreateParamsStreaming): Promise<FakeAnthropicRequest> {
    const before = anthropic.requests.length;
    if (params.stream) await client.messages.stream(params).finalMessage();
    else await client.messages.create(params);
    expect(anthropic.requests.length).toBe(before + 1);
    return anthropic.requests[before].body as FakeAnthropicRequest;
  }

  it('without settings, the markers go as the client sent them', async () => {
    const { model: _m, ...rest } = marked('as-sent');
    expect(await sentToAnthropic(marked('as-sent'))).toEqual({ ...rest, model: 'claude-test' });
  });

  it('targets[].promptCache: false drops every marker, whole answers and streams, Anthropic API and Bedrock', async () => {
    const whole = await sentToAnthropic(marked('off'));
    expect(JSON.stringify(whole)).not.toContain('cache_control');
    // Only the markers go: the blocks, their order and the ttl-less rest are the client's.
    expect(whole.system).toEqual([{ type: 'text', text: 'You are terse.' }]);
    expect(whole.tools).toEqual([LOOKUP]);
    expect(whole.messages?.[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'found' }] }] });
    const streamed = await sentToAnthropic({ ...marked('off'), stream: true });
    expect(JSON.stringify(streamed)).not.toContain('cache_control');

    const before = bedrock.requests.length;
    await client.messages.create(marked('off-bedrock'));
    const invoke = bedrock.requests[before].invokeBody as Record<string, unknown>;
    expect(invoke).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', system: [{ type: 'text', text: 'You are terse.' }] });
    expect(JSON.stringify(invoke)).not.toContain('cache_control');
  });

  it('models[].promptCache.auto marks the end of the system prompt and of the tools where the client did not', async () => {
    const sent = await sentToAnthropic({ model: 'auto', max_tokens: 50, system: 'You are terse.', tools: [SEARCH, LOOKUP], messages: [{ role: 'user', content: 'hi' }] });
    expect(sent.system).toEqual([{ type: 'text', text: 'You are terse.', cache_control: mark }]);
    expect(sent.tools).toEqual([SEARCH, { ...LOOKUP, cache_control: mark }]);
    expect(sent.messages).toEqual([{ role: 'user', content: 'hi' }]);

    // The client's own marker (its ttl) stays where it is, and no second one is added.
    const own = await sentToAnthropic({
      model: 'auto',
      max_tokens: 50,
      system: [{ type: 'text', text: 'S', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(own.system).toEqual([{ type: 'text', text: 'S', cache_control: { type: 'ephemeral', ttl: '1h' } }]);
    expect(own.tools).toBeUndefined();

    const before = bedrock.requests.length;
    await client.messages.create({ model: 'auto-bedrock', max_tokens: 50, system: 'Be exact.', messages: [{ role: 'user', content: 'hi' }] });
    expect((bedrock.requests[before].invokeBody as { system?: unknown }).system).toEqual([{ type: 'text', text: 'Be exact.', cache_control: mark }]);
  });

  it('auto keeps within four breakpoints: with the client’s four, its own go first (the earliest in the prompt)', async () => {
    const turns = [1, 2, 3, 4].flatMap((n) => [
      { role: 'user' as const, content: [{ type: 'text' as const, text: `question ${n}`, cache_control: mark }] },
      { role: 'assistant' as const, content: `answer ${n}` },
    ]);
    const params = { model: 'auto', max_tokens: 50, system: 'You are terse.', tools: [LOOKUP], messages: [...turns, { role: 'user' as const, content: 'and?' }] };
    const sent = await sentToAnthropic(params);
    expect(sent.tools).toEqual([LOOKUP]);
    expect(sent.system).toEqual([{ type: 'text', text: 'You are terse.' }]);
    expect(sent.messages).toEqual(params.messages);
    // With three of the client's, the system prompt's is kept and the tools' dropped.
    const three = await sentToAnthropic({ ...params, messages: [...turns.slice(2), { role: 'user', content: 'and?' }] });
    expect(three.tools).toEqual([LOOKUP]);
    expect(three.system).toEqual([{ type: 'text', text: 'You are terse.', cache_control: mark }]);
  });
});
