/**
 * A tenant's requests-per-minute live in the quota store, so every gateway instance that
 * shares the store shares the limit: with `state.redis`, a real redis-server on loopback;
 * without it, any store the instances share.
 */
import { hashKey } from '../../runtime/src/tenants/auth';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import type { QuotaStore } from '../../runtime/src/quota/store';
import { systemClock } from '../../runtime/src/core/clock';
import { simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { startFakeOpenAI } from '../fakes/openai';
import type { ErrorBody } from '../helpers/gateway';
import { sleep } from '../helpers/until';
import { CHAT, chatAs, waitUntil } from './helpers';

const doc = (extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput => ({
  ...simulatedConfig(),
  tenants: [
    { id: 'team-a', keys: [hashKey('key-a')], limits: { rpm: 6 } },
    { id: 'team-b', keys: [hashKey('key-b')], limits: { rpm: 6 } },
  ],
  ...extra,
});

/** 12 requests of team-a, alternating between the instances; then one of team-b. */
async function alternate(gws: TestGateway[]) {
  const statuses: number[] = [];
  const retryAfter: Array<string | null> = [];
  for (let i = 0; i < 12; i++) {
    const res = await chatAs(gws[i % 2].url, 'key-a');
    await res.arrayBuffer();
    statuses.push(res.status);
    if (res.status === 429) retryAfter.push(res.headers.get('retry-after'));
  }
  return { statuses, retryAfter, other: (await chatAs(gws[0].url, 'key-b')).status };
}

describe('tenant limits shared by gateway instances', () => {
  let gws: TestGateway[] = [];
  afterEach(async () => {
    await Promise.all(gws.map((g) => g.close()));
    gws = [];
  });

  it('through Redis (state.redis): two instances admit the tenant rpm once between them', async () => {
    const redis: RedisServer = await startRedisServer();
    try {
      const config = doc({ state: { redis: redis.url } });
      // Generous Redis deadline: this test is about sharing, not about a slow Redis.
      const store = (): QuotaStore => createQuotaStore(parseConfig(config), systemClock, { commandTimeoutMs: 2000, startupWaitMs: 5000 });
      gws = [await startGateway(config, 'all-in-one', { quota: store() }), await startGateway(config, 'all-in-one', { quota: store() })];
      const seen = await alternate(gws);
      expect(seen.statuses).toEqual([...Array<number>(6).fill(200), ...Array<number>(6).fill(429)]);
      expect(seen.retryAfter.every((s) => s !== null && Number(s) >= 1 && Number(s) <= 60)).toBe(true);
      expect(seen.other).toBe(200);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
      gws = [];
      await redis.close();
    }
  });

  it('concurrency through Redis: two instances admit the tenant concurrency once between them', async () => {
    const redis: RedisServer = await startRedisServer();
    const up = await startFakeOpenAI();
    try {
      const config: GatewayConfigInput = {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: up.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
        tenants: [{ id: 'team-a', keys: [hashKey('key-a')], limits: { concurrency: 2 } }],
        state: { redis: redis.url },
      };
      const store = (): QuotaStore => createQuotaStore(parseConfig(config), systemClock, { commandTimeoutMs: 2000, startupWaitMs: 5000 });
      gws = [await startGateway(config, 'all-in-one', { quota: store(), probes: false }), await startGateway(config, 'all-in-one', { quota: store(), probes: false })];
      // Two requests in flight on the first instance: the provider holds them.
      up.faults.push({ kind: 'hang' }, { kind: 'hang' });
      const clients = [new AbortController(), new AbortController()];
      const held = clients.map((c) => chatAs(gws[0].url, 'key-a', CHAT, { signal: c.signal }).catch((e: Error) => e));
      await waitUntil('both requests reach the provider', () => up.inFlight() === 2);
      const refused = await chatAs(gws[1].url, 'key-a');
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('tenant_concurrency_limited');
      // The clients leave: their slots come back, on the other instance too.
      for (const c of clients) c.abort();
      await Promise.all(held);
      await waitUntil('the provider saw them go', () => up.inFlight() === 0);
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        const res = await chatAs(gws[1].url, 'key-a');
        await res.arrayBuffer();
        status = res.status;
        if (status !== 200) await sleep(20);
      }
      expect(status).toBe(200);
    } finally {
      await Promise.all(gws.map((g) => g.close()));
      gws = [];
      await up.close();
      await redis.close();
    }
  });

  it('through any shared QuotaStore', async () => {
    const shared = new MemoryQuotaStore(systemClock);
    gws = [await startGateway(doc(), 'all-in-one', { quota: shared }), await startGateway(doc(), 'all-in-one', { quota: shared })];
    const seen = await alternate(gws);
    expect(seen.statuses).toEqual([...Array<number>(6).fill(200), ...Array<number>(6).fill(429)]);
    expect(seen.other).toBe(200);
  });

  it('(control) with a store each, every instance counts only its own requests', async () => {
    gws = [await startGateway(doc()), await startGateway(doc())];
    const seen = await alternate(gws);
    expect(seen.statuses.filter((s) => s === 200)).toHaveLength(12);
  });
});
