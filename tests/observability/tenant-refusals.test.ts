/**
 * Who is throttled, as an operator sees it: two tenants through a real gateway until one
 * is refused, then GET /metrics (`gateway_tenant_refusals_total{tenant,reason}`) and
 * /status.json (each tenant's use of its rpm, tpm and concurrency, and its refusals).
 */
import { hashKey } from '../../runtime/src/tenants/auth';
import type { StatusSnapshot } from '../../runtime/src/status/snapshot';
import { send } from '../capacity/helpers';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { jsonOf, startGateway, type TestGateway } from '../helpers/gateway';
import { LOOPBACK_OPERATORS } from '../helpers/operators';
import { reporting, usage } from '../spend/helpers';
import { LineCapture, parsePrometheus, valueOf } from './capture';

const CHAT = { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 };

describe('refusals per tenant on /metrics and /status', () => {
  let upstream: FakeOpenAI;
  let gw: TestGateway;
  const logs = new LineCapture();

  beforeAll(async () => {
    upstream = await startFakeOpenAI({ ...reporting(usage(5, 10)), latencyMs: 1 });
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r', url: upstream.url }] }] }],
        // A cent a token: an answer costs 15 cents, the worst case of CHAT ~ 15 cents too.
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm', price: { inputPerMTok: 10_000, outputPerMTok: 10_000 } }] }],
        tenants: [
          { id: 'steady', keys: [hashKey('key-steady')], limits: { rpm: 100, tpm: 10_000, concurrency: 4 } },
          { id: 'bursty', keys: [hashKey('key-bursty')], limits: { rpm: 2 } },
          { id: 'frugal', keys: [hashKey('key-frugal')], budget: { usdPerDay: 0.01 } },
        ],
        operators: LOOPBACK_OPERATORS,
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
  });

  it('counts each refusal under its tenant and reason, and /status shows each tenant against its limits', async () => {
    for (let i = 0; i < 3; i++) expect((await send(gw.url, 'key-steady', CHAT)).status).toBe(200);
    const bursty = [];
    for (let i = 0; i < 5; i++) bursty.push(await send(gw.url, 'key-bursty', CHAT));
    expect(bursty.map((o) => o.code ?? o.status)).toEqual([200, 200, 'tenant_rate_limited', 'tenant_rate_limited', 'tenant_rate_limited']);
    expect(await send(gw.url, 'key-frugal', CHAT)).toMatchObject({ status: 429, code: 'budget_exceeded' });

    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toContain('# TYPE gateway_tenant_refusals_total counter');
    const samples = parsePrometheus(text);
    expect(valueOf(samples, 'gateway_tenant_refusals_total', { tenant: 'bursty', reason: 'rpm' })).toBe(3);
    expect(valueOf(samples, 'gateway_tenant_refusals_total', { tenant: 'frugal', reason: 'budget' })).toBe(1);
    // Only refusals make series: the steady tenant has none.
    expect(samples.filter((s) => s.name === 'gateway_tenant_refusals_total').map((s) => `${s.labels.tenant}/${s.labels.reason}`)).toEqual(['bursty/rpm', 'frugal/budget']);

    // The request log lines say whose request was refused, and why.
    const refused = logs.requests().filter((r) => r.status === 429);
    expect(refused.map((r) => [r.tenant, r.errorCode, r.refusal])).toEqual([
      ['bursty', 'tenant_rate_limited', 'rpm'],
      ['bursty', 'tenant_rate_limited', 'rpm'],
      ['bursty', 'tenant_rate_limited', 'rpm'],
      ['frugal', 'budget_exceeded', 'budget'],
    ]);

    const status = await jsonOf<StatusSnapshot>(await fetch(`${gw.url}/status.json`));
    const byId = Object.fromEntries(status.tenants.map((t) => [t.tenant, t]));
    expect(Object.keys(byId)).toEqual(['steady', 'bursty', 'frugal']);
    expect(byId.steady).toMatchObject({ limits: { rpm: 100, tpm: 10_000, concurrency: 4 }, used: { requests: 3, tokens: 45, inFlight: 0 }, refused: { lastMinute: {}, sinceStart: {} } });
    expect(byId.steady.refused.last).toBeUndefined();
    expect(byId.bursty).toMatchObject({ limits: { rpm: 2 }, used: { requests: 2 }, refused: { lastMinute: { rpm: 3 }, sinceStart: { rpm: 3 }, last: { reason: 'rpm' } } });
    expect(byId.frugal).toMatchObject({ limits: {}, used: {}, refused: { lastMinute: { budget: 1 }, sinceStart: { budget: 1 }, last: { reason: 'budget' } } });
  });
});
