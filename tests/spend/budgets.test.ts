/**
 * Budgets on one gateway: a request holds its worst case (estimated input plus its output
 * cap at the model's most expensive target) and settles to its real cost; over the cap it
 * is refused with 429 budget_exceeded and a Retry-After to the end of the UTC period;
 * alert thresholds are logged and counted once per period; the proxy enforces its
 * tenants' budgets with the costs its spokes report.
 */
import type { Clock } from '../../runtime/src/core/clock';
import { estimatePromptTokens } from '../../runtime/src/quota/token-estimate';
import { hashKey } from '../../runtime/src/tenants/auth';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { ShiftedClock } from '../helpers/manual-clock';
import { until } from '../helpers/until';
import { LineCapture, parsePrometheus, valueOf } from '../observability/capture';
import { send, type Outcome } from '../capacity/helpers';
import { reporting, usage } from './helpers';
import { LOOPBACK_OPERATORS } from '../helpers/operators';

/** One cent a token, in and out. */
const PRICE = { inputPerMTok: 10_000, outputPerMTok: 10_000 };
const BODY = { model: 'chat', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 100 };
const PROMPT = estimatePromptTokens({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
/** What a request holds: its estimated prompt and its 100-token cap, a cent each. */
const WORST = (PROMPT + 100) * 0.01;

describe('tenant budgets', () => {
  let upstream: FakeOpenAI;
  const gws: TestGateway[] = [];
  beforeAll(async () => {
    // Each answer: 5 prompt and 50 completion tokens, 55 cents.
    upstream = await startFakeOpenAI({ ...reporting(usage(5, 50)), latencyMs: 1 });
  });
  afterAll(async () => {
    await Promise.all(gws.map((g) => g.close()));
    await upstream.close();
  });

  async function gateway(budget: Record<string, unknown> | undefined, clock: Clock, logs = new LineCapture()) {
    const gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r', url: upstream.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm', price: PRICE }] }],
        tenants: [{ id: 'team', keys: [hashKey('key-team')], ...(budget ? { budget } : {}) }],
        operators: LOOPBACK_OPERATORS,
      },
      'all-in-one',
      { probes: false, clock, observability: { destination: logs } },
    );
    gws.push(gw);
    return { gw, logs };
  }
  /** A proxy whose tenant has `budget`, over one spoke of the same model. */
  async function proxyWith(budget: Record<string, unknown>): Promise<TestGateway> {
    const spoke = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r', url: upstream.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm', price: PRICE }] }],
      },
      'spoke',
      { probes: false },
    );
    gws.push(spoke);
    const proxy = await startGateway(
      {
        spokes: [{ id: 's', url: spoke.url }],
        // The bound: the most a spoke's target could charge.
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat', price: PRICE }] }],
        tenants: [{ id: 'team', keys: [hashKey('key-team')], budget }],
        operators: LOOPBACK_OPERATORS,
      },
      'proxy',
      { probes: false },
    );
    gws.push(proxy);
    return proxy;
  }
  const sendAll = (url: string, n: number) => Promise.all(Array.from({ length: n }, () => send(url, 'key-team', BODY)));
  const sequential = async (url: string, n: number) => {
    const out: Outcome[] = [];
    for (let i = 0; i < n; i++) out.push(await send(url, 'key-team', BODY));
    return out;
  };

  it('holds the worst case, settles the real cost, and refuses past the daily cap until the UTC day ends', async () => {
    const clock = new ShiftedClock();
    clock.set('2030-05-17T23:59:30.000Z');
    const { gw } = await gateway({ usdPerDay: 5 }, clock);
    // At once (a slow upstream keeps them all in flight): each holds 1.06; four fit in 5, the fifth would not.
    upstream.options.latencyMs = 400;
    const burst = await sendAll(gw.url, 6).finally(() => (upstream.options.latencyMs = 1));
    expect(burst.filter((o) => o.status === 200)).toHaveLength(Math.floor(5 / WORST));
    const held = burst.filter((o) => o.status !== 200);
    // In flight held what was left, not spent: come back in a second.
    for (const o of held) expect(o).toMatchObject({ status: 429, code: 'budget_exceeded', retryAfter: '1' });
    expect(held[0].message).toMatch(/^Tenant "team"'s \$5\.00 budget for the UTC day 2030-05-17 is held by its requests in flight/);
    // One by one, each settles at 55 cents: the rest of the budget goes to more requests.
    const more = await sequential(gw.url, 6);
    expect(more.filter((o) => o.status === 200).length).toBeGreaterThan(0);
    const status = (await (await fetch(`${gw.url}/status.json`)).json()) as { spend: { today: { usd: number }; budget: unknown; inFlightUsd: number }[] };
    const spent = status.spend[0].today.usd;
    expect(spent).toBeLessThanOrEqual(5);
    expect(spent + WORST).toBeGreaterThan(5); // what is left is less than one request's worst case
    expect(status.spend[0]).toMatchObject({ budget: { usdPerDay: 5, alertAt: [0.8] }, inFlightUsd: 0 });
    const refused = more.filter((o) => o.status !== 200);
    expect(refused[0]).toMatchObject({ status: 429, code: 'budget_exceeded' });
    // Spent, not held: until midnight UTC, 30 s away.
    expect(Number(refused[0].retryAfter)).toBeGreaterThanOrEqual(28);
    expect(Number(refused[0].retryAfter)).toBeLessThanOrEqual(30);
    expect(refused[0].message).toMatch(
      /^Tenant "team" has spent \$\d\.\d\d of its \$5\.00 budget for the UTC day 2030-05-17; this request could cost up to \$1\.\d\d\. Retry after \d+ s, when the day ends\.$/,
    );
    // A new day, a new budget.
    clock.set('2030-05-18T00:00:01.000Z');
    expect(await send(gw.url, 'key-team', BODY)).toMatchObject({ status: 200 });
  });

  it('a monthly cap waits for the first of the next month', async () => {
    const clock = new ShiftedClock();
    clock.set('2030-02-28T23:58:00.000Z');
    const { gw } = await gateway({ usdPerMonth: 1 }, clock);
    const refused = await send(gw.url, 'key-team', BODY);
    // 1.06 could not fit in 1 even with nothing spent: refused until the month ends, 2 minutes away.
    expect(refused).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(118);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(120);
    expect(refused.message).toMatch(/budget for the UTC month 2030-02/);
  });

  it('alerts once per threshold and period, in the log and in /metrics', async () => {
    const clock = new ShiftedClock();
    clock.set('2030-06-10T12:00:00.000Z');
    const { gw, logs } = await gateway({ usdPerDay: 100, usdPerMonth: 1000, alertAt: [0.8, 0.01, 0.02] }, clock);
    // 55 cents each: 1% of the day after 2 requests, 2% after 4.
    await sequential(gw.url, 6);
    const alerts = () => logs.records().filter((r) => r.msg === 'tenant budget alert');
    await until(() => alerts().length >= 2);
    expect(alerts().map((a) => [a.period, a.periodId, a.threshold, a.capUsd])).toEqual([
      ['day', '2030-06-10', 0.01, 100],
      ['day', '2030-06-10', 0.02, 100],
    ]);
    expect(alerts()[0]).toMatchObject({ level: 'warn', tenant: 'team' });
    expect(alerts()[0].spentUsd).toBeCloseTo(1.1, 9);
    // The next day starts over.
    clock.set('2030-06-11T12:00:00.000Z');
    await sequential(gw.url, 2);
    await until(() => alerts().length >= 3);
    expect(alerts()[2]).toMatchObject({ period: 'day', periodId: '2030-06-11', threshold: 0.01 });
    // The month's 1% (10 USD) is not reached yet.
    expect(alerts().filter((a) => a.period === 'month')).toEqual([]);
    const samples = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(valueOf(samples, 'gateway_budget_alerts_total', { tenant: 'team', period: 'day', threshold: '0.01' })).toBe(2);
    expect(valueOf(samples, 'gateway_budget_alerts_total', { tenant: 'team', period: 'day', threshold: '0.02' })).toBe(1);
  });

  it('a threshold listed twice in alertAt alerts once', async () => {
    const clock = new ShiftedClock();
    clock.set('2030-06-12T12:00:00.000Z');
    const { gw, logs } = await gateway({ usdPerDay: 100, alertAt: [0.01, 0.01] }, clock);
    // 55 cents each: 1% of the day after 2 requests.
    await sequential(gw.url, 3);
    const alerts = () => logs.records().filter((r) => r.msg === 'tenant budget alert');
    await until(() => alerts().length >= 1);
    await new Promise((r) => setTimeout(r, 200)); // a second line would follow at once
    expect(alerts().map((a) => [a.period, a.threshold])).toEqual([['day', 0.01]]);
    const samples = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(valueOf(samples, 'gateway_budget_alerts_total', { tenant: 'team', period: 'day', threshold: '0.01' })).toBe(1);
  });

  it('reserves the default output for a request without max_tokens', async () => {
    const clock = new ShiftedClock();
    const { gw } = await gateway({ usdPerDay: 40, defaultOutputTokens: 4000 }, clock);
    // (prompt + 4000) cents is more than 40 USD: refused; with max_tokens it fits.
    expect(await send(gw.url, 'key-team', { model: 'chat', messages: BODY.messages })).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(await send(gw.url, 'key-team', BODY)).toMatchObject({ status: 200 });
  });

  it('holds the thinking budget reasoning_effort may add on top of max_tokens (a Claude target is sent both), on a gateway and on a proxy', async () => {
    const { gw } = await gateway({ usdPerDay: 20 }, new ShiftedClock());
    const proxy = await proxyWith({ usdPerDay: 20 });
    for (const url of [gw.url, proxy.url]) {
      // (prompt + 100) cents fits in 20 USD; with "high" (16384 thinking tokens) it is more than 160 USD: refused.
      expect(await send(url, 'key-team', { ...BODY, reasoning_effort: 'high' })).toMatchObject({ status: 429, code: 'budget_exceeded' });
      expect(await send(url, 'key-team', { ...BODY, reasoning_effort: 'minimal' })).toMatchObject({ status: 200 });
    }
  });

  it('a request whose worst case alone is over the cap is told to lower max_tokens, not to wait for the next day', async () => {
    const { gw } = await gateway({ usdPerDay: 0.5 }, new ShiftedClock());
    // Nothing spent: (prompt + 100) cents can never fit in 50 cents, whatever the day.
    const refused = await send(gw.url, 'key-team', BODY);
    expect(refused).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(refused.message).toMatch(
      /^Tenant "team"'s request could cost up to \$1\.\d\d, more than its whole \$0\.5000 budget for the UTC day \d{4}-\d\d-\d\d, so no day can admit it\. Send a lower max_tokens/,
    );
    expect(await send(gw.url, 'key-team', { ...BODY, max_tokens: 10 })).toMatchObject({ status: 200 });
  });

  it('a reloaded config’s budget applies at once, and counts what was spent before it', async () => {
    const { gw } = await gateway(undefined, new ShiftedClock());
    expect((await sequential(gw.url, 3)).map((o) => o.status)).toEqual([200, 200, 200]); // 1.65 spent
    const config = gw.gateway.config;
    await gw.gateway.reload({ ...config, tenants: config.tenants.map((t) => ({ ...t, budget: { usdPerDay: 3, alertAt: [] } })) });
    // 1.65 + 1.06 fits in 3, then 2.20 + 1.06 does not.
    expect((await sequential(gw.url, 2)).map((o) => o.status)).toEqual([200, 429]);
  });

  it('a proxy enforces its tenants’ budgets with what its spokes report', async () => {
    const proxy = await proxyWith({ usdPerDay: 3 });
    const out = await sequential(proxy.url, 6);
    // 55 cents each, 1.06 held: admitted while spent <= 3 - 1.06.
    expect(out.map((o) => o.status)).toEqual([200, 200, 200, 200, 429, 429]);
    const status = (await (await fetch(`${proxy.url}/status.json`)).json()) as { spend: { today: { usd: number } }[] };
    expect(status.spend[0].today.usd).toBeCloseTo(4 * 0.55, 9);
  });
});
