/**
 * response_format through the gateway, called with the real OpenAI SDK: passed through to
 * OpenAI-style targets, Bedrock Converse (real SDK against the fake) and Anthropic by
 * native structured output or by a forced answer tool whose input comes back as the
 * answer's content (streams included), simulated answers that follow the schema, and
 * strict answers validated: a bad one is a failed attempt of its route, the next route
 * is tried, and when none is left the client gets 502 invalid_structured_output.
 */
import { expect } from '@jest/globals';
import Ajv2020 from 'ajv/dist/2020';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import * as z from 'zod';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeAnthropic, FAKE_ANTHROPIC_KEY, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { startFakeBedrock, type BedrockRecordedRequest, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { bodyOf, type ConverseWire } from '../helpers/wire-bodies';

const SCHEMA = {
  type: 'object',
  properties: { city: { type: 'string' }, population: { type: 'integer' } },
  required: ['city', 'population'],
  additionalProperties: false,
};
const ANSWER = { city: 'Paris', population: 2102650 };
const FORMAT = { type: 'json_schema' as const, json_schema: { name: 'city_facts', schema: SCHEMA, strict: true } };
const ask = (extra: Record<string, unknown> = {}) => ({ model: 'chat', messages: [{ role: 'user' as const, content: 'Facts about Paris?' }], response_format: FORMAT, ...extra });
const matchesSchema = new Ajv2020().compile(SCHEMA);

type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type StreamParams = OpenAI.Chat.ChatCompletionCreateParamsStreaming;

async function streamOf(gw: TestGateway, body: Record<string, unknown>) {
  const stream = await gw.client.chat.completions.create({ ...body, stream: true } as StreamParams);
  let content = '';
  const finishes: string[] = [];
  let toolDeltas = 0;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    content += choice?.delta.content ?? '';
    if (choice?.delta.tool_calls) toolDeltas++;
    if (choice?.finish_reason) finishes.push(choice.finish_reason);
  }
  return { content, finishes, toolDeltas };
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

describe('simulated targets answer JSON that follows the schema', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({
      providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 5000, seed: 3 }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'sim-model' }] }],
    });
  });
  afterAll(() => gw.close());

  it('json_object and json_schema, whole and streamed', async () => {
    const object = await gw.client.chat.completions.create(ask({ response_format: { type: 'json_object' } }) as Params);
    expect(typeof JSON.parse(object.choices[0].message.content!)).toBe('object');

    const whole = await gw.client.chat.completions.create(ask() as Params);
    expect(matchesSchema(JSON.parse(whole.choices[0].message.content!))).toBe(true);
    expect(whole.choices[0].finish_reason).toBe('stop');

    const streamed = await streamOf(gw, ask());
    expect(matchesSchema(JSON.parse(streamed.content))).toBe(true);
  });

  it('works with the SDK parse helper and a zod schema', async () => {
    const Facts = z.object({ city: z.string(), population: z.number().int(), districts: z.array(z.object({ name: z.string(), area_km2: z.number() })) });
    const parsed = await gw.client.chat.completions.parse({
      model: 'chat',
      messages: [{ role: 'user', content: 'Facts about Paris?' }],
      response_format: zodResponseFormat(Facts, 'city_facts'),
    });
    const facts = parsed.choices[0].message.parsed!;
    expect(Facts.parse(facts)).toEqual(facts);
    expect(facts.districts.length).toBeGreaterThan(0);
    // zod's integers carry the safe-integer range: a sample from inside it, not its edge.
    expect(facts.population).toBe(1);
  });
});

