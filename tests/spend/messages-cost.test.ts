/**
 * Messages (POST /v1/messages) are priced and budgeted like chat: the answer's usage at its
 * route's price (cache reads at the cached rate), JSON and streams, on the answer
 * (x-gateway-cost-usd) and the log line; a budget holds prompt plus max_tokens and stops
 * the tenant with budget_exceeded; through proxy -> spoke the spoke's report (a header on JSON,
 * the final message_delta's usage on streams) is charged once; a stream continued on another
 * route is charged each part at its own route's price.
 * Prompt-cache reads and writes are priced at their own rates, on Messages and on chat.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { hashKey } from '../../runtime/src/tenants/auth';
import { FAKE_ANTHROPIC_KEY, messageOf, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { tokensForChars } from '../../runtime/src/quota/token-estimate';
import { jsonOf, postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';
import { perMTok } from './helpers';

const PRICE = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWritePerMTok: 3.75 };
const TEXT = 'A priced answer from Claude.';

function config(url: string) {
  return {
    providers: [{ id: 'anthropic', type: 'anthropic' as const, accounts: [{ id: 'acct', credentials: { env: 'COST_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url }] }] }],
    models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-priced', price: PRICE }] }],
  };
}

/** What `usage` costs at PRICE (Anthropic's input_tokens exclude the cache reads and writes). */
function costOf(u: Anthropic.Usage): number {
  const read = u.cache_read_input_tokens ?? 0;
  const write = u.cache_creation_input_tokens ?? 0;
  return u.input_tokens * perMTok(PRICE.inputPerMTok) + write * perMTok(PRICE.cacheWritePerMTok) + read * perMTok(PRICE.cachedInputPerMTok) + u.output_tokens * perMTok(PRICE.outputPerMTok);
}

describe('what Messages cost', () => {
  let upstream: FakeAnthropic;
  let gw: TestGateway;
  let spoke: TestGateway;
  let proxy: TestGateway;
  const logs = new LineCapture();
  const proxyLogs = new LineCapture();
  const spokeLogs = new LineCapture();

  beforeAll(async () => {
    process.env.COST_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    // Every answer read 900 prompt tokens from the cache and wrote 60 to it.
    upstream = await startFakeAnthropic({ reply: () => ({ text: TEXT, usage: { cache_read_input_tokens: 900, cache_creation_input_tokens: 60 } }) });
    gw = await startGateway({ ...config(upstream.url), tenants: [{ id: 'team', keys: [hashKey('key-team')], budget: { usdPerDay: 0.01 } }] }, 'all-in-one', {
      probes: false,
      observability: { destination: logs },
    });
    spoke = await startGateway(config(upstream.url), 'spoke', { probes: false, observability: { destination: spokeLogs } });
    proxy = await startGateway(
      {
        spokes: [{ id: 'spoke-a', url: spoke.url }],
        models: [{ name: 'claude', targets: [{ provider: 'spokes', model: 'claude', price: { inputPerMTok: 30, outputPerMTok: 150 } }] }],
        tenants: [{ id: 'team', keys: [hashKey('key-team')] }],
      },
      'proxy',
      { probes: false, observability: { destination: proxyLogs } },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await gw.close();
    await upstream.close();
    delete process.env.COST_TEST_ANTHROPIC_KEY;
  });

  const ask = { model: 'claude', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Say something priced.' }] };

  it('prices a JSON answer and a stream from their usage, on the answer and the log line', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'key-team', maxRetries: 0 });
    const { data, response } = await client.messages.create(ask).withResponse();
    const expected = costOf(data.usage);
    expect(expected).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(expected, 12);
    await until(() => logs.requests().length >= 1);
    expect(logs.requests()[0]).toMatchObject({ api: 'messages', tenant: 'team', status: 200 });
    expect(logs.requests()[0].costUsd).toBeCloseTo(expected, 12);

    const final = await client.messages.stream(ask).finalMessage();
    await until(() => logs.requests().length >= 2);
    expect(logs.requests()[1].costUsd).toBeCloseTo(costOf(final.usage), 12);
  });

  it('prices cache reads and writes at their own rates, on chat completions too', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-team', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'Say something priced.' }] }).withResponse();
    const details = data.usage?.prompt_tokens_details;
    expect(details).toEqual({ cached_tokens: 900, cache_write_tokens: 60 });
    const fresh = data.usage!.prompt_tokens - 900 - 60;
    const expected = fresh * perMTok(3) + 60 * perMTok(3.75) + 900 * perMTok(0.3) + data.usage!.completion_tokens * perMTok(15);
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(expected, 12);
  });

  it('holds prompt plus max_tokens against the budget: a request whose worst case is over it is refused before it is sent', async () => {
    const sent = upstream.requests.length;
    // 100,000 output tokens at $15 per million is $1.50, far over the $0.01 a day.
    const res = await postJson(`${gw.url}/v1/messages`, { ...ask, max_tokens: 100_000 }, { 'x-api-key': 'key-team', 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(429);
    const body = await jsonOf<{ type: string; error: { type: string; message: string } }>(res);
    expect(body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(body.error.message).toMatch(/budget/i);
    expect(upstream.requests.length).toBe(sent);
  });

  it('through proxy -> spoke: the spoke reports what it served cost, the proxy charges it once', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'key-team', maxRetries: 0 });
    const { data, response } = await client.messages.create(ask).withResponse();
    // The spoke's price, not the proxy's bound (ten times dearer).
    const expected = costOf(data.usage);
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(expected, 12);
    await until(() => proxyLogs.requests().length >= 1 && spokeLogs.requests().length >= 1);
    expect(proxyLogs.requests()[0].costUsd).toBeCloseTo(expected, 12);
    expect(spokeLogs.requests()[0]).toMatchObject({ costCountedBy: 'proxy' });
  });

  it('through proxy -> spoke a stream is charged at the cost the spoke reports in its final message_delta, which the client never sees', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'key-team', maxRetries: 0 });
    const before = { proxy: proxyLogs.requests().length, spoke: spokeLogs.requests().length };
    const final = await client.messages.stream(ask).finalMessage();
    // Cache reads and writes at the spoke's rates: the proxy's bound has none and is ten times dearer.
    const expected = costOf(final.usage);
    await until(() => proxyLogs.requests().length > before.proxy && spokeLogs.requests().length > before.spoke);
    expect(proxyLogs.requests()[before.proxy]).toMatchObject({ api: 'messages', stream: true, tenant: 'team', status: 200 });
    expect(proxyLogs.requests()[before.proxy].costUsd).toBeCloseTo(expected, 12);
    expect(spokeLogs.requests()[before.spoke]).toMatchObject({ costCountedBy: 'proxy' });
    expect(spokeLogs.requests()[before.spoke].costUsd).toBeCloseTo(expected, 12);

    // On the wire: the final message_delta has its usage, without the spoke's cost.
    const res = await postJson(`${proxy.url}/v1/messages`, { ...ask, stream: true }, { 'x-api-key': 'key-team', 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(200);
    const text = await res.text();
    const deltas = text
      .split('\n')
      .filter((line) => line.startsWith('data: ') && line.includes('"message_delta"'))
      .map((line) => JSON.parse(line.slice(6)) as { usage: Record<string, unknown> });
    expect(deltas).toHaveLength(1);
    expect(deltas[0].usage).toEqual({ output_tokens: final.usage.output_tokens });
    expect(text).not.toContain('cost_usd');
    await until(() => proxyLogs.requests().length > before.proxy + 1);
    expect(proxyLogs.requests()[before.proxy + 1].costUsd).toBeCloseTo(expected, 12);
  });
});

