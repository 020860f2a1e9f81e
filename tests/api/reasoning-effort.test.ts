/**
 * `reasoning_effort` on POST /v1/chat/completions, called with the real OpenAI SDK: OpenAI
 * and OpenAI-compatible targets get it as sent; Claude (the Anthropic API, and Bedrock
 * Converse through the real AWS SDK) gets extended thinking with the effort's budget on top
 * of the answer's max_tokens, except where Claude's thinking rules forbid it (then no
 * thinking, and the log line's notes say why); targets that do not reason answer with a
 * note. Thinking never reaches the client, JSON or streamed, and usage stays Claude's.
 */
import { expect } from '@jest/globals';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { THINKING_BUDGETS } from '../../runtime/src/providers/translate/reasoning-effort';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';
import { postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { bodyOf } from '../helpers/wire-bodies';
import { LineCapture } from '../observability/capture';

type Effort = 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';
type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type Message = OpenAI.Chat.ChatCompletionMessageParam;

const THOUGHT = 'Let me weigh this carefully before I answer the question at hand.';
const TEXT = 'The answer, after thinking it over.';
const CLAUDE_BEDROCK = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const LOOKUP: OpenAI.Chat.ChatCompletionTool = { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } };

/** The assistant text a request prefills (a continued stream), '' when it ends with a user turn. */
function prefillOf(req: FakeAnthropicRequest): string {
  const last = req.messages?.at(-1);
  if (last?.role !== 'assistant') return '';
  return typeof last.content === 'string' ? last.content : (last.content as Array<{ text?: string }>).map((b) => b.text ?? '').join('');
}

interface AnthropicThinkingWire {
  max_tokens: number;
  thinking?: { type: string; budget_tokens: number };
  temperature?: number;
  tool_choice?: { type: string };
}
interface ConverseThinkingWire {
  inferenceConfig?: { maxTokens?: number; temperature?: number };
  additionalModelRequestFields?: { thinking?: { type: string; budget_tokens: number } };
}

