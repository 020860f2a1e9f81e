/** The fading latency distribution behind adaptive timeouts and hedge delays, on a manual clock. */
import { LatencyHistogram } from '../../runtime/src/health/latency-histogram';
import { ManualClock } from '../helpers/manual-clock';

const MIN = 60_000;

describe('LatencyHistogram', () => {
  it('is empty until it sees a sample', () => {
    const h = new LatencyHistogram(new ManualClock(0));
    expect(h.count()).toBe(0);
    expect(h.quantile(0.5)).toBeUndefined();
  });

  it('gives quantiles within the bucket resolution (15%)', () => {
    const h = new LatencyHistogram(new ManualClock(0));
    for (let ms = 1; ms <= 1000; ms++) h.add(ms);
    for (const [q, exact] of [
      [0.5, 500],
      [0.95, 950],
      [0.99, 990],
    ]) {
      const got = h.quantile(q)!;
      expect(Math.abs(got - exact) / exact).toBeLessThan(0.15);
    }
    expect(h.count()).toBeCloseTo(1000, 6);
  });

  it('lets old samples fade with its half-life, so the quantiles follow what the route does now', () => {
    const clock = new ManualClock(0);
    const h = new LatencyHistogram(clock, 10 * MIN);
    for (let i = 0; i < 100; i++) h.add(100);
    clock.advance(10 * MIN);
    expect(h.count()).toBeCloseTo(50, 6); // one half-life: half the weight
    for (let i = 0; i < 100; i++) h.add(1000);
    // The new samples weigh twice the old: the median is now in the slow cluster.
    expect(h.quantile(0.5)!).toBeGreaterThan(800);
    clock.advance(100 * MIN);
    expect(h.count()).toBeLessThan(0.2); // idle for long: cold again
  });

  it('keeps counting right across many half-lives (its weights are rescaled, never overflow)', () => {
    const clock = new ManualClock(0);
    const h = new LatencyHistogram(clock, 1000);
    for (let i = 0; i < 200; i++) {
      clock.advance(500); // 100 half-lives over the run
      h.add(i % 2 === 0 ? 10 : 20);
    }
    expect(Number.isFinite(h.count())).toBe(true);
    expect(h.count()).toBeGreaterThan(2);
    expect(h.count()).toBeLessThan(4); // sum of 2^-k/2 for a sample every half half-life: ~3.4
    expect(h.quantile(0.5)!).toBeGreaterThan(9);
    expect(h.quantile(0.5)!).toBeLessThan(23);
  });

  it('ignores values that are not durations', () => {
    const h = new LatencyHistogram(new ManualClock(0));
    h.add(Number.NaN);
    h.add(-5);
    expect(h.count()).toBe(0);
    h.add(0.2);
    expect(h.quantile(0.5)).toBe(1);
  });
});
