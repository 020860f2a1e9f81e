/**
 * Quotas: three accounts of the simulated provider, each allowed 20 requests a minute in
 * the gateway config and enforcing the same 20 itself (past it, it answers 429 with
 * Retry-After). Load at 90% of the total must pass with no client 429 and no account
 * pushed over its quota; past the total, the gateway says no itself without asking.
 */
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { ask, countBy, failures, runLoad } from './load';

const RPM = 20;
const ACCOUNTS = ['a1', 'a2', 'a3'];
const routeOf = (account: string) => `sim/${account}/local/sim-model`;

function config(): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'sim',
        type: 'simulated',
        accounts: ACCOUNTS.map((id, n) => ({
          id,
          limits: { '*': { rpm: RPM } },
          endpoints: [{ region: 'local', latencyMs: 5, tokensPerSecond: 5000, seed: n + 1, quota: { rpm: RPM } }],
        })),
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'sim-model' }] }],
  };
}

interface RouteHealth {
  route: string;
  state: string;
  headroom: { requestsUsed: number; rpm?: number };
  lastFailure?: string;
}

async function routes(gw: TestGateway): Promise<RouteHealth[]> {
  return (await healthOf(gw.url)).routes;
}

describe('three accounts under quota', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(config(), 'all-in-one', { probes: false });
  });
  afterAll(() => gw.close());

  it('at 90% of the total quota: no client 429, no provider 429, every account used', async () => {
    const total = Math.floor(0.9 * RPM * ACCOUNTS.length); // 54 within the minute
    const outcomes = await runLoad(6, total, (i) => ask(gw.client, i, { stream: i % 2 === 1 }));

    expect(failures(outcomes)).toEqual([]);
    // One attempt each: no account answered 429, none was tried and found wanting.
    expect(countBy(outcomes, (o) => String(o.attempts))).toEqual({ '1': total });
    const perRoute = countBy(outcomes, (o) => o.route);
    for (const a of ACCOUNTS) {
      // No account above its quota, so each must have taken at least total - 2 * RPM.
      expect(perRoute[routeOf(a)]).toBeLessThanOrEqual(RPM);
      expect(perRoute[routeOf(a)]).toBeGreaterThanOrEqual(total - 2 * RPM);
      expect(gw.gateway.stats.get(routeOf(a)).failures).toBe(0);
    }
    for (const r of await routes(gw)) {
      expect(r.state).toBe('healthy');
      expect(r.headroom.requestsUsed).toBeLessThanOrEqual(RPM);
      expect(r.lastFailure).toBeUndefined();
    }
  });

  it('past the total quota: the gateway answers 503 itself, no account is pushed over', async () => {
    // 54 used; 6 fit, the next 4 do not.
    const outcomes = await runLoad(2, 10, (i) => ask(gw.client, 100 + i));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(6);
    const refused = outcomes.filter((o) => !o.ok);
    expect(refused).toHaveLength(4);
    for (const o of refused) {
      expect(o.status).toBe(503); // never a 429 to the client in the all-in-one role
      for (const a of ACCOUNTS) expect(o.error).toContain(routeOf(a));
    }
    for (const a of ACCOUNTS) expect(gw.gateway.stats.get(routeOf(a)).failures).toBe(0);
    for (const r of await routes(gw)) expect(r.headroom.requestsUsed).toBe(RPM);
  });
});