describe('reasoning_effort', () => {
  let anthropic: FakeAnthropic;
  let bedrock: FakeBedrock;
  let openai: FakeOpenAI;
  let gw: TestGateway;
  const logs = new LineCapture();
  useFakeAwsCredentials();

  const config = (): GatewayConfigInput => ({
    providers: [
      { id: 'an', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'REASONING_ANTHROPIC_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] },
      // A second Anthropic provider on the same fake: another route to continue a broken stream on.
      { id: 'an2', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'REASONING_ANTHROPIC_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] },
      { id: 'br', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] },
      { id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] },
      { id: 'compat', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] },
      { id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 5000, seed: 7 }] }] },
    ],
    models: [
      { name: 'claude', targets: [{ provider: 'an', model: 'claude-sonnet-4-5' }] },
      { name: 'claude-old', targets: [{ provider: 'an', model: 'claude-3-5-haiku-latest' }] },
      { name: 'claude-adaptive', targets: [{ provider: 'an', model: 'claude-opus-4-7' }] },
      {
        name: 'claude-pair',
        targets: [
          { provider: 'an', model: 'claude-sonnet-4-5' },
          { provider: 'an2', model: 'claude-sonnet-4-5' },
        ],
      },
      { name: 'claude-bedrock', targets: [{ provider: 'br', model: CLAUDE_BEDROCK }] },
      { name: 'nova', targets: [{ provider: 'br', model: 'amazon.nova-pro-v1:0' }] },
      { name: 'gpt', targets: [{ provider: 'oa', model: 'gpt-5' }] },
      { name: 'compat', targets: [{ provider: 'compat', model: 'qwen3' }] },
      { name: 'sim', targets: [{ provider: 'sim', model: 'sim-model' }] },
    ],
  });

  beforeAll(async () => {
    process.env.REASONING_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    anthropic = await startFakeAnthropic({
      reply: (req) => {
        const done = prefillOf(req);
        if (done) return { text: TEXT.slice(done.length) };
        // With tools, a call, unless the request brings a tool's result.
        const last = req.messages?.at(-1)?.content;
        const result = Array.isArray(last) && (last as Array<{ type?: string }>).some((b) => b.type === 'tool_result');
        const forced = (req.tool_choice as { name?: string } | undefined)?.name;
        return req.tools?.length && !result ? { thinking: THOUGHT, toolUses: [{ name: forced ?? 'lookup', input: { q: 'x' } }] } : { thinking: THOUGHT, text: TEXT };
      },
    });
    bedrock = await startFakeBedrock({ reply: { reasoning: THOUGHT, text: TEXT } });
    openai = await startFakeOpenAI({ reply: TEXT });
    gw = await startGateway(config(), 'all-in-one', { observability: { destination: logs } });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([anthropic.close(), bedrock.close(), openai.close()]);
    delete process.env.REASONING_ANTHROPIC_KEY;
  });

  const ask = (model: string, more: Partial<Params> = {}) =>
    gw.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Think, then answer.' }], ...more }).withResponse();
  const anthropicWire = () => bodyOf<AnthropicThinkingWire>(anthropic.requests.at(-1));
  const converseWire = () => bodyOf<ConverseThinkingWire>(bedrock.requests.at(-1));
  const notesOf = async (requestId: string | null): Promise<string> => {
    expect(await until(() => logs.requests().some((l) => l.requestId === requestId))).toBe(true);
    return ((logs.requests().find((l) => l.requestId === requestId)?.notes as string[] | undefined) ?? []).join(' | ');
  };

  describe('what each target receives', () => {
    it.each(['low', 'medium', 'high', 'xhigh'] as const)('Anthropic API, %s: thinking with its budget, max_tokens the budget plus the answer cap', async (effort) => {
      const budget = THINKING_BUDGETS[effort];
      await ask('claude', { reasoning_effort: effort });
      expect(anthropicWire()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: budget }, max_tokens: budget + 4096 });
      await ask('claude', { reasoning_effort: effort, max_tokens: 300 });
      expect(anthropicWire()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: budget }, max_tokens: budget + 300 });
    });

    it.each(['none', 'minimal'] as const)('Anthropic API, %s: no thinking, the plain request', async (effort) => {
      await ask('claude', { reasoning_effort: effort, max_tokens: 300 });
      expect(anthropicWire()).not.toHaveProperty('thinking');
      expect(anthropicWire().max_tokens).toBe(300);
    });

    it.each(['low', 'medium', 'high'] as const)('Claude on Bedrock Converse, %s: thinking in additionalModelRequestFields, maxTokens raised', async (effort) => {
      const budget = THINKING_BUDGETS[effort];
      await ask('claude-bedrock', { reasoning_effort: effort, max_tokens: 500 });
      expect(converseWire().additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: budget } });
      expect(converseWire().inferenceConfig?.maxTokens).toBe(budget + 500);
    });

    it('Claude on Bedrock, minimal: nothing extra', async () => {
      await ask('claude-bedrock', { reasoning_effort: 'minimal', max_tokens: 500 });
      expect(converseWire()).not.toHaveProperty('additionalModelRequestFields');
      expect(converseWire().inferenceConfig?.maxTokens).toBe(500);
    });

    it.each(['gpt', 'compat'])('OpenAI-style target %s: reasoning_effort as sent', async (model) => {
      for (const effort of ['none', 'minimal', 'low', 'medium', 'high'] as const) {
        await ask(model, { reasoning_effort: effort });
        expect(bodyOf<{ reasoning_effort?: string }>(openai.requests.at(-1)).reasoning_effort).toBe(effort);
      }
    });

    it('a Converse model other than Claude, the simulated provider and a Claude without a thinking budget answer, with a note', async () => {
      const novaCalls = bedrock.requests.length;
      const nova = await ask('nova', { reasoning_effort: 'high' });
      expect(nova.data.choices[0].message.content).toBe(TEXT);
      expect(bedrock.requests.length).toBe(novaCalls + 1);
      expect(converseWire()).not.toHaveProperty('additionalModelRequestFields');
      expect(await notesOf(nova.response.headers.get('x-request-id'))).toContain('reasoning_effort "high" not sent: Converse takes it for Claude models only');

      const sim = await ask('sim', { reasoning_effort: 'low' });
      expect(sim.data.choices[0].message.content).toBeTruthy();
      expect(await notesOf(sim.response.headers.get('x-request-id'))).toContain('reasoning_effort "low" not sent: the target does not reason');

      // Claude before 3.7 cannot think; from 4.7 on Claude refuses a budget (adaptive thinking only).
      for (const [model, id] of [
        ['claude-old', 'claude-3-5-haiku-latest'],
        ['claude-adaptive', 'claude-opus-4-7'],
      ]) {
        const res = await ask(model, { reasoning_effort: 'medium' });
        expect(anthropicWire()).not.toHaveProperty('thinking');
        expect(await notesOf(res.response.headers.get('x-request-id'))).toContain(`${id} is not known to take a thinking budget`);
      }
    });
  });

  describe("Claude's rules for thinking", () => {
    it('a temperature other than 1 is kept and the request goes without thinking, noted; temperature 1 thinks', async () => {
      const cold = await ask('claude', { reasoning_effort: 'high', temperature: 0.2 });
      expect(anthropicWire()).not.toHaveProperty('thinking');
      expect(anthropicWire().temperature).toBe(0.2);
      expect(await notesOf(cold.response.headers.get('x-request-id'))).toContain('reasoning_effort "high" sent without thinking: temperature 0.2');

      await ask('claude-bedrock', { reasoning_effort: 'high', temperature: 0.2 });
      expect(converseWire()).not.toHaveProperty('additionalModelRequestFields');
      expect(converseWire().inferenceConfig?.temperature).toBe(0.2);

      await ask('claude', { reasoning_effort: 'low', temperature: 1 });
      expect(anthropicWire()).toMatchObject({ thinking: { type: 'enabled' }, temperature: 1 });
    });

    it('a forced tool call (required or a named tool) goes without thinking, noted; auto thinks', async () => {
      for (const tool_choice of ['required', { type: 'function', function: { name: 'lookup' } }] as const) {
        const res = await ask('claude', { reasoning_effort: 'medium', tools: [LOOKUP], tool_choice });
        expect(res.response.status).toBe(200);
        expect(anthropicWire()).not.toHaveProperty('thinking');
        expect(await notesOf(res.response.headers.get('x-request-id'))).toContain('forces a tool call');
        await ask('claude-bedrock', { reasoning_effort: 'medium', tools: [LOOKUP], tool_choice });
        expect(converseWire()).not.toHaveProperty('additionalModelRequestFields');
      }
      // A structured output Claude answers through a tool it is made to call: the same rule.
      const schema = { type: 'object', properties: { q: { type: 'string' } } };
      const structured = await ask('claude', { reasoning_effort: 'medium', response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } } });
      expect(JSON.parse(structured.data.choices[0].message.content!)).toEqual({ q: 'x' });
      expect(anthropicWire()).toMatchObject({ tool_choice: { type: 'tool' } });
      expect(anthropicWire()).not.toHaveProperty('thinking');
      expect(await notesOf(structured.response.headers.get('x-request-id'))).toContain('forces a tool call');

      const auto = await ask('claude', { reasoning_effort: 'medium', tools: [LOOKUP], tool_choice: 'auto' });
      expect(anthropicWire()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: THINKING_BUDGETS.medium } });
      expect(auto.data.choices[0].message.tool_calls?.[0]).toMatchObject({ function: { name: 'lookup' } });
    });

    it("a tool call's continuation goes without thinking (its thinking block cannot come back in chat), noted; the next user turn thinks", async () => {
      const continuing: Message[] = [
        { role: 'user', content: 'Look it up.' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'found: 42' },
      ];
      for (const model of ['claude', 'claude-bedrock']) {
        const res = await gw.client.chat.completions.create({ model, messages: continuing, tools: [LOOKUP], reasoning_effort: 'high' }).withResponse();
        expect(res.data.choices[0].message.content).toBe(TEXT);
        expect(await notesOf(res.response.headers.get('x-request-id'))).toContain('continues a tool call');
      }
      expect(anthropic.requests.at(-1)!.body).not.toHaveProperty('thinking');
      expect(converseWire()).not.toHaveProperty('additionalModelRequestFields');

      const nextTurn: Message[] = [...continuing, { role: 'assistant', content: 'It is 42.' }, { role: 'user', content: 'Why?' }];
      await gw.client.chat.completions.create({ model: 'claude', messages: nextTurn, tools: [LOOKUP], reasoning_effort: 'high' });
      expect(anthropicWire()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: THINKING_BUDGETS.high } });
    });
  });

  describe('answers', () => {
    it.each(['claude', 'claude-bedrock'])('%s, JSON: the text without the thinking, usage as Claude counted it (thinking in completion tokens)', async (model) => {
      const res = await ask(model, { reasoning_effort: 'medium' });
      const message = res.data.choices[0].message;
      expect(message.content).toBe(TEXT);
      expect(JSON.stringify(res.data)).not.toContain('weigh this');
      const usage = res.data.usage!;
      // The fakes count about 4 characters a token of everything answered, thinking included.
      expect(usage.completion_tokens).toBeGreaterThan(Math.ceil(TEXT.length / 4) + 5);
      expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
      expect(usage).not.toHaveProperty('completion_tokens_details');
    });

    it.each(['claude', 'claude-bedrock'])('%s, streamed: text chunks only, one usage chunk', async (model) => {
      const stream = await gw.client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Think, then answer.' }],
        reasoning_effort: 'high',
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      const usages: OpenAI.CompletionUsage[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usages.push(chunk.usage);
      }
      expect(text).toBe(TEXT);
      expect(finish).toBe('stop');
      expect(usages).toHaveLength(1);
      expect(usages[0].completion_tokens).toBeGreaterThan(Math.ceil(TEXT.length / 4) + 5);
    });

    it('a stream broken after the thinking and some text is continued on another route (prefilled, so without thinking) and arrives whole', async () => {
      const before = anthropic.requests.length;
      // Thinking deltas and its signature count as content events: cut two words into the text.
      const thinkingEvents = (THOUGHT.match(/\s*\S+/g) ?? []).length + 1;
      anthropic.faults.push({ kind: 'cut', afterChunks: thinkingEvents + 2 });
      const { data: stream, response } = await gw.client.chat.completions
        .create({ model: 'claude-pair', messages: [{ role: 'user', content: 'Think, then answer.' }], reasoning_effort: 'low', stream: true })
        .withResponse();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(TEXT);
      const notes = await notesOf(response.headers.get('x-request-id'));
      expect(notes).toContain('reasoning_effort "low": thinking budget 1024 tokens');
      expect(notes).toContain('ends with an assistant message');
      const sent = anthropic.requests.slice(before).map((r) => r.body as AnthropicThinkingWire & { messages: Array<{ role: string }> });
      expect(sent).toHaveLength(2);
      expect(sent[0].thinking).toEqual({ type: 'enabled', budget_tokens: THINKING_BUDGETS.low });
      expect(sent[1].messages.at(-1)?.role).toBe('assistant');
      expect(sent[1]).not.toHaveProperty('thinking');
    });
  });

  it('any other value is a 400 naming reasoning_effort and the values it takes, and nothing is sent', async () => {
    const before = anthropic.requests.length;
    for (const value of ['extreme', 3, '']) {
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'claude', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: value });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as ErrorBody;
      expect(error.param).toBe('reasoning_effort');
      expect(error.type).toBe('invalid_request_error');
      expect(error.message).toContain('"none", "minimal", "low", "medium", "high", "xhigh"');
    }
    expect(anthropic.requests.length).toBe(before);
  });
});

