/**
 * Embeddings are priced and budgeted like chat: each provider batch at the price of the
 * route that served it (input tokens only), the cost on the answer (x-gateway-cost-usd) and
 * the log line, a budgeted tenant stopped with 429 budget_exceeded once its spend is gone,
 * and through proxy -> spoke the spoke reports the cost and the proxy charges it once.
 */
import OpenAI from 'openai';
import { hashKey } from '../../runtime/src/tenants/auth';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';
import { perMTok } from './helpers';

const PRICE = { inputPerMTok: 20, outputPerMTok: 0 };
const TEXTS = ['Schools upload documents.', 'A knowledge base answers questions.', 'The gateway routes requests.'];

function spokeConfig(fake: FakeOpenAI) {
  return {
    providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: fake.url }] }] }],
    models: [
      { name: 'embed', api: 'embeddings' as const, targets: [{ provider: 'oa', model: 'text-embedding-3-small', price: PRICE }], batch: { size: 2 } },
      // One batch at a time, so a failure of the second comes after the first was answered.
      { name: 'embed-one-by-one', api: 'embeddings' as const, targets: [{ provider: 'oa', model: 'text-embedding-3-small', price: PRICE }], batch: { size: 2, concurrency: 1 } },
    ],
  };
}

describe('what embeddings cost', () => {
  let upstream: FakeOpenAI;
  let gw: TestGateway;
  let spoke: TestGateway;
  let proxy: TestGateway;
  const logs = new LineCapture();
  const spokeLogs = new LineCapture();
  const proxyLogs = new LineCapture();

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    const cfg = spokeConfig(upstream);
    gw = await startGateway(
      {
        ...cfg,
        // A budget that a few requests use up: the worst case of one is well under it.
        tenants: [{ id: 'search', keys: [hashKey('key-search')], budget: { usdPerDay: 0.004 } }],
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
    spoke = await startGateway(cfg, 'spoke', { probes: false, observability: { destination: spokeLogs } });
    proxy = await startGateway(
      {
        spokes: [{ id: 'spoke-a', url: spoke.url }],
        models: [{ name: 'embed', api: 'embeddings', targets: [{ provider: 'spokes', model: 'embed', price: { inputPerMTok: 100, outputPerMTok: 0 } }] }],
        tenants: [{ id: 'search', keys: [hashKey('key-search')] }],
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
  });

  it('prices every batch at its route’s input price, on the answer and the log line', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'key-search', maxRetries: 0 });
    const { data, response } = await client.embeddings.create({ model: 'embed', input: TEXTS }).withResponse();
    expect(response.headers.get('x-gateway-batches')).toBe('2');
    const expected = data.usage.prompt_tokens * perMTok(PRICE.inputPerMTok);
    expect(expected).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(expected, 12);
    await until(() => logs.requests().length >= 1);
    expect(logs.requests()[0]).toMatchObject({ api: 'embeddings', tenant: 'search', status: 200 });
    expect(logs.requests()[0].costUsd).toBeCloseTo(expected, 12);
  });

  it('charges the batches answered before a later batch failed (the provider billed them), though the request failed', async () => {
    const before = logs.requests().length;
    upstream.faults.push({ kind: 'delay', ms: 0 }, { kind: 'status', status: 400, message: 'input too long' });
    const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed-one-by-one', input: TEXTS }, { authorization: 'Bearer key-search' });
    await res.arrayBuffer();
    expect(res.status).toBe(400);
    await until(() => logs.requests().length > before);
    const line = logs.requests()[before];
    expect(line.status).toBe(400);
    expect(Number(line.costUsd)).toBeGreaterThan(0);
  });

  it('stops a budgeted tenant with 429 budget_exceeded once embeddings have spent its budget', async () => {
    const before = logs.requests().length;
    const statuses: number[] = [];
    let refused: ErrorBody | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input: TEXTS }, { authorization: 'Bearer key-search' });
      statuses.push(res.status);
      if (res.status === 429) refused = await jsonOf<ErrorBody>(res);
      else await res.arrayBuffer();
    }
    expect(refused?.error.code).toBe('budget_exceeded');
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(1);
    // Spend counted: what every answered request of the tenant cost stays within the day's budget.
    expect(await until(() => logs.requests().length >= before + statuses.length)).toBe(true);
    const spent = logs
      .requests()
      .filter((r) => r.status === 200)
      .reduce((sum, r) => sum + Number(r.costUsd ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(0.004 + 1e-12);
  });

  it('through proxy -> spoke: the spoke reports what it served cost, the proxy charges it once', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'key-search', maxRetries: 0 });
    const { data, response } = await client.embeddings.create({ model: 'embed', input: TEXTS }).withResponse();
    // The spoke's price (20), not the proxy's bound (100).
    const expected = data.usage.prompt_tokens * perMTok(PRICE.inputPerMTok);
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(expected, 12);
    await until(() => proxyLogs.requests().length >= 1 && spokeLogs.requests().length >= 1);
    expect(proxyLogs.requests()[0].costUsd).toBeCloseTo(expected, 12);
    expect(spokeLogs.requests()[0]).toMatchObject({ costCountedBy: 'proxy' });
  });
});
