/**
 * After a cooldown ends, one request probes the route and the others wait for its
 * verdict, instead of a burst; a request that chose to wait for the cooldown goes first.
 * The same rules in memory and, shared by instances, in Redis (a real redis-server).
 */
import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import { RedisQuotaStore } from '../../runtime/src/quota/redis-store';
import { PROBE_TIMEOUT_MS, RECOVERY_MS, type QuotaStore } from '../../runtime/src/quota/store';
import { ManualClock } from '../helpers/manual-clock';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';

const KEY = 'p/a/r/m';

let server: RedisServer;
const clients: Redis[] = [];
let prefixes = 0;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await server?.close();
});

/** Two instances of the gateway sharing one store (memory: one process, so the same store). */
const kinds: Array<[string, (clock: ManualClock) => [QuotaStore, QuotaStore]]> = [
  [
    'memory',
    (clock) => {
      const s = new MemoryQuotaStore(clock);
      return [s, s];
    },
  ],
  [
    'redis',
    (clock) => {
      const prefix = `probe${++prefixes}:`;
      const make = () => {
        const client = new Redis(server.url);
        clients.push(client);
        return new RedisQuotaStore({ client, clock, prefix, timeSource: 'clock' });
      };
      return [make(), make()];
    },
  ],
];

describe.each(kinds)('cooldown probe (%s)', (_kind, stores) => {
  let clock: ManualClock;
  let a: QuotaStore;
  let b: QuotaStore;
  beforeEach(() => {
    clock = new ManualClock(50_000_000);
    [a, b] = stores(clock);
  });

  it('lets one request probe when the cooldown ends; the others wait for its verdict', async () => {
    await a.cooldown(KEY, clock.now() + 2000, 'throttled');
    expect(await b.reserve(KEY, {}, 1)).toMatchObject({ ok: false, reason: 'cooldown', retryAfterMs: 2000 });
    clock.advance(2000);
    const probe = await b.reserve(KEY, {}, 1);
    expect(probe).toMatchObject({ ok: true, probe: expect.any(String) });
    const other = await a.reserve(KEY, {}, 1);
    expect(other).toMatchObject({ ok: false, reason: 'cooldown' });
    if (!other.ok) expect(other.retryAfterMs).toBeLessThanOrEqual(1000);
    if (probe.ok) await b.endProbe(KEY, probe.probe!, true);
    const after = await a.reserve(KEY, {}, 1);
    expect(after.ok).toBe(true);
    expect(after.ok && after.probe).toBeUndefined(); // open to everyone again
  });

  it('a probe that failed hands the slot to the next request', async () => {
    await a.cooldown(KEY, clock.now() + 1000, 'throttled');
    clock.advance(1000);
    const first = await a.reserve(KEY, {}, 1);
    expect(first.ok && first.probe).toBeTruthy();
    if (first.ok) await a.endProbe(KEY, first.probe!, false);
    const second = await b.reserve(KEY, {}, 1);
    expect(second.ok && second.probe).toBeTruthy();
  });

  it('the request that waited for the cooldown goes first after it; nobody else before its verdict', async () => {
    const until = clock.now() + 2000;
    await a.cooldown(KEY, until, 'throttled');
    expect(await a.claimProbe(KEY, 'req-1', until)).toBe(true);
    expect(await b.claimProbe(KEY, 'req-2', until)).toBe(false); // one waiter only: the other falls back
    clock.advance(2000);
    expect(await b.reserve(KEY, {}, 1)).toMatchObject({ ok: false, reason: 'cooldown' });
    const mine = await a.reserve(KEY, {}, 1, { probe: 'req-1' });
    expect(mine).toMatchObject({ ok: true, probe: 'req-1' });
    await a.endProbe(KEY, 'req-1', true);
    expect((await b.reserve(KEY, {}, 1)).ok).toBe(true);
  });

  it('a cooldown that ended long ago with no request since is simply over', async () => {
    await a.cooldown(KEY, clock.now() + 1000, 'throttled');
    clock.advance(1000 + RECOVERY_MS);
    const r = await b.reserve(KEY, {}, 1);
    expect(r.ok).toBe(true);
    if (_kind === 'memory') expect(r.ok && r.probe).toBeUndefined(); // Redis forgets it by key expiry, in real time
  });
});

it('a probe that never reports back frees its slot after PROBE_TIMEOUT_MS (memory)', async () => {
  const clock = new ManualClock(1_000_000);
  const s = new MemoryQuotaStore(clock);
  await s.cooldown(KEY, clock.now() + 1000, 'throttled');
  clock.advance(1000);
  expect((await s.reserve(KEY, {}, 1)).ok).toBe(true);
  expect((await s.reserve(KEY, {}, 1)).ok).toBe(false);
  clock.advance(PROBE_TIMEOUT_MS);
  expect(await s.reserve(KEY, {}, 1)).toMatchObject({ ok: true, probe: expect.any(String) });
});
