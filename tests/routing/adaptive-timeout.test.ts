/** Timeouts and hedge delays derived from a route's observed times: deterministic on a manual clock. */
import { RouteStats } from '../../runtime/src/health/route-stats';
import { DEFAULT_CIRCUIT } from '../../runtime/src/health/circuit';
import { attemptLimit, hedgeDelay, routeTimings } from '../../runtime/src/routing/adaptive-timeout';
import { DEFAULT_FAILOVER, type FailoverPolicy } from '../../runtime/src/routing/failover-policy';
import { DEFAULT_TIMEOUTS } from '../../runtime/src/routing/timeouts';
import { ManualClock } from '../helpers/manual-clock';

const policy = (over: Partial<FailoverPolicy['adaptive']> = {}, hedging: Partial<FailoverPolicy['hedging']> = {}): FailoverPolicy => ({
  ...DEFAULT_FAILOVER,
  adaptive: { ...DEFAULT_FAILOVER.adaptive, ...over },
  hedging: { ...DEFAULT_FAILOVER.hedging, ...hedging },
});

function observed(samples: number[], stream = true): RouteStats {
  const s = new RouteStats(new ManualClock(0), DEFAULT_CIRCUIT);
  for (const ms of samples) s.distribution(stream).add(ms);
  return s;
}

/** 200 first chunks of 100-300 ms: p95 ~290, p99 ~298. */
const usual = Array.from({ length: 200 }, (_, i) => 100 + i);

describe('adaptive first-byte timeout', () => {
  it('a route not observed enough keeps the fixed timeout (the cold start)', () => {
    expect(attemptLimit(observed(usual.slice(0, 19)), true, DEFAULT_TIMEOUTS, policy().adaptive)).toBe(20_000);
  });

  it('an observed route gets a multiple of its p99, not below the floor', () => {
    const limit = attemptLimit(observed(usual), true, DEFAULT_TIMEOUTS, policy({ minMs: 100 }).adaptive);
    expect(limit).toBeGreaterThan(3 * 250);
    expect(limit).toBeLessThan(3 * 350);
    expect(attemptLimit(observed(usual), true, DEFAULT_TIMEOUTS, policy().adaptive)).toBe(1000); // the default floor
  });

  it('never exceeds the fixed timeout, which stays the ceiling', () => {
    const slow = observed(Array.from({ length: 50 }, () => 15_000));
    expect(attemptLimit(slow, true, DEFAULT_TIMEOUTS, policy().adaptive)).toBe(20_000);
  });

  it('keeps streams and whole answers apart; whole answers only when asked', () => {
    const s = observed(usual, false);
    expect(attemptLimit(s, true, DEFAULT_TIMEOUTS, policy().adaptive)).toBe(20_000); // no stream samples
    expect(attemptLimit(s, false, DEFAULT_TIMEOUTS, policy().adaptive)).toBe(90_000); // off by default for whole answers
    expect(attemptLimit(s, false, DEFAULT_TIMEOUTS, policy({ wholeAnswers: true }).adaptive)).toBe(1000);
  });

  it('is off when disabled', () => {
    expect(attemptLimit(observed(usual), true, DEFAULT_TIMEOUTS, policy({ enabled: false }).adaptive)).toBe(20_000);
  });
});

describe('hedge delay', () => {
  it('is about the p95 of an observed route, and the cold delay before that', () => {
    const d = hedgeDelay(observed(usual), policy(), 1000)!;
    expect(d).toBeGreaterThan(250);
    expect(d).toBeLessThan(330);
    expect(hedgeDelay(observed([]), policy(), 20_000)).toBe(5000);
  });

  it('never comes after the attempt timeout (that fails over first), and not with a share of 0', () => {
    expect(hedgeDelay(observed([]), policy(), 3000)).toBeUndefined();
    expect(hedgeDelay(observed(usual), policy({}, { share: 0 }), 1000)).toBeUndefined();
    expect(hedgeDelay(observed(Array.from({ length: 50 }, () => 1)), policy(), 1000)).toBe(50); // the floor
  });

  it('the timings /status shows', () => {
    const t = routeTimings(observed(usual), true, DEFAULT_TIMEOUTS, policy());
    expect(t).toMatchObject({ samples: 200, timeoutMs: 1000, learnt: true });
    expect(t.p50Ms).toBeGreaterThan(170);
    expect(t.p50Ms).toBeLessThan(230);
    expect(t.hedgeDelayMs).toBeGreaterThan(250);
    expect(routeTimings(observed([]), true, DEFAULT_TIMEOUTS, policy())).toEqual({ samples: 0, timeoutMs: 20_000, learnt: false, hedgeDelayMs: 5000 });
  });
});
