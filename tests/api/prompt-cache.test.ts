/**
 * Prompt-cache markers through the gateway, called with the real OpenAI SDK: `cache_control`
 * on parts, messages and tools reaches Bedrock (real SDK against the fake) as `cachePoint`
 * blocks and Anthropic as `cache_control` on the matching blocks, at most four (the
 * earliest dropped); OpenAI targets get none; cached reads and writes come back in
 * `usage.prompt_tokens_details`, whole and streamed.
 */
import { expect } from '@jest/globals';
import type OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeAnthropic, FAKE_ANTHROPIC_KEY, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { bodyOf } from '../helpers/wire-bodies';

type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type StreamParams = OpenAI.Chat.ChatCompletionCreateParamsStreaming;
type Usage = OpenAI.CompletionUsage & { prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } };

const mark = { type: 'ephemeral' };
const DOC = 'A long shared document. '.repeat(50);
/** A request marked everywhere: a system part, a user part (1h), a whole assistant message and a tool. */
const marked = {
  model: 'chat',
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'You are terse.', cache_control: mark }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: DOC, cache_control: { type: 'ephemeral', ttl: '1h' } },
        { type: 'text', text: 'Question one?' },
      ],
    },
    { role: 'assistant', content: 'Answer one.', cache_control: mark },
    { role: 'user', content: 'Question two?' },
  ],
  tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } }, cache_control: mark }],
};
/** Six markers: two too many. */
const tooMany = {
  model: 'chat',
  messages: [{ role: 'system', content: 'sys', cache_control: mark }, ...[1, 2, 3, 4, 5].map((n) => ({ role: n % 2 ? 'user' : 'assistant', content: `turn ${n}`, cache_control: mark }))],
};

async function streamUsage(gw: TestGateway, body: object): Promise<Usage | undefined> {
  const stream = await gw.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as unknown as StreamParams);
  let usage: Usage | undefined;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  return usage;
}

beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  process.env.ANTHROPIC_TEST_KEY = FAKE_ANTHROPIC_KEY;
});
afterAll(() => {
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  delete process.env.ANTHROPIC_TEST_KEY;
});

interface ConverseCacheWire {
  system?: Array<{ text?: string; cachePoint?: { type: string; ttl?: string } }>;
  messages: Array<{ content: Array<{ text?: string; cachePoint?: { type: string; ttl?: string } }> }>;
  toolConfig?: { tools: Array<{ toolSpec?: { name: string }; cachePoint?: { type: string } }> };
}

describe('Bedrock Converse', () => {
  let bedrock: FakeBedrock;
  let gw: TestGateway;
  const config = (model: string, promptCache?: object): GatewayConfigInput => ({
    providers: [{ id: 'br', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'br', model }], ...(promptCache ? { promptCache } : {}) }],
  });
  const lastBody = () => bodyOf<ConverseCacheWire>(bedrock.requests.at(-1));
  const points = (b: ConverseCacheWire) =>
    [b.toolConfig?.tools ?? [], b.system ?? [], ...b.messages.map((m) => m.content)].flat().filter((x) => (x as { cachePoint?: unknown }).cachePoint !== undefined).length;

  beforeAll(async () => {
    bedrock = await startFakeBedrock({ reply: { text: 'ok', usage: { inputTokens: 12, outputTokens: 3, cacheReadInputTokens: 700, cacheWriteInputTokens: 40 } } });
  });
  afterAll(() => bedrock.close());
  afterEach(() => gw?.close());

  it('puts a cachePoint after each marked system part, message part, message and tool', async () => {
    gw = await startGateway(config('us.anthropic.claude-3-7-sonnet-20250219-v1:0'));
    await gw.client.chat.completions.create(marked as unknown as Params);
    const body = lastBody();
    expect(body.system).toEqual([{ text: 'You are terse.' }, { cachePoint: { type: 'default' } }]);
    expect(body.messages[0].content).toEqual([{ text: DOC }, { cachePoint: { type: 'default', ttl: '1h' } }, { text: 'Question one?' }]);
    expect(body.messages[1].content).toEqual([{ text: 'Answer one.' }, { cachePoint: { type: 'default' } }]);
    expect(body.messages[2].content).toEqual([{ text: 'Question two?' }]);
    expect(body.toolConfig?.tools).toEqual([expect.objectContaining({ toolSpec: expect.objectContaining({ name: 'lookup' }) }), { cachePoint: { type: 'default' } }]);
  });

  it('sends at most four cache points: the earliest markers are dropped', async () => {
    gw = await startGateway(config('anthropic.claude-3-5-haiku-20241022-v1:0'));
    await gw.client.chat.completions.create(tooMany as unknown as Params);
    const body = lastBody();
    expect(points(body)).toBe(4);
    expect(body.system).toEqual([{ text: 'sys' }]);
    expect(body.messages[0].content).toEqual([{ text: 'turn 1' }]);
    expect(body.messages[4].content).toEqual([{ text: 'turn 5' }, { cachePoint: { type: 'default' } }]);
  });

  it('drops the markers for a model without prompt caching, and the request still succeeds', async () => {
    gw = await startGateway(config('meta.llama3-70b-instruct-v1:0'));
    const res = await gw.client.chat.completions.create(marked as unknown as Params);
    expect(res.choices[0].message.content).toBe('ok');
    expect(points(lastBody())).toBe(0);
  });

  it('auto mode adds cache points after the system prompt and the tools', async () => {
    gw = await startGateway(config('anthropic.claude-sonnet-4-20250514-v1:0', { auto: true }));
    await gw.client.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'Hi' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    const body = lastBody();
    expect(body.system).toEqual([{ text: 'sys' }, { cachePoint: { type: 'default' } }]);
    expect(body.toolConfig?.tools[1]).toEqual({ cachePoint: { type: 'default' } });
  });

  it('reports cached reads and writes, whole and streamed', async () => {
    gw = await startGateway(config('us.anthropic.claude-3-7-sonnet-20250219-v1:0'));
    const whole = await gw.client.chat.completions.create(marked as unknown as Params);
    expect(whole.usage).toEqual({ prompt_tokens: 752, completion_tokens: 3, total_tokens: 755, prompt_tokens_details: { cached_tokens: 700, cache_write_tokens: 40 } });
    expect(await streamUsage(gw, marked)).toEqual({ prompt_tokens: 752, completion_tokens: 3, total_tokens: 755, prompt_tokens_details: { cached_tokens: 700, cache_write_tokens: 40 } });
  });
});

