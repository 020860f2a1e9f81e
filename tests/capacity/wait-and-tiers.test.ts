/**
 * Capacity classes beyond one gateway: a standard or batch request may wait a short,
 * configured time for its class's headroom (never past its deadline); a proxy tells its
 * spokes each request's class, a spoke's `capacity_reserved` reaches the client as the
 * proxy's own 429 and puts no spoke in cooldown; and on an open gateway the class header
 * of a client means nothing.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../runtime/src/core/clock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { classTenants, count, KEYS, send } from './helpers';

/** Real time moved ahead by hand: a window minute passes at once, what is left of it in real time. */
class ShiftedClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
}

describe('capacity classes: waiting, tiers, open gateways', () => {
  let upstream: FakeOpenAI;
  const gws: TestGateway[] = [];
  beforeAll(async () => {
    upstream = await startFakeOpenAI({ latencyMs: 1 });
  });
  afterAll(async () => {
    await Promise.all(gws.map((g) => g.close()));
    await upstream.close();
  });

  const config = (capacity: Record<string, number>, more: Record<string, unknown> = {}) => ({
    providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'acct', limits: { '*': { rpm: 10 } }, endpoints: [{ region: 'r', url: upstream.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
    capacity,
    ...more,
  });
  const start = async (...args: Parameters<typeof startGateway>) => {
    const gw = await startGateway(...args);
    gws.push(gw);
    return gw;
  };

  it('waits up to capacity.waitMs for the class to fit, and never past the deadline', async () => {
    const tenants = classTenants();
    /** Six standard requests fill the class's 6 of 10; then the clock moves to 1.2 s before the first of them leaves the window. */
    const filled = async (more: Record<string, unknown>) => {
      const clock = new ShiftedClock();
      const gw = await start(config({ criticalReserve: 0.4, waitMs: 3_000 }, { tenants, ...more }), 'all-in-one', { probes: false, clock });
      const before = clock.now();
      expect(count(await Promise.all(Array.from({ length: 6 }, () => send(gw.url, KEYS.standard))), 200)).toBe(6);
      clock.offset += before + 58_800 - clock.now();
      return gw;
    };
    const waiting = await filled({});
    const t0 = performance.now();
    expect(await send(waiting.url, KEYS.standard)).toMatchObject({ status: 200 });
    // It waited for the window (without waiting it would have been a 429 at once).
    expect(performance.now() - t0).toBeGreaterThan(200);

    // The class's wait is its own: a gateway that waits out no provider Retry-After still waits for it.
    const noRetryAfterWaits = await filled({ failover: { maxRetryAfterMs: 0 } });
    const t2 = performance.now();
    expect(await send(noRetryAfterWaits.url, KEYS.standard)).toMatchObject({ status: 200 });
    expect(performance.now() - t2).toBeGreaterThan(200);

    // A 1.5 s deadline leaves no room to wait 1.2 s: refused at once, with when to come back.
    const impatient = await filled({ server: { requestTimeoutMs: 1_500 } });
    // Had it waited, the window would have let it through (a 200): the 429 says it did not.
    const refused = await send(impatient.url, KEYS.standard);
    expect(refused).toMatchObject({ status: 429, code: 'capacity_reserved' });
    expect(['2', '3']).toContain(refused.retryAfter);
  });

  it('a proxy sends the class to its spoke, and the spoke keeps its reserve for critical tenants', async () => {
    const spoke = await start(config({ criticalReserve: 0.4, batchCeiling: 0.3 }), 'spoke', { probes: false });
    const proxy = await start(
      { spokes: [{ id: 'spoke-1', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }], tenants: classTenants() },
      'proxy',
      {
        probes: false,
      },
    );
    const batch = await Promise.all(Array.from({ length: 5 }, () => send(proxy.url, KEYS.batch)));
    expect(count(batch, 200)).toBe(3);
    for (const o of batch.filter((x) => x.status !== 200)) {
      expect(o).toMatchObject({ status: 429, code: 'capacity_reserved' });
      expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(55);
      expect(o.message).toMatch(/spokes\/spoke-1\/127\.0\.0\.1\/chat: reserved 429 .*oa\/acct\/r\/m: reserved/);
    }
    // The spoke refused batch only: critical still goes through it, not cooled down.
    const critical = await Promise.all(Array.from({ length: 7 }, () => send(proxy.url, KEYS.critical)));
    expect(count(critical, 200)).toBe(7);
    expect((await healthOf(proxy.url)).routes.map((r) => r.state)).toEqual(['healthy']);
  });

  it('ignores a client class header where tenants or the proxy decide', async () => {
    const open = await start(config({ criticalReserve: 0.5 }), 'all-in-one', { probes: false });
    const asked = await Promise.all(
      Array.from({ length: 7 }, () => postJson(`${open.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { 'x-gateway-priority': 'critical' })),
    );
    // An open all-in-one gateway: every request is standard, whatever it claims.
    expect(asked.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const refused = (await asked.find((r) => r.status === 429)!.json()) as { error: { message: string } };
    expect(refused.error.message).toMatch(/^The capacity the standard class may use is taken on every route; /);
  });

  it('a class whose share of a route rounds down to no request is never admitted there, nor past the whole limit', async () => {
    // rpm 10 x 0.05: half a request a minute, so none for batch; critical keeps the route.
    const gw = await start(config({ criticalReserve: 0.5, batchCeiling: 0.05 }, { tenants: classTenants() }), 'all-in-one', { probes: false });
    const before = upstream.requests.length;
    const batch = await Promise.all(Array.from({ length: 12 }, () => send(gw.url, KEYS.batch)));
    expect(batch.map((o) => o.code)).toEqual(Array(12).fill('capacity_reserved'));
    expect(batch[0]).toMatchObject({ status: 429, retryAfter: '60' });
    // The refusal names the class and the tenant, as the tenant limits' 429s name theirs.
    expect(batch[0].message).toMatch(/^The capacity the batch class \(tenant "nightly"\) may use is taken on every route; /);
    expect(upstream.requests.length).toBe(before);
    expect(count(await Promise.all(Array.from({ length: 10 }, () => send(gw.url, KEYS.critical))), 200)).toBe(10);
  });
});
