import { ManualClock } from '../helpers/manual-clock';
import { fullJitterBackoff, RetryBudget } from '../../runtime/src/routing/retry';

describe('retry', () => {
  it('backs off with full jitter under an exponential cap', () => {
    expect(fullJitterBackoff(0, () => 0.999, 100, 2000)).toBe(99);
    expect(fullJitterBackoff(3, () => 0.5, 100, 2000)).toBe(400);
    expect(fullJitterBackoff(10, () => 0.5, 100, 2000)).toBe(1000);
    expect(fullJitterBackoff(5, () => 0, 100, 2000)).toBe(0);
  });

  it('allows retries up to a ratio of requests plus a floor, per window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget(clock, { ratio: 0.1, minPerWindow: 2, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.onRequest();
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (budget.tryRetry()) allowed++;
    expect(allowed).toBe(12);
    clock.advance(10_000);
    expect(budget.tryRetry()).toBe(true); // the old window has passed
  });
});
