/**
 * Admission by capacity class in each quota store: a request with a share is admitted
 * only while the route's total use (every class) plus it stays within that share of rpm
 * and tpm; refused while the whole limit still has room, the reason is `reserved` and the
 * wait is until the class fits again. Atomic in Redis: two instances together never take
 * more than the share.
 */
import { Redis } from 'ioredis';
import { capacityClasses, classLimits } from '../../runtime/src/quota/capacity-class';
import { shareOf } from '../../runtime/src/core/priority';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import { RedisQuotaStore } from '../../runtime/src/quota/redis-store';
import { ResilientQuotaStore } from '../../runtime/src/quota/resilient-store';
import type { Admission, QuotaStore } from '../../runtime/src/quota/store';
import { ManualClock } from '../helpers/manual-clock';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';

const BATCH = { share: 0.6 };
const STANDARD = { share: 0.8 };

describe('class shares', () => {
  it('are whole requests and tokens, rounded down, and default the batch ceiling to the standard share', () => {
    expect(shareOf(50, 0.6)).toBe(30);
    expect(shareOf(7, 0.6)).toBe(4);
    expect(classLimits({ rpm: 10, tpm: 1001 }, 0.5)).toEqual({ rpm: 5, tpm: 500 });
    expect(capacityClasses(undefined)).toBeUndefined();
    const classes = capacityClasses({ criticalReserve: 0.2, waitMs: 0 })!;
    expect(classes.critical.share).toBe(1);
    expect(classes.standard.share).toBeCloseTo(0.8);
    expect(classes.batch.share).toBeCloseTo(0.8);
    expect(capacityClasses({ criticalReserve: 0.2, batchCeiling: 0.5, waitMs: 300 })!.batch).toEqual({ priority: 'batch', share: 0.5, waitMs: 300 });
  });
});

/** The same behaviour from every store. */
function behavesByClass(name: string, make: () => { store: QuotaStore; clock: ManualClock }) {
  describe(name, () => {
    const ok = (a: Admission) => a.ok;
    it('admits batch to its ceiling, then standard to its share, then critical to the whole limit', async () => {
      const { store } = make();
      const limits = { rpm: 10 };
      const batch = [];
      for (let i = 0; i < 8; i++) batch.push(await store.reserve('r', limits, 1, BATCH));
      expect(batch.filter(ok)).toHaveLength(6);
      expect(batch[6]).toMatchObject({ ok: false, reason: 'reserved' });
      const standard = [];
      for (let i = 0; i < 4; i++) standard.push(await store.reserve('r', limits, 1, STANDARD));
      expect(standard.filter(ok)).toHaveLength(2);
      expect(standard[2]).toMatchObject({ ok: false, reason: 'reserved' });
      const critical = [];
      for (let i = 0; i < 4; i++) critical.push(await store.reserve('r', limits, 1));
      expect(critical.filter(ok)).toHaveLength(2);
      expect(critical[2]).toMatchObject({ ok: false, reason: 'rpm' });
      // The route is full for everyone now: not a reservation any more.
      expect(await store.reserve('r', limits, 1, BATCH)).toMatchObject({ ok: false, reason: 'rpm' });
    });

    it('counts tokens against the share and waits until the class fits again', async () => {
      const { store, clock } = make();
      const limits = { tpm: 1000 };
      expect(await store.reserve('t', limits, 500, BATCH)).toMatchObject({ ok: true });
      clock.advance(10_000);
      const refused = await store.reserve('t', limits, 200, BATCH);
      expect(refused).toMatchObject({ ok: false, reason: 'reserved' });
      // The first reservation leaves the window 50 s from now: then 200 more fit under 600.
      if (!refused.ok) expect(refused.retryAfterMs).toBe(50_000);
      expect(await store.reserve('t', limits, 500)).toMatchObject({ ok: true });
      clock.advance(50_001);
      expect(await store.reserve('t', limits, 100, BATCH)).toMatchObject({ ok: true });
    });

    it("says how many tokens are left when only the request's size does not fit, in the class's share", async () => {
      const { store } = make();
      const limits = { rpm: 10, tpm: 1000 };
      expect(await store.reserve('left', limits, 700)).toMatchObject({ ok: true });
      expect(await store.reserve('left', limits, 500)).toEqual({ ok: false, reason: 'tpm', retryAfterMs: 60_000, tokensLeft: 300 });
      // Batch's share is 600 of the 1,000: nothing left for it.
      const batch = await store.reserve('left', limits, 500, BATCH);
      expect(batch).toMatchObject({ ok: false, reason: 'tpm' });
      expect(batch).not.toHaveProperty('tokensLeft');
      expect(await store.reserve('left', limits, 300)).toMatchObject({ ok: true });
      expect(await store.reserve('left', limits, 1)).toEqual({ ok: false, reason: 'tpm', retryAfterMs: 60_000 });
      // Out of requests: no request fits, whatever its size.
      expect(await store.reserve('one', { rpm: 1, tpm: 1000 }, 1)).toMatchObject({ ok: true });
      expect(await store.reserve('one', { rpm: 1, tpm: 1000 }, 1)).toEqual({ ok: false, reason: 'rpm', retryAfterMs: 60_000 });
    });

    it('leaves a route without limits unreserved', async () => {
      const { store } = make();
      for (let i = 0; i < 20; i++) expect(await store.reserve('free', {}, 10, { share: 0.1 })).toMatchObject({ ok: true });
    });
  });
}

behavesByClass('MemoryQuotaStore', () => {
  const clock = new ManualClock(1_000_000);
  return { store: new MemoryQuotaStore(clock), clock };
});

describe('on a real redis-server', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const stores: ResilientQuotaStore[] = [];
  let n = 0;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(clients.map((c) => c.quit()));
    await server.close();
  });
  const client = () => {
    const c = new Redis(server.url);
    clients.push(c);
    return c;
  };

  let prefix = '';
  behavesByClass('RedisQuotaStore', () => {
    const clock = new ManualClock(1_000_000);
    prefix = `cls${++n}:`;
    return { store: new RedisQuotaStore({ client: client(), clock, prefix, timeSource: 'clock' }), clock };
  });

  it('two instances flooding batch at once never take more than the batch share', async () => {
    const clock = new ManualClock(2_000_000);
    const p = `cls-flood${++n}:`;
    const a = new RedisQuotaStore({ client: client(), clock, prefix: p, timeSource: 'clock' });
    const b = new RedisQuotaStore({ client: client(), clock, prefix: p, timeSource: 'clock' });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).reserve('flood', { rpm: 100, tpm: 100_000 }, 10, BATCH)));
    expect(answers.filter((x) => x.ok)).toHaveLength(60);
    expect(answers.filter((x) => !x.ok).every((x) => !x.ok && x.reason === 'reserved')).toBe(true);
    // The reserve is whole for critical requests from either instance.
    const critical = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).reserve('flood', { rpm: 100, tpm: 100_000 }, 10)));
    expect(critical.every((x) => x.ok)).toBe(true);
  });

  it('keeps the class share on local estimates while Redis is away', async () => {
    const clock = new ManualClock(3_000_000);
    const store = new ResilientQuotaStore({
      client: new Redis(`redis://127.0.0.1:1`, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null }),
      clock,
      startupWaitMs: 20,
    });
    stores.push(store);
    expect(await store.ready()).toBe(false);
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await store.reserve('down', { rpm: 10 }, 1, BATCH));
    expect(answers.filter((x) => x.ok)).toHaveLength(6);
    expect(answers[6]).toMatchObject({ ok: false, reason: 'reserved' });
  });
});
