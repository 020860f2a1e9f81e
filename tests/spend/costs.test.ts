/**
 * Every answered request gets a cost from its real usage at the price of the route that
 * served it: cached input at the cached rate, streams, and streams continued on another
 * route (each part at its own route's price). It is on the JSON answer (x-gateway-cost-usd),
 * the log line, EMF, /metrics and the tenant's spend on /status.
 */
import OpenAI from 'openai';
import { hashKey } from '../../runtime/src/tenants/auth';
import { estimatePromptTokens, estimateTokens } from '../../runtime/src/quota/token-estimate';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture, parsePrometheus, valueOf } from '../observability/capture';
import { perMTok, PRICED_CHAT, reporting, usage } from './helpers';
import { LOOPBACK_OPERATORS } from '../helpers/operators';

const MESSAGES = [{ role: 'user' as const, content: 'Tell me something.' }];

describe('what each answer cost', () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let gw: TestGateway;
  let logs: LineCapture;
  let client: OpenAI;

  beforeAll(async () => {
    a = await startFakeOpenAI({ ...reporting(usage(1000, 500, 400)), reply: 'The first account answers in four parts, at length.', chunks: 4 });
    b = await startFakeOpenAI({ ...reporting(usage(2000, 100)), reply: 'The second account finishes the answer.', chunks: 2 });
    logs = new LineCapture();
    gw = await startGateway(
      {
        providers: [
          { id: 'cheap', type: 'openai-compatible', accounts: [{ id: 'x', endpoints: [{ region: 'r', url: a.url }] }] },
          { id: 'dear', type: 'openai-compatible', accounts: [{ id: 'y', endpoints: [{ region: 'r', url: b.url }] }] },
        ],
        models: [PRICED_CHAT],
        tenants: [{ id: 'team', keys: [hashKey('key-team')] }],
        operators: LOOPBACK_OPERATORS,
        observability: { emf: true },
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-team', maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });

  // 600 input at 1, 400 cached at 0.5, 500 output at 2 (USD per million tokens).
  const FIRST = 600 * perMTok(1) + 400 * perMTok(0.5) + 500 * perMTok(2);

  it('prices a JSON answer from its usage, cached input at the cached rate', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'chat', messages: MESSAGES }).withResponse();
    expect(data.usage?.prompt_tokens_details?.cached_tokens).toBe(400);
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(FIRST, 12);
    await until(() => logs.requests().length >= 1);
    expect(logs.requests()[0]).toMatchObject({ tenant: 'team', status: 200 });
    expect(logs.requests()[0].costUsd).toBeCloseTo(FIRST, 12);
    const emf = logs.emf()[0] as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } };
    expect(emf.CostUsd).toBeCloseTo(FIRST, 12);
    expect(emf.Tenant).toBe('team');
    expect(emf._aws.CloudWatchMetrics[1]).toEqual({ Namespace: 'AIGateway', Dimensions: [['Service', 'Tenant']], Metrics: [{ Name: 'CostUsd', Unit: 'None' }] });
  });

  it('prices a stream from its final usage chunk', async () => {
    const before = logs.requests().length;
    const stream = await client.chat.completions.create({ model: 'chat', messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
    let last: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    for await (const chunk of stream) last = chunk;
    expect(last?.usage).toEqual(usage(1000, 500, 400)); // nothing of the gateway's own in it
    await until(() => logs.requests().length > before);
    expect(logs.requests()[before].costUsd).toBeCloseTo(FIRST, 12);
  });

  it('prices a stream continued on another route at each route’s price', async () => {
    const before = logs.requests().length;
    a.faults.push({ kind: 'cut', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'chat', messages: MESSAGES, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    await until(() => logs.requests().length > before);
    const line = logs.requests()[before];
    expect(line.continuations).toBe(1);
    // The broken part: its prompt and the text it sent (estimated, no usage came) at the cheap price;
    // the rest: the continuation's reported usage at the dear price.
    const sentByA = text.slice(0, text.length - 'The second account finishes the answer.'.length);
    const prompt = estimatePromptTokens({ model: 'chat', messages: MESSAGES });
    const partA = prompt * perMTok(1) + estimateTokens(sentByA) * perMTok(2);
    const partB = 2000 * perMTok(10) + 100 * perMTok(30);
    expect(sentByA.length).toBeGreaterThan(0);
    expect(line.costUsd).toBeCloseTo(partA + partB, 12);
  });

  it('counts the spend per tenant and model in /metrics and per tenant on /status', async () => {
    const lines = logs.requests();
    const total = lines.reduce((sum, l) => sum + (l.costUsd as number), 0);
    const samples = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(valueOf(samples, 'gateway_cost_usd_total', { tenant: 'team', model: 'chat' })).toBeCloseTo(total, 12);
    const status = (await (await fetch(`${gw.url}/status.json`)).json()) as { spend: { tenant: string; today: { date: string; usd: number }; month: { month: string; usd: number } }[] };
    const today = new Date().toISOString();
    expect(status.spend).toHaveLength(1);
    expect(status.spend[0]).toMatchObject({ tenant: 'team', today: { date: today.slice(0, 10) }, month: { month: today.slice(0, 7) }, inFlightUsd: 0 });
    expect(status.spend[0].today.usd).toBeCloseTo(total, 9);
    expect(status.spend[0].month.usd).toBeCloseTo(total, 9);
  });
});

describe('strict answers rejected for their shape', () => {
  const SCHEMA = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false };
  const STRICT = { type: 'json_schema' as const, json_schema: { name: 'verdict', strict: true, schema: SCHEMA } };
  const BAD = 100 * perMTok(1) + 50 * perMTok(2);
  const GOOD = 200 * perMTok(10) + 20 * perMTok(30);
  let bad: FakeOpenAI;
  let good: FakeOpenAI;
  let gw: TestGateway;
  let logs: LineCapture;
  let client: OpenAI;
  let goodReply = '{"ok":true}';

  beforeAll(async () => {
    bad = await startFakeOpenAI({ ...reporting(usage(100, 50)), reply: 'Certainly! Here is no JSON at all.' });
    good = await startFakeOpenAI({ ...reporting(usage(200, 20)), reply: () => goodReply });
    logs = new LineCapture();
    gw = await startGateway(
      {
        providers: [
          { id: 'cheap', type: 'openai-compatible', accounts: [{ id: 'x', endpoints: [{ region: 'r', url: bad.url }] }] },
          { id: 'dear', type: 'openai-compatible', accounts: [{ id: 'y', endpoints: [{ region: 'r', url: good.url }] }] },
        ],
        models: [PRICED_CHAT],
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await bad.close();
    await good.close();
  });

  it('are billed all the same: the answer costs the rejected one plus the one that passed', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'chat', messages: MESSAGES, response_format: STRICT }).withResponse();
    expect(data.choices[0].message.content).toBe('{"ok":true}');
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(BAD + GOOD, 12);
    await until(() => logs.requests().length >= 1);
    expect(logs.requests()[0].costUsd).toBeCloseTo(BAD + GOOD, 12);
  });

  it('a held stream too, and a request no route answered in shape still carries what it cost', async () => {
    const stream = await client.chat.completions.create({ model: 'chat', messages: MESSAGES, response_format: STRICT, stream: true });
    for await (const chunk of stream) void chunk;
    await until(() => logs.requests().length >= 2);
    expect(logs.requests()[1].costUsd).toBeCloseTo(BAD + GOOD, 12);

    goodReply = 'Nor here.';
    const failed = await client.chat.completions.create({ model: 'chat', messages: MESSAGES, response_format: STRICT }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ status: 502, code: 'invalid_structured_output' });
    await until(() => logs.requests().length >= 3);
    expect(logs.requests()[2]).toMatchObject({ status: 502 });
    expect(logs.requests()[2].costUsd).toBeCloseTo(BAD + GOOD, 12);
  });
});