describe('OpenAI-style targets get response_format as it is', () => {
  let up: FakeOpenAI;
  let gw: TestGateway;
  beforeAll(async () => {
    up = await startFakeOpenAI({ reply: JSON.stringify(ANSWER) });
    gw = await startGateway({
      providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: up.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('passes json_schema through, whole and streamed', async () => {
    const whole = await gw.client.chat.completions.create(ask() as Params);
    expect(JSON.parse(whole.choices[0].message.content!)).toEqual(ANSWER);
    expect((up.requests.at(-1)!.body as { response_format: unknown }).response_format).toEqual(FORMAT);
    const streamed = await streamOf(gw, ask({ response_format: { type: 'json_object' } }));
    expect(JSON.parse(streamed.content)).toEqual(ANSWER);
    expect((up.requests.at(-1)!.body as { response_format: unknown }).response_format).toEqual({ type: 'json_object' });
  });
});

/** The fake model: calls the tool the request forces (or the first one when any must be called), else answers in text. */
function bedrockModel(input: Record<string, unknown> = ANSWER, text = JSON.stringify(ANSWER)) {
  return (req: BedrockRecordedRequest) => {
    const body = req.body as { toolConfig?: { tools: Array<{ toolSpec: { name: string } }>; toolChoice?: { tool?: { name: string }; any?: object } } };
    const choice = body.toolConfig?.toolChoice;
    const name = choice?.tool?.name ?? (choice?.any ? body.toolConfig!.tools.at(-1)!.toolSpec.name : undefined);
    return name ? { toolCalls: [{ name, input }] } : { text };
  };
}

describe('Bedrock Converse', () => {
  let bedrock: FakeBedrock;
  let gw: TestGateway;
  const config = (model: string, extra: Record<string, unknown> = {}): GatewayConfigInput => ({
    providers: [{ id: 'br', type: 'bedrock', accounts: [{ id: 'a', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'br', model, ...extra }] }],
  });
  const lastBody = () => bodyOf<ConverseWire>(bedrock.requests.at(-1));
  const toolConfig = () => lastBody().toolConfig!;

  beforeAll(async () => {
    bedrock = await startFakeBedrock({ reply: bedrockModel() });
  });
  afterAll(() => bedrock.close());
  afterEach(() => gw?.close());

  it('uses native structured output (outputConfig.textFormat) on models that have it', async () => {
    gw = await startGateway(config('us.anthropic.claude-sonnet-4-5-20250929-v1:0'));
    const whole = await gw.client.chat.completions.create(ask() as Params);
    expect(JSON.parse(whole.choices[0].message.content!)).toEqual(ANSWER);
    const format = lastBody().outputConfig!.textFormat;
    expect(format.type).toBe('json_schema');
    expect(JSON.parse(format.structure.jsonSchema.schema)).toEqual(SCHEMA);
    expect(format.structure.jsonSchema.name).toBe('city_facts');
    expect(lastBody().toolConfig).toBeUndefined();

    const streamed = await streamOf(gw, ask());
    expect(JSON.parse(streamed.content)).toEqual(ANSWER);
  });

  it('forces an answer tool elsewhere and unwraps its input into content, whole and streamed', async () => {
    gw = await startGateway(config('amazon.nova-pro-v1:0'));
    const whole = await gw.client.chat.completions.create(ask() as Params);
    const message = whole.choices[0].message;
    expect(JSON.parse(message.content!)).toEqual(ANSWER);
    expect(message.tool_calls).toBeUndefined();
    expect(whole.choices[0].finish_reason).toBe('stop');
    expect(lastBody().outputConfig).toBeUndefined();
    expect(toolConfig().toolChoice).toEqual({ tool: { name: 'city_facts' } });
    expect(toolConfig().tools[0].toolSpec.inputSchema.json).toEqual(SCHEMA);

    const streamed = await streamOf(gw, ask());
    expect(JSON.parse(streamed.content)).toEqual(ANSWER);
    expect(streamed.finishes).toEqual(['stop']);
    expect(streamed.toolDeltas).toBe(0);
  });

  it('takes the target override, json_object, and schemas that are not objects', async () => {
    gw = await startGateway(config('anthropic.claude-sonnet-4-5-20250929-v1:0', { structuredOutput: 'tool' }));
    await gw.client.chat.completions.create(ask() as Params);
    expect(toolConfig().toolChoice?.tool?.name).toBe('city_facts');
    expect(lastBody().outputConfig).toBeUndefined();

    const object = await gw.client.chat.completions.create(ask({ response_format: { type: 'json_object' } }) as Params);
    expect(JSON.parse(object.choices[0].message.content!)).toEqual(ANSWER);
    expect(toolConfig().tools[0].toolSpec.inputSchema.json).toEqual({ type: 'object' });
    await gw.close();

    // An array at the root: the tool takes { value } and the answer is the value.
    bedrock.reply = bedrockModel({ value: ['Paris', 'Lyon'] });
    gw = await startGateway(config('amazon.nova-pro-v1:0'));
    const list = { type: 'json_schema', json_schema: { name: 'cities', schema: { type: 'array', items: { type: 'string' } }, strict: true } };
    const whole = await gw.client.chat.completions.create(ask({ response_format: list }) as Params);
    expect(JSON.parse(whole.choices[0].message.content!)).toEqual(['Paris', 'Lyon']);
    const streamed = await streamOf(gw, ask({ response_format: list }));
    expect(JSON.parse(streamed.content)).toEqual(['Paris', 'Lyon']);
    bedrock.reply = bedrockModel();
  });

  it('keeps client tools meaningful: a call of one is a tool call answer', async () => {
    gw = await startGateway(config('amazon.nova-pro-v1:0'));
    const tools = [{ type: 'function', function: { name: 'city_facts', description: 'Looks a city up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    bedrock.reply = () => ({ toolCalls: [{ name: 'city_facts', input: { q: 'Paris' } }] });
    const answer = await gw.client.chat.completions.create(ask({ tools }) as Params);
    // The answer tool does not take the client tool's name, and the model must call one of them.
    expect(toolConfig().tools.map((t) => t.toolSpec.name)).toEqual(['city_facts', 'city_facts_answer']);
    expect(toolConfig().toolChoice).toEqual({ any: {} });
    expect(answer.choices[0].finish_reason).toBe('tool_calls');
    const call = answer.choices[0].message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: 'city_facts', arguments: JSON.stringify({ q: 'Paris' }) });
    bedrock.reply = bedrockModel();
  });
});

describe('Anthropic Messages', () => {
  let anthropic: FakeAnthropic;
  let gw: TestGateway;
  const requests: FakeAnthropicRequest[] = [];
  const config = (model: string): GatewayConfigInput => ({
    providers: [{ id: 'an', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'ANTHROPIC_TEST_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'an', model }] }],
  });
  beforeAll(async () => {
    anthropic = await startFakeAnthropic({
      reply: (req) => {
        requests.push(req);
        const choice = req.tool_choice as { type: string; name?: string } | undefined;
        return choice?.type === 'tool' ? { toolUses: [{ name: choice.name!, input: ANSWER }] } : { text: JSON.stringify(ANSWER) };
      },
    });
  });
  afterAll(() => anthropic.close());
  afterEach(() => gw?.close());

  it('uses output_config.format on Claude 4.5 and later', async () => {
    gw = await startGateway(config('claude-sonnet-4-5-20250929'));
    const whole = await gw.client.chat.completions.create(ask() as Params);
    expect(JSON.parse(whole.choices[0].message.content!)).toEqual(ANSWER);
    expect(requests.at(-1)!.output_config).toEqual({ format: { type: 'json_schema', schema: SCHEMA } });
    expect(requests.at(-1)!.tools).toBeUndefined();
    const streamed = await streamOf(gw, ask());
    expect(JSON.parse(streamed.content)).toEqual(ANSWER);
  });

  it('forces an answer tool on older models, whole and streamed', async () => {
    gw = await startGateway(config('claude-3-5-haiku-20241022'));
    const whole = await gw.client.chat.completions.create(ask() as Params);
    expect(JSON.parse(whole.choices[0].message.content!)).toEqual(ANSWER);
    expect(whole.choices[0].finish_reason).toBe('stop');
    expect(requests.at(-1)!.tool_choice).toEqual({ type: 'tool', name: 'city_facts' });
    expect(requests.at(-1)!.output_config).toBeUndefined();
    const streamed = await streamOf(gw, ask());
    expect(JSON.parse(streamed.content)).toEqual(ANSWER);
    expect(streamed.finishes).toEqual(['stop']);
    expect(streamed.toolDeltas).toBe(0);
  });

  it('takes json_object by the answer tool, whatever the model', async () => {
    gw = await startGateway(config('claude-sonnet-4-5'));
    const whole = await gw.client.chat.completions.create(ask({ response_format: { type: 'json_object' } }) as Params);
    expect(JSON.parse(whole.choices[0].message.content!)).toEqual(ANSWER);
    expect(requests.at(-1)!.tool_choice).toEqual({ type: 'tool', name: 'json_answer' });
    expect(requests.at(-1)!.tools).toEqual([expect.objectContaining({ name: 'json_answer', input_schema: { type: 'object' } })]);
  });
});

describe('strict: true', () => {
  let bad: FakeOpenAI;
  let good: FakeOpenAI;
  let gw: TestGateway;
  const config = (targets: string[]): GatewayConfigInput => ({
    providers: [
      {
        id: 'bad',
        type: 'openai-compatible',
        accounts: [
          { id: 'a', endpoints: [{ region: 'r', url: bad.url }] },
          { id: 'b', endpoints: [{ region: 'r', url: bad.url }] },
        ],
      },
      { id: 'good', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: good.url }] }] },
    ],
    models: [{ name: 'chat', targets: targets.map((provider) => ({ provider, model: 'gpt-test' })) }],
  });
  beforeAll(async () => {
    bad = await startFakeOpenAI({ reply: JSON.stringify({ city: 'Paris' }) }); // population missing
    good = await startFakeOpenAI({ reply: JSON.stringify(ANSWER) });
  });
  afterAll(async () => {
    await bad.close();
    await good.close();
  });
  afterEach(() => gw?.close());

  it('moves past a route whose answer does not validate, without ejecting it', async () => {
    gw = await startGateway(config(['bad', 'good']));
    const res = await postJson(`${gw.url}/v1/chat/completions`, ask());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-route')).toBe('good/a/r/gpt-test');
    expect(res.headers.get('x-gateway-attempts')).toBe('3');
    expect(JSON.parse((await jsonOf<OpenAI.Chat.ChatCompletion>(res)).choices[0].message.content!)).toEqual(ANSWER);
    for (const account of ['a', 'b']) expect(gw.gateway.stats.get(`bad/${account}/r/gpt-test`).circuit.state()).toBe('closed');

    // Streamed: held until validated, then sent whole.
    const streamed = await streamOf(gw, ask());
    expect(JSON.parse(streamed.content)).toEqual(ANSWER);
  });

  it('answers 502 invalid_structured_output when no route produced a valid answer', async () => {
    gw = await startGateway(config(['bad']));
    const res = await postJson(`${gw.url}/v1/chat/completions`, ask());
    expect(res.status).toBe(502);
    const { error } = await jsonOf<ErrorBody>(res);
    expect(error).toMatchObject({ code: 'invalid_structured_output', param: 'response_format', type: 'api_error' });
    expect(error.message).toContain('bad/a/r/gpt-test');
    expect(error.message).toContain('bad/b/r/gpt-test');
    expect(error.message).toContain("must have required property 'population'");

    const streamed = await gw.client.chat.completions.create({ ...ask(), stream: true } as StreamParams).catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(OpenAI.APIError);
    expect((streamed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it('checks nothing without strict, and refuses a schema that is not JSON Schema', async () => {
    gw = await startGateway(config(['bad']));
    const loose = await postJson(`${gw.url}/v1/chat/completions`, ask({ response_format: { ...FORMAT, json_schema: { ...FORMAT.json_schema, strict: false } } }));
    expect(loose.status).toBe(200);
    const broken = await postJson(`${gw.url}/v1/chat/completions`, ask({ response_format: { ...FORMAT, json_schema: { ...FORMAT.json_schema, schema: { type: 'no-such-type' } } } }));
    expect(broken.status).toBe(400);
    expect((await jsonOf<ErrorBody>(broken)).error).toMatchObject({ code: 'invalid_json_schema', param: 'response_format.json_schema.schema' });
  });
});

describe('a JSON stream broken after its first bytes', () => {
  it('is not continued elsewhere (half a JSON value cannot be): it ends with an error event', async () => {
    const [first, second] = await Promise.all([startFakeOpenAI({ reply: JSON.stringify(ANSWER), chunks: 8 }), startFakeOpenAI({ reply: JSON.stringify(ANSWER) })]);
    const gw = await startGateway({
      providers: [
        { id: 'one', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: first.url }] }] },
        { id: 'two', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: second.url }] }] },
      ],
      models: [
        {
          name: 'chat',
          targets: [
            { provider: 'one', model: 'm' },
            { provider: 'two', model: 'm' },
          ],
        },
      ],
    });
    try {
      first.faults.push({ kind: 'cut', afterChunks: 3 });
      const res = await postJson(`${gw.url}/v1/chat/completions`, ask({ stream: true, response_format: { type: 'json_object' } }));
      const events = (await res.text()).split('\n\n').filter(Boolean);
      expect(events.at(-1)).not.toBe('data: [DONE]');
      expect((JSON.parse(events.at(-1)!.slice(6)) as ErrorBody).error.code).toBe('stream_interrupted');
      expect(second.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
    } finally {
      await gw.close();
      await Promise.all([first.close(), second.close()]);
    }
  });
});