describe('Anthropic Messages', () => {
  let anthropic: FakeAnthropic;
  let gw: TestGateway;
  const config = (): GatewayConfigInput => ({
    providers: [{ id: 'an', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'ANTHROPIC_TEST_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'an', model: 'claude-sonnet-4-5' }] }],
  });
  interface Wire {
    system?: unknown;
    messages: Array<{ content: Array<{ type: string; text?: string; cache_control?: unknown }> }>;
    tools?: Array<{ name: string; cache_control?: unknown }>;
  }
  const lastBody = () => bodyOf<Wire>(anthropic.requests.at(-1));

  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ reply: { text: 'ok', usage: { cache_read_input_tokens: 900, cache_creation_input_tokens: 60 } } });
  });
  afterAll(() => anthropic.close());
  afterEach(() => gw?.close());

  it('sets cache_control on the system block, the marked blocks and the tool', async () => {
    gw = await startGateway(config());
    await gw.client.chat.completions.create(marked as unknown as Params);
    const body = lastBody();
    expect(body.system).toEqual([{ type: 'text', text: 'You are terse.', cache_control: mark }]);
    expect(body.messages[0].content).toEqual([
      { type: 'text', text: DOC, cache_control: { type: 'ephemeral', ttl: '1h' } },
      { type: 'text', text: 'Question one?' },
    ]);
    expect(body.messages[1].content).toEqual([{ type: 'text', text: 'Answer one.', cache_control: mark }]);
    expect(body.tools?.[0]).toEqual(expect.objectContaining({ name: 'lookup', cache_control: mark }));
  });

  it('sends at most four breakpoints, the last ones', async () => {
    gw = await startGateway(config());
    await gw.client.chat.completions.create(tooMany as unknown as Params);
    const body = lastBody();
    const marks = body.messages.flatMap((m) => m.content).filter((b) => b.cache_control);
    expect(marks.map((b) => b.text)).toEqual(['turn 2', 'turn 3', 'turn 4', 'turn 5']);
    expect(body.system).toEqual([{ type: 'text', text: 'sys' }]);
  });

  it('reports cached reads and writes, whole and streamed', async () => {
    gw = await startGateway(config());
    const whole = await gw.client.chat.completions.create(marked as unknown as Params);
    const details = { cached_tokens: 900, cache_write_tokens: 60 };
    expect((whole.usage as Usage).prompt_tokens_details).toEqual(details);
    expect(whole.usage!.prompt_tokens).toBeGreaterThan(960);
    const streamed = await streamUsage(gw, marked);
    expect(streamed?.prompt_tokens_details).toEqual(details);
    expect(streamed?.prompt_tokens).toBe(whole.usage!.prompt_tokens);
  });
});

describe('OpenAI targets', () => {
  let openai: FakeOpenAI;
  let gw: TestGateway;

  beforeAll(async () => {
    openai = await startFakeOpenAI({ reply: 'ok' });
  });
  afterAll(() => openai.close());
  afterEach(() => gw?.close());

  it('get no cache markers (OpenAI caches by itself) but do get prompt_cache_key', async () => {
    gw = await startGateway({
      providers: [{ id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o' }] }],
    });
    const res = await postJson(`${gw.url}/v1/chat/completions`, { ...marked, prompt_cache_key: 'conv-1' });
    expect(res.status).toBe(200);
    const body = bodyOf<Record<string, unknown>>(openai.requests.at(-1));
    expect(JSON.stringify(body)).not.toContain('cache_control');
    expect(body.prompt_cache_key).toBe('conv-1');
    expect((body.messages as Array<{ content: unknown }>)[1].content).toEqual([
      { type: 'text', text: DOC },
      { type: 'text', text: 'Question one?' },
    ]);
  });

  it('say in a debug log line that the markers were dropped, and the request is logged with its usage', async () => {
    const lines: string[] = [];
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o' }] }],
        observability: { logLevel: 'debug' },
      },
      'all-in-one',
      { observability: { destination: { write: (line: string) => lines.push(line) > 0 } } },
    );
    const res = await postJson(`${gw.url}/v1/chat/completions`, marked);
    expect(res.status).toBe(200);
    const note = lines.map((l) => JSON.parse(l) as { msg?: string; markers?: number; route?: string }).find((l) => l.msg?.includes('cache markers dropped'));
    expect(note).toEqual(expect.objectContaining({ markers: 4, route: 'oa/a/r/gpt-4o' }));
  });

  it('a malformed marker is a 400 that names it', async () => {
    gw = await startGateway({
      providers: [{ id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o' }] }],
    });
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'forever' } }] }] });
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: { message: string; param: string | null } }).error;
    expect(`${err.param} ${err.message}`).toContain('cache_control');
  });
});
