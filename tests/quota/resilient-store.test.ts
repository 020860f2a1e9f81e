import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { parseConfig } from '../../runtime/src/config/load';
import { createQuotaStore, quotaHealth } from '../../runtime/src/quota/factory';
import { createRedisClient } from '../../runtime/src/quota/redis-client';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import { routeKeys } from '../../runtime/src/quota/redis-store';
import { ResilientQuotaStore, type ResilientQuotaStoreOptions } from '../../runtime/src/quota/resilient-store';
import type { QuotaStore, Reservation } from '../../runtime/src/quota/store';
import { systemClock } from '../../runtime/src/core/clock';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';

const ROUTE = 'openai/acct-a/us-east-1/gpt-4o';

describe('ResilientQuotaStore on a real redis-server', () => {
  let server: RedisServer;
  let stores: QuotaStore[] = [];
  let admins: Redis[] = [];
  let prefix = '';
  let prefixes = 0;

  beforeEach(async () => {
    server = await startRedisServer();
    prefix = `resilient${++prefixes}:`;
  });
  afterEach(async () => {
    await Promise.all(stores.map(async (s) => s.close?.()));
    await Promise.all(admins.map((c) => c.quit()));
    stores = [];
    admins = [];
    await server.close();
  });

  /** One gateway instance with quick heartbeats so the tests stay short; a generous deadline so a busy CI box does not degrade it. */
  function instance(opts: Partial<ResilientQuotaStoreOptions> = {}, url = server.url): ResilientQuotaStore {
    const commandTimeoutMs = opts.commandTimeoutMs ?? 500;
    const store = new ResilientQuotaStore({
      client: createRedisClient(url, { reconnectMaxMs: 100, commandTimeoutMs }),
      clock: systemClock,
      prefix,
      commandTimeoutMs,
      heartbeatMs: 100,
      probeMs: 50,
      ...opts,
    });
    stores.push(store);
    return store;
  }

  function admin(): Redis {
    const client = new Redis(server.url);
    admins.push(client);
    return client;
  }

  /** Polls `cond` for at most ~5 s. */
  async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (await cond()) return;
      await sleep(25);
    }
    throw new Error(`still not true after waiting: ${what}`);
  }

  it('shares one count across instances through Redis while it works', async () => {
    const a = instance();
    const b = instance();
    expect(await a.ready()).toBe(true);
    expect(await b.ready()).toBe(true);
    await eventually(() => a.health().instances === 2 && b.health().instances === 2, 'both instances see each other');
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).reserve(ROUTE, { rpm: 60 }, 10)));
    expect(answers.filter((x) => x.ok)).toHaveLength(60);
    expect(a.health()).toMatchObject({ backend: 'redis', degraded: false });
    expect(await admin().zcard(routeKeys(prefix, ROUTE).window)).toBe(60);
  });

  it('cancel: an admission taken back leaves the shared count in Redis, and the local one while Redis is away', async () => {
    const a = instance();
    const b = instance();
    await Promise.all([a.ready(), b.ready()]);
    const first = await a.reserve(ROUTE, { rpm: 2 }, 10);
    expect(first.ok).toBe(true);
    await a.cancel((first as { reservation: Reservation }).reservation);
    expect(await admin().zcard(routeKeys(prefix, ROUTE).window)).toBe(0);
    // The other instance still gets the whole limit.
    expect((await b.reserve(ROUTE, { rpm: 2 }, 10)).ok).toBe(true);
    expect((await b.reserve(ROUTE, { rpm: 2 }, 10)).ok).toBe(true);
    expect((await b.reserve(ROUTE, { rpm: 2 }, 10)).ok).toBe(false);

    // Redis away: the admission counts locally and is taken back locally ...
    await server.kill();
    const other = 'openai/acct-b/us-east-1/gpt-4o';
    await eventually(() => a.health().degraded, 'a notices Redis is gone');
    const local = await a.reserve(other, { rpm: 1 }, 10);
    expect(a.peek(other, { rpm: 1 }).requestsUsed).toBe(1);
    await a.cancel((local as { reservation: Reservation }).reservation);
    expect(a.peek(other, { rpm: 1 })).toMatchObject({ requestsUsed: 0, tokensUsed: 0 });
    // One kept admission on a route after it: once Redis has it, the re-count has passed the one taken back.
    const kept = 'openai/acct-c/us-east-1/gpt-4o';
    expect((await a.reserve(kept, { rpm: 1 }, 10)).ok).toBe(true);
    // ... and a Redis back (empty) is not given it when this instance re-counts what it admitted.
    await server.restart();
    await eventually(() => !a.health().degraded, 'a sees Redis again');
    await eventually(async () => (await admin().zcard(routeKeys(prefix, kept).window)) === 1, 'the kept admission is re-counted in Redis');
    expect(await admin().zcard(routeKeys(prefix, other).window)).toBe(0);
  });

  it('Redis killed mid-load: no call fails, each instance keeps to its share, and Redis takes over again after a restart', async () => {
    const a = instance();
    const b = instance();
    await Promise.all([a.ready(), b.ready()]);
    await eventually(() => a.health().instances === 2 && b.health().instances === 2, 'both instances see each other');
    const limits = { rpm: 160 };
    let admitted = 0;
    let failures = 0;
    let killed: Promise<void> | undefined;
    for (let i = 0; i < 200; i++) {
      if (i === 100) killed = server.kill();
      try {
        if ((await (i % 2 ? a : b).reserve(ROUTE, limits, 10)).ok) admitted++;
      } catch {
        failures++;
      }
    }
    await killed;
    expect(failures).toBe(0);
    // 100 through Redis (50 each), then each instance alone up to its half: 80 - 50 = 30 more.
    expect(admitted).toBe(160);
    for (const s of [a, b]) {
      expect(s.health()).toMatchObject({ backend: 'memory', degraded: true, instances: 2 });
      expect(s.health().lastError).toBeTruthy();
      expect(s.health().since).toBeGreaterThan(0);
      // Degraded headroom is this instance's share: 80 used of 80.
      expect(s.peek(ROUTE, limits)).toMatchObject({ requestsUsed: 80, fraction: 0 });
    }
    // Cooldowns and settlements while degraded still work and never throw.
    await a.cooldown('other-route', Date.now() + 30_000, 'throttled');
    await expect(a.reserve('other-route', {}, 1)).resolves.toMatchObject({ ok: false, reason: 'cooldown' });

    await server.restart();
    await eventually(() => !a.health().degraded && !b.health().degraded, 'degraded clears after Redis is back');
    expect(a.health()).toMatchObject({ backend: 'redis', degraded: false });
    // The restarted Redis is empty; both instances re-counted their minute there.
    const redis = admin();
    await eventually(async () => (await redis.zcard(routeKeys(prefix, ROUTE).window)) >= 160, 'both minutes re-counted in Redis');
    expect(await redis.zcard(routeKeys(prefix, ROUTE).window)).toBe(160);
    expect(await b.reserve(ROUTE, limits, 10)).toMatchObject({ ok: false, reason: 'rpm' });
    // The cooldown set while degraded reached Redis too.
    expect(await redis.exists(routeKeys(prefix, 'other-route').cooldown)).toBe(1);
  });

  it('a Redis that stops answering: calls come back without it, degraded until it answers again', async () => {
    const a = instance({ commandTimeoutMs: 100 });
    expect(await a.ready()).toBe(true);
    const held = await a.reserve('settled-route', { tpm: 1000 }, 700);
    server.pause();
    try {
      // Resolving at all while Redis is frozen shows the call did not wait for it.
      expect((await a.reserve(ROUTE, { rpm: 10 }, 5)).ok).toBe(true);
      expect(a.health()).toMatchObject({ backend: 'memory', degraded: true });
      expect(a.health().lastError).toMatch(/did not answer within 100 ms/);
      expect((await a.reserve(ROUTE, { rpm: 10 }, 5)).ok).toBe(true);
      if (held.ok) await a.release(held.reservation);
    } finally {
      server.resume();
    }
    await eventually(() => !a.health().degraded, 'degraded clears once Redis answers');
    expect((await a.reserve('fresh-route', { rpm: 10 }, 5)).ok).toBe(true);
    const redis = admin();
    expect(await redis.zcard(routeKeys(prefix, 'fresh-route').window)).toBe(1);
    // The release made while Redis was frozen reaches it once it answers.
    await eventually(async () => (await redis.hget(routeKeys(prefix, 'settled-route').meta, 'sum')) === '0', 'released tokens synced to Redis');
  });

  it('no Redis at all: serves on local limits from the first call and closes cleanly', async () => {
    const a = instance({ startupWaitMs: 200 }, 'redis://127.0.0.1:1');
    expect(await a.ready()).toBe(false);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await a.reserve(ROUTE, { rpm: 3 }, 1));
    expect(answers.map((x) => x.ok)).toEqual([true, true, true, false]);
    expect(answers[3]).toMatchObject({ ok: false, reason: 'rpm' });
    expect(a.health()).toMatchObject({ backend: 'memory', degraded: true, instances: 1 });
    expect(a.health().lastError).toMatch(/Redis not reachable|ECONNREFUSED|closed/);
  });

  it('an instance that leaves gives its share back to the others', async () => {
    const a = instance();
    const b = instance();
    await Promise.all([a.ready(), b.ready()]);
    await eventually(() => a.health().instances === 2, 'a sees b');
    await b.close();
    await eventually(() => a.health().instances === 1, 'a no longer counts b');
  });

  it('createQuotaStore: memory without state.redis, resilient Redis with it', async () => {
    const memory = createQuotaStore(parseConfig({}), systemClock);
    expect(memory).toBeInstanceOf(MemoryQuotaStore);
    expect(quotaHealth(memory)).toEqual({ backend: 'memory', degraded: false, instances: 1 });

    const shared = createQuotaStore(parseConfig({ state: { redis: server.url } }), systemClock, { prefix, heartbeatMs: 100 });
    stores.push(shared);
    expect(shared).toBeInstanceOf(ResilientQuotaStore);
    expect(await (shared as ResilientQuotaStore).ready()).toBe(true);
    expect(quotaHealth(shared)).toMatchObject({ backend: 'redis', degraded: false });
    expect((await shared.reserve(ROUTE, { rpm: 1 }, 1)).ok).toBe(true);
    expect(await admin().zcard(routeKeys(prefix, ROUTE).window)).toBe(1);
  });
});
