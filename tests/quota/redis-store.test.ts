import { Redis } from 'ioredis';
import { RedisQuotaStore, routeKeys, type RedisQuotaStoreOptions } from '../../runtime/src/quota/redis-store';
import { systemClock } from '../../runtime/src/core/clock';
import { ManualClock } from '../helpers/manual-clock';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';

describe('RedisQuotaStore on a real redis-server', () => {
  let server: RedisServer;
  let clients: Redis[] = [];
  let prefixes = 0;
  let prefix = '';

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    prefix = `test${++prefixes}:`;
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    clients = [];
  });

  /** One gateway instance: its own connection, the shared prefix. */
  function instance(opts: Partial<RedisQuotaStoreOptions> = {}): RedisQuotaStore {
    const client = new Redis(server.url);
    clients.push(client);
    return new RedisQuotaStore({ client, clock: systemClock, prefix, ...opts });
  }

  function admin(): Redis {
    const client = new Redis(server.url);
    clients.push(client);
    return client;
  }

  it('two instances sharing rpm 60 admit exactly 60 of 120 concurrent requests', async () => {
    const a = instance();
    const b = instance();
    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).reserve('openai/acct/us/gpt', { rpm: 60 }, 10)));
    expect(answers.filter((x) => x.ok)).toHaveLength(60);
    for (const denied of answers.filter((x) => !x.ok)) {
      expect(denied).toMatchObject({ ok: false, reason: 'rpm' });
      if (!denied.ok) expect(denied.retryAfterMs).toBeGreaterThan(0);
      if (!denied.ok) expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    const ids = answers.flatMap((x) => (x.ok ? [x.reservation.id] : []));
    expect(new Set(ids).size).toBe(60);
  });

  it('shares token counts and reconciles one instance reservation with real usage', async () => {
    const a = instance();
    const b = instance();
    const first = await a.reserve('r', { tpm: 1000 }, 600);
    expect(first.ok).toBe(true);
    expect(await b.reserve('r', { tpm: 1000 }, 600)).toMatchObject({ ok: false, reason: 'tpm' });
    if (first.ok) await a.reconcile(first.reservation, 100);
    expect(a.peek('r', { tpm: 1000 }).tokensUsed).toBe(100);
    const second = await b.reserve('r', { tpm: 1000 }, 600);
    expect(second.ok).toBe(true);
    expect(b.peek('r', { tpm: 1000 })).toMatchObject({ requestsUsed: 2, tokensUsed: 700 });
    expect(b.peek('r', { tpm: 1000 }).fraction).toBeCloseTo(0.3);
  });

  it('release drops the tokens but keeps the request counted', async () => {
    const a = instance();
    const b = instance();
    const first = await a.reserve('r', { rpm: 2, tpm: 1000 }, 900);
    if (first.ok) await a.release(first.reservation);
    expect((await b.reserve('r', { rpm: 2, tpm: 1000 }, 900)).ok).toBe(true);
    expect(await b.reserve('r', { rpm: 2, tpm: 1000 }, 1)).toMatchObject({ ok: false, reason: 'rpm' });
  });

  it('a cooldown set by one instance stops the other, and the later cooldown wins', async () => {
    const a = instance();
    const b = instance();
    await a.cooldown('r', Date.now() + 5000, 'throttled');
    await a.cooldown('r', Date.now() + 1000, 'shorter');
    const denied = await b.reserve('r', {}, 1);
    expect(denied).toMatchObject({ ok: false, reason: 'cooldown' });
    if (!denied.ok) expect(denied.retryAfterMs).toBeGreaterThan(1000);
    if (!denied.ok) expect(denied.retryAfterMs).toBeLessThanOrEqual(5000);
    const seen = b.peek('r', {});
    expect(seen.cooldownReason).toBe('throttled');
    expect(seen.cooldownUntil).toBeGreaterThan(Date.now() + 1000);
  });

  it('rate-limit headers seen by one instance cap the other', async () => {
    const a = instance();
    const b = instance();
    await a.observe('r', { remainingRequests: 1, resetRequestsMs: 5000, remainingTokens: 500, resetTokensMs: 5000 });
    expect((await b.reserve('r', {}, 100)).ok).toBe(true);
    const denied = await a.reserve('r', {}, 100);
    expect(denied).toMatchObject({ ok: false, reason: 'provider-limit' });
  });

  it('keeps an exact sliding window on the injected clock and says when the next request fits', async () => {
    const clock = new ManualClock(10_000_000);
    const a = instance({ clock, timeSource: 'clock' });
    const b = instance({ clock, timeSource: 'clock' });
    for (let i = 0; i < 3; i++) {
      expect((await (i % 2 ? a : b).reserve('r', { rpm: 3 }, 10)).ok).toBe(true);
      clock.advance(10_000);
    }
    expect(await a.reserve('r', { rpm: 3 }, 10)).toEqual({ ok: false, reason: 'rpm', retryAfterMs: 30_000 });
    clock.advance(30_000);
    expect((await b.reserve('r', { rpm: 3 }, 10)).ok).toBe(true);
  });

  it('says when enough tokens leave the window', async () => {
    const clock = new ManualClock(10_000_000);
    const a = instance({ clock, timeSource: 'clock' });
    await a.reserve('r', { tpm: 1000 }, 400);
    clock.advance(20_000);
    await a.reserve('r', { tpm: 1000 }, 400);
    clock.advance(20_000);
    // 800 used; 500 more fits once the first 400 have left: 20 s from now.
    expect(await a.reserve('r', { tpm: 1000 }, 500)).toEqual({ ok: false, reason: 'tpm', retryAfterMs: 20_000, tokensLeft: 200 });
    expect(await a.reserve('r', { tpm: 1000 }, 1001)).toEqual({ ok: false, reason: 'tpm', retryAfterMs: 60_000, tokensLeft: 200 });
  });

  it('a reconcile that comes after the reservation left the window changes nothing', async () => {
    const clock = new ManualClock(10_000_000);
    const a = instance({ clock, timeSource: 'clock' });
    const old = await a.reserve('r', { tpm: 1000 }, 100);
    clock.advance(61_000);
    expect((await a.reserve('r', { tpm: 1000 }, 900)).ok).toBe(true);
    if (old.ok) await a.reconcile(old.reservation, 800);
    expect(a.peek('r', { tpm: 1000 }).tokensUsed).toBe(900);
    expect(await a.reserve('r', { tpm: 1000 }, 200)).toMatchObject({ ok: false, reason: 'tpm' });
  });

  it('every key it writes expires within about two minutes', async () => {
    const a = instance();
    const res = await a.reserve('r', { rpm: 10 }, 5);
    if (res.ok) await a.reconcile(res.reservation, 7);
    await a.cooldown('r', Date.now() + 3000, 'throttled');
    await a.observe('r', { remainingRequests: 3, resetRequestsMs: 4000 });
    await a.heartbeat('instance-1', 3000, 'gen-1');
    const redis = admin();
    const keys = await redis.keys(`${prefix}*`);
    const k = routeKeys(prefix, 'r');
    expect(keys).toEqual(expect.arrayContaining([k.window, k.tokens, k.meta, k.cooldown, k.provider]));
    for (const key of keys.filter((x) => x !== `${prefix}generation`)) {
      const ttl = await redis.pttl(key);
      expect([key, ttl > 0 && ttl <= 120_000]).toEqual([key, true]);
    }
    // The dataset's generation marker outlives the windows but still expires.
    expect(await redis.pttl(`${prefix}generation`)).toBeGreaterThan(0);
  });

  it('counts live instances by heartbeat and forgets one that leaves', async () => {
    const a = instance();
    const b = instance();
    expect((await a.heartbeat('a', 5000, 'g-a')).instances).toBe(1);
    const hb = await b.heartbeat('b', 5000, 'g-b');
    // The first instance named the dataset; the second one joins it.
    expect(hb).toEqual({ instances: 2, generation: 'g-a' });
    await b.leave('b');
    expect((await a.heartbeat('a', 5000, 'g-x')).instances).toBe(1);
  });

  it('adopts reservations admitted elsewhere into the shared window', async () => {
    const a = instance();
    const ids = await a.adopt('r', [
      { ageMs: 1000, tokens: 100 },
      { ageMs: 70_000, tokens: 100 },
    ]);
    expect(ids[0]).toBeGreaterThan(0);
    expect(ids[1]).toBe(0);
    expect(await a.reserve('r', { rpm: 1 }, 1)).toMatchObject({ ok: false, reason: 'rpm' });
    expect(a.peek('r', { rpm: 1 })).toMatchObject({ requestsUsed: 1, tokensUsed: 100 });
  });

  it('forgets the local snapshots of routes unused for a minute (spoke addresses gone), keeping those in cooldown', async () => {
    const clock = new ManualClock(10_000_000);
    const a = instance({ clock, timeSource: 'clock' });
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => a.reserve(`spokes/s1/10.0.${i >> 8}.${i & 255}/chat`, { rpm: 100 }, 10)));
    await a.cooldown('spokes/s1/10.0.0.0/chat', clock.now() + 120_000, 'throttled');
    expect(a.size).toBe(2_000);
    clock.advance(60_000);
    await a.reserve('spokes/s1/10.1.0.1/chat', { rpm: 100 }, 10);
    expect(a.size).toBe(2);
    expect(a.peek('spokes/s1/10.0.0.0/chat', {}).cooldownReason).toBe('throttled');
  });
});
