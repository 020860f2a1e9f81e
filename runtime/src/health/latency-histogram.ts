/**
 * A route's latency distribution in fixed memory: log-spaced buckets whose samples fade
 * with a half-life, so the quantiles follow what the route does now. An update is O(1)
 * and allocates nothing: instead of decaying every bucket, each new sample weighs more
 * (2^(age/half-life)), and the buckets are rescaled only when the weights grow large.
 */
import type { Clock } from '../core/clock';

/** Bucket i >= 1 holds values in [GROWTH^(i-1), GROWTH^i) ms; bucket 0 holds values under 1 ms. */
const GROWTH = 1.15;
const LOG_GROWTH = Math.log(GROWTH);
/** 1.15^95 ms is about ten minutes: longer values share the last bucket. */
const BUCKETS = 96;
/** Rescale once the newest weight passes 2^40 (float64 keeps 53 bits). */
const MAX_EXPONENT = 40;

export const DEFAULT_HALF_LIFE_MS = 10 * 60_000;

export class LatencyHistogram {
  private readonly weights = new Float64Array(BUCKETS);
  private total = 0;
  /** Time at which a sample weighs 1. */
  private epoch: number;

  constructor(
    private readonly clock: Clock,
    private readonly halfLifeMs = DEFAULT_HALF_LIFE_MS,
  ) {
    this.epoch = clock.now();
  }

  /** Records one observation of `ms` milliseconds. */
  add(ms: number): void {
    if (!(ms >= 0)) return;
    let exponent = (this.clock.now() - this.epoch) / this.halfLifeMs;
    if (exponent > MAX_EXPONENT) {
      this.rescale(exponent);
      exponent = 0;
    }
    const w = 2 ** exponent;
    this.weights[bucketOf(ms)] += w;
    this.total += w;
  }

  /** Observations still counting, after their fading: a few hours idle make it 0 again. */
  count(): number {
    if (this.total === 0) return 0;
    return this.total / 2 ** ((this.clock.now() - this.epoch) / this.halfLifeMs);
  }

  /** The value below which a share `q` (0..1) of the weighted observations lie; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.total === 0) return undefined;
    const target = Math.min(1, Math.max(0, q)) * this.total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const w = this.weights[i];
      if (w === 0) continue;
      if (seen + w >= target) {
        if (i === 0) return 1;
        // Within the bucket, linear between its bounds.
        const low = GROWTH ** (i - 1);
        return low + (low * (GROWTH - 1) * (target - seen)) / w;
      }
      seen += w;
    }
    return GROWTH ** (BUCKETS - 1);
  }

  private rescale(exponent: number): void {
    const factor = 2 ** -exponent;
    for (let i = 0; i < BUCKETS; i++) this.weights[i] *= factor;
    this.total *= factor;
    this.epoch = this.clock.now();
  }
}

function bucketOf(ms: number): number {
  if (ms < 1) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms) / LOG_GROWTH) + 1);
}
