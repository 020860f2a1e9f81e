import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import { ManualClock } from '../helpers/manual-clock';

describe('MemoryQuotaStore', () => {
  let clock: ManualClock;
  let store: MemoryQuotaStore;
  beforeEach(() => {
    clock = new ManualClock(10_000_000);
    store = new MemoryQuotaStore(clock);
  });

  it('admits up to rpm in a sliding minute and says when the next one fits', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await store.reserve('r', { rpm: 3 }, 10)).ok).toBe(true);
      clock.advance(10_000);
    }
    const denied = await store.reserve('r', { rpm: 3 }, 10);
    expect(denied).toEqual({ ok: false, reason: 'rpm', retryAfterMs: 30_000 });
    clock.advance(30_000);
    expect((await store.reserve('r', { rpm: 3 }, 10)).ok).toBe(true);
  });

  it('reserves estimated tokens and reconciles them with real usage', async () => {
    const a = await store.reserve('r', { tpm: 1000 }, 600);
    expect(a.ok).toBe(true);
    expect((await store.reserve('r', { tpm: 1000 }, 600)).ok).toBe(false);
    if (a.ok) await store.reconcile(a.reservation, 100);
    expect(store.peek('r', { tpm: 1000 }).tokensUsed).toBe(100);
    expect((await store.reserve('r', { tpm: 1000 }, 600)).ok).toBe(true);
  });

  it('releases the tokens of a failed attempt but keeps the request counted', async () => {
    const a = await store.reserve('r', { rpm: 10, tpm: 1000 }, 900);
    if (a.ok) await store.release(a.reservation);
    expect(store.peek('r', { rpm: 10, tpm: 1000 })).toMatchObject({ requestsUsed: 1, tokensUsed: 0 });
  });

  it('refuses during a cooldown and reports it', async () => {
    await store.cooldown('r', clock.now() + 5000, 'throttled');
    expect(await store.reserve('r', {}, 1)).toEqual({ ok: false, reason: 'cooldown', retryAfterMs: 5000 });
    expect(store.peek('r', {}).cooldownReason).toBe('throttled');
    clock.advance(5000);
    expect((await store.reserve('r', {}, 1)).ok).toBe(true);
    expect(store.peek('r', {}).cooldownUntil).toBeUndefined();
  });

  it('learns from rate-limit headers: remaining 0 means no headroom until the reset', async () => {
    await store.observe('r', { remainingRequests: 1, resetRequestsMs: 2000, remainingTokens: 500, resetTokensMs: 2000 });
    expect((await store.reserve('r', {}, 100)).ok).toBe(true);
    expect(await store.reserve('r', {}, 100)).toMatchObject({ ok: false, reason: 'provider-limit', retryAfterMs: 2000 });
    clock.advance(2000);
    expect((await store.reserve('r', {}, 100)).ok).toBe(true);
  });

  it('reports headroom as the tighter of rpm and tpm', async () => {
    await store.reserve('r', { rpm: 10, tpm: 1000 }, 500);
    expect(store.peek('r', { rpm: 10, tpm: 1000 }).fraction).toBeCloseTo(0.5);
  });

  it('drops the windows of keys never used again (route keys of spoke addresses gone) once a minute has passed', async () => {
    for (let i = 0; i < 20_000; i++) await store.reserve(`spokes/s1/10.0.${i >> 8}.${i & 255}/chat`, { rpm: 100 }, 10);
    expect(store.size).toBe(20_000);
    clock.advance(60_000);
    await store.reserve('spokes/s1/10.1.0.1/chat', { rpm: 100 }, 10);
    expect(store.size).toBe(1);
  });

  it('keeps what a dropped window would forget: a cooldown, its probe, a provider cap, requests in the minute', async () => {
    await store.cooldown('cool', clock.now() + 90_000, 'throttled');
    await store.observe('capped', { remainingRequests: 0, resetRequestsMs: 90_000 });
    clock.advance(30_000);
    await store.reserve('recent', { rpm: 1 }, 10);
    await store.reserve('unlimited', {}, 10);
    clock.advance(31_000);
    await store.reserve('new', {}, 1); // a new key: the sweep runs
    expect(store.size).toBe(5);
    expect(await store.reserve('cool', {}, 1)).toMatchObject({ ok: false, reason: 'cooldown' });
    expect(await store.reserve('capped', {}, 1)).toMatchObject({ ok: false, reason: 'provider-limit' });
    expect(await store.reserve('recent', { rpm: 1 }, 1)).toMatchObject({ ok: false, reason: 'rpm' });
    expect(store.peek('unlimited', {}).requestsUsed).toBe(1);
  });
});