describe('reasoning_effort at admission and through a proxy', () => {
  let anthropic: FakeAnthropic;
  let openai: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    process.env.REASONING_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    anthropic = await startFakeAnthropic({ reply: { thinking: THOUGHT, text: TEXT } });
    openai = await startFakeOpenAI({ reply: TEXT });
    spoke = await startGateway(
      {
        providers: [
          {
            id: 'an',
            type: 'anthropic',
            accounts: [{ id: 'a', credentials: { env: 'REASONING_ANTHROPIC_KEY' }, limits: { '*': { tpm: 10_000 } }, endpoints: [{ region: 'r', url: anthropic.url }] }],
          },
          { id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: openai.url }] }] },
        ],
        models: [
          { name: 'claude', targets: [{ provider: 'an', model: 'claude-sonnet-4-5' }] },
          { name: 'gpt', targets: [{ provider: 'oa', model: 'gpt-5' }] },
        ],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway(
      {
        spokes: [{ id: 'spoke-a', url: spoke.url }],
        models: ['claude', 'gpt'].map((name) => ({ name, targets: [{ provider: 'spokes', model: name }] })),
      },
      'proxy',
      { probes: false },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await Promise.all([anthropic.close(), openai.close()]);
    delete process.env.REASONING_ANTHROPIC_KEY;
  });

  const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

  it("counts the thinking budget against a route's tokens per minute: max_tokens 100 fits, with the high budget it cannot", async () => {
    const ask = (reasoning_effort: Effort) => client(spoke.url).chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100, reasoning_effort });
    expect((await ask('minimal')).choices[0].message.content).toBe(TEXT);
    const before = anthropic.requests.length;
    const err = await ask('high').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('tokens_over_route_limit');
    expect(anthropic.requests.length).toBe(before);
  });

  it("reaches the spoke's targets through the proxy: thinking for Claude, as sent for OpenAI, JSON and streamed", async () => {
    const answer = await client(proxy.url).chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'low' });
    expect(answer.choices[0].message.content).toBe(TEXT);
    expect(bodyOf<AnthropicThinkingWire>(anthropic.requests.at(-1))).toMatchObject({
      thinking: { type: 'enabled', budget_tokens: THINKING_BUDGETS.low },
      max_tokens: THINKING_BUDGETS.low + 4096,
    });

    const stream = await client(proxy.url).chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'medium', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(TEXT);
    expect(bodyOf<AnthropicThinkingWire>(anthropic.requests.at(-1)).thinking).toEqual({ type: 'enabled', budget_tokens: THINKING_BUDGETS.medium });

    await client(proxy.url).chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'high' });
    expect(bodyOf<{ reasoning_effort?: string }>(openai.requests.at(-1)).reasoning_effort).toBe('high');
  });

  it('a value no target takes is a 400 naming reasoning_effort from the proxy, and nothing reaches a spoke target', async () => {
    const before = anthropic.requests.length + openai.requests.length;
    const res = await postJson(`${proxy.url}/v1/chat/completions`, { model: 'claude', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'maximum' });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.param).toBe('reasoning_effort');
    expect(error.message).toContain('expected one of "none", "minimal", "low", "medium", "high", "xhigh"');
    expect(anthropic.requests.length + openai.requests.length).toBe(before);
  });
});