describe('what a Messages stream continued on another route costs', () => {
  const CHEAP = { inputPerMTok: 1, outputPerMTok: 2 };
  const DEAR = { inputPerMTok: 10, outputPerMTok: 30 };
  const FIRST = 'The first account starts a long answer in many small words.';
  const SECOND = ' And the second account finishes it.';
  let a: FakeAnthropic;
  let b: FakeAnthropic;
  let gw: TestGateway;
  const logs = new LineCapture();

  beforeAll(async () => {
    process.env.CONTINUED_COST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [a, b] = await Promise.all([startFakeAnthropic({ reply: { text: FIRST } }), startFakeAnthropic({ reply: { text: SECOND } })]);
    const account = (id: string, url: string) => ({ id, credentials: { env: 'CONTINUED_COST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url }] });
    gw = await startGateway(
      {
        providers: [
          { id: 'cheap', type: 'anthropic', accounts: [account('x', a.url)] },
          { id: 'dear', type: 'anthropic', accounts: [account('y', b.url)] },
        ],
        models: [
          {
            name: 'claude',
            targets: [
              { provider: 'cheap', model: 'claude-cheap', price: CHEAP },
              { provider: 'dear', model: 'claude-dear', price: DEAR },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([a.close(), b.close()]);
    delete process.env.CONTINUED_COST_ANTHROPIC_KEY;
  });

  it('charges the broken part at the first route’s price and the continuation at its own, each with its own prompt', async () => {
    a.faults.push({ kind: 'cut', afterChunks: 4 });
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
    const final = await client.messages.stream({ model: 'claude', max_tokens: 200, messages: [{ role: 'user', content: 'Tell me at length.' }] }).finalMessage();
    const text = final.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    expect(text.endsWith(SECOND)).toBe(true);
    const sentByA = text.slice(0, text.length - SECOND.length);
    expect(sentByA.length).toBeGreaterThan(0);
    expect(FIRST.startsWith(sentByA)).toBe(true);
    await until(() => logs.requests().length >= 1);
    const line = logs.requests()[0];
    expect(line).toMatchObject({ api: 'messages', status: 200, continuations: 1 });

    // The first part: the prompt its message_start reported (what the client sees), and the text it sent, estimated.
    const partA = final.usage.input_tokens * perMTok(CHEAP.inputPerMTok) + tokensForChars(sentByA.length) * perMTok(CHEAP.outputPerMTok);
    // The continuation: its own, longer prompt (the answer so far) and its output, as it reported them.
    const continued = messageOf(b.requests.at(-1)!.body as FakeAnthropicRequest, { text: SECOND }, undefined, 0).usage;
    expect(continued.input_tokens).toBeGreaterThan(final.usage.input_tokens);
    const partB = continued.input_tokens * perMTok(DEAR.inputPerMTok) + continued.output_tokens * perMTok(DEAR.outputPerMTok);
    expect(line.costUsd).toBeCloseTo(partA + partB, 12);
  });
});
