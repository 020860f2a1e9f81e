/**
 * Session affinity across instances and tiers: two gateway instances share the session
 * table through a real redis-server (a session started on one is a hit on the other),
 * fall back to memory when Redis stops (sessions keep their route on the instance that
 * saw them), and through proxy and spoke the proxy pins the spoke and the spoke the account.
 */
import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { systemClock } from '../../runtime/src/core/clock';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import { healthOf, postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

/** Four equivalent simulated routes (one provider, four accounts). */
function simulated(prefix: string, accounts: number): GatewayConfigInput {
  return {
    providers: [
      {
        id: `sim-${prefix}`,
        type: 'simulated',
        accounts: Array.from({ length: accounts }, (_, i) => ({ id: `${prefix}${i + 1}`, endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 10_000 }] })),
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: `sim-${prefix}`, model: 'm' }] }],
  };
}

interface Answer {
  status: number;
  route: string | null;
  affinity: string | null;
}

async function ask(gw: TestGateway, session: string, stream = false): Promise<Answer> {
  const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }, { 'x-session-id': session });
  await res.text();
  return { status: res.status, route: res.headers.get('x-gateway-route'), affinity: res.headers.get('x-gateway-affinity') };
}

describe('sessions shared through Redis', () => {
  let redis: RedisServer;
  let gws: TestGateway[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(gws.map((g) => g.close()));
    gws = [];
  });
  afterAll(() => redis.close());

  it('a session started on one instance is a hit on the other', async () => {
    const config = { ...simulated('acct-', 4), state: { redis: redis.url } };
    // A command deadline long enough that a loaded machine does not push a lookup into the memory fallback.
    const one = () => startGateway(config, 'all-in-one', { probes: false, quota: createQuotaStore(parseConfig(config), systemClock, { commandTimeoutMs: 5_000 }) });
    gws = [await one(), await one()];
    const [a, b] = gws;
    const started = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const first = await ask(a, `shared-${i}`);
      expect(first.affinity).toBe('new');
      started.set(`shared-${i}`, first.route!);
    }
    // Placed by the usual selection: more than one route.
    expect(new Set(started.values()).size).toBeGreaterThan(1);
    // A session is written to Redis just after its answer: on a loaded machine, the last ones may still be on their way.
    const admin = new Redis(redis.url);
    try {
      expect(await until(async () => (await admin.keys('*session:chat:shared-*')).length === started.size, 5_000)).toBe(true);
    } finally {
      admin.disconnect();
    }
    for (const [session, route] of started) expect(await ask(b, session, true)).toEqual({ status: 200, route, affinity: 'hit' });
  });

  it('falls back to memory when Redis stops: sessions keep their route on the instance that saw them', async () => {
    const config = { ...simulated('acct-', 4), state: { redis: redis.url } };
    gws = [await startGateway(config, 'all-in-one', { probes: false })];
    const [a] = gws;
    const before = await ask(a, 'before-outage');
    await redis.kill();
    // Requests go on; the quota store notices and degrades, and sessions with it.
    expect(await ask(a, 'before-outage')).toEqual({ status: 200, route: before.route, affinity: 'hit' });
    expect(await until(async () => (await healthOf(a.url)).quota.degraded === true, 5_000)).toBe(true);
    const during = await ask(a, 'during-outage');
    expect(during.affinity).toBe('new');
    for (let i = 0; i < 4; i++) expect(await ask(a, 'during-outage')).toEqual({ status: 200, route: during.route, affinity: 'hit' });
    expect(await ask(a, 'before-outage')).toEqual({ status: 200, route: before.route, affinity: 'hit' });
    await redis.restart();
  });
});

describe('sessions through proxy and spoke', () => {
  it('the proxy pins the spoke, the spoke pins the account: the same route on every turn', async () => {
    const spokes = [await startGateway(simulated('a-', 2), 'spoke'), await startGateway(simulated('b-', 2), 'spoke')];
    const proxy = await startGateway(
      {
        spokes: [
          { id: 'spoke-a', url: spokes[0].url },
          { id: 'spoke-b', url: spokes[1].url },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
      },
      'proxy',
    );
    try {
      const routes = new Set<string>();
      for (let s = 0; s < 6; s++) {
        const first = await ask(proxy, `conv-${s}`);
        expect(first.affinity).toBe('new');
        routes.add(first.route!);
        for (let i = 0; i < 4; i++) expect(await ask(proxy, `conv-${s}`, i % 2 === 1)).toEqual({ status: 200, route: first.route, affinity: 'hit' });
      }
      // The spoke's own route (account and region) comes back; sessions spread over more than one.
      expect(routes.size).toBeGreaterThan(1);
      // The spoke that served conv-0, asked directly, knows the session: the proxy passed it on.
      const conv0 = [...routes][0];
      const spoke = spokes.find((g) => g.gateway.routeTable.allRoutes().some((r) => r.key === conv0));
      expect(await ask(spoke!, 'conv-0')).toEqual({ status: 200, route: conv0, affinity: 'hit' });
    } finally {
      await proxy.close();
      await Promise.all(spokes.map((g) => g.close()));
    }
  });
});
