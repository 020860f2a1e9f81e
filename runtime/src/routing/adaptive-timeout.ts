/**
 * Timeouts and hedge delays learnt from each route's own latency distribution
 * (health/latency-histogram.ts). A stream's first-chunk timeout is a multiple of a high
 * percentile of the route's time to first chunk, between a floor and the fixed timeout,
 * which stays the value of a route not yet observed enough and the ceiling. A stream is
 * hedged once it has waited about as long as the route's slowest usual answers (p95).
 */
import type { RouteStats } from '../health/route-stats';
import type { AdaptiveTimeoutPolicy, FailoverPolicy } from './failover-policy';
import type { AttemptTimeouts } from './timeouts';

/** The fixed limit of one attempt: the first chunk of a stream, or a whole answer. */
export function fixedLimit(timeouts: AttemptTimeouts, stream: boolean): number {
  return stream ? timeouts.firstByteMs : timeouts.completeMs;
}

/** Whether the route has been observed enough for its own timeout and hedge delay. */
function learnt(stats: RouteStats, stream: boolean, policy: AdaptiveTimeoutPolicy): boolean {
  return stats.distribution(stream).count() >= policy.minSamples;
}

/** How long one attempt on the route may wait for its first chunk (stream) or its answer. */
export function attemptLimit(stats: RouteStats, stream: boolean, timeouts: AttemptTimeouts, policy: AdaptiveTimeoutPolicy): number {
  const fixed = fixedLimit(timeouts, stream);
  if (!policy.enabled || (!stream && !policy.wholeAnswers) || !learnt(stats, stream, policy)) return fixed;
  const q = stats.distribution(stream).quantile(policy.percentile) ?? fixed;
  return Math.round(Math.min(fixed, Math.max(policy.minMs, policy.multiplier * q)));
}

/** After how long without a first chunk a stream on the route is hedged; undefined when it never is. */
export function hedgeDelay(stats: RouteStats, policy: FailoverPolicy, limitMs: number): number | undefined {
  const h = policy.hedging;
  if (h.share <= 0) return undefined;
  const q = learnt(stats, true, policy.adaptive) ? stats.distribution(true).quantile(h.percentile) : undefined;
  const delay = Math.round(Math.max(h.minDelayMs, q ?? h.coldDelayMs));
  // A hedge after the attempt's own timeout would never start: the timeout fails over first.
  return delay < limitMs ? delay : undefined;
}

/** A route's learnt timings as /status and /healthz show them. */
export interface RouteTimings {
  /** Observations still counting (they fade with a 10-minute half-life). */
  samples: number;
  p50Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  /** The limit an attempt gets now: learnt, or the fixed one. */
  timeoutMs: number;
  learnt: boolean;
  /** Streams: when a hedge would start now; absent when none would. */
  hedgeDelayMs?: number;
}

export function routeTimings(stats: RouteStats, stream: boolean, timeouts: AttemptTimeouts, policy: FailoverPolicy): RouteTimings {
  const d = stats.distribution(stream);
  const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));
  const a = policy.adaptive;
  const timeoutMs = attemptLimit(stats, stream, timeouts, a);
  const hedge = stream ? hedgeDelay(stats, policy, timeoutMs) : undefined;
  return {
    samples: Math.round(d.count() * 10) / 10,
    p50Ms: round(d.quantile(0.5)),
    p95Ms: round(d.quantile(0.95)),
    p99Ms: round(d.quantile(0.99)),
    timeoutMs,
    learnt: a.enabled && (stream || a.wholeAnswers) && learnt(stats, stream, a),
    ...(hedge !== undefined ? { hedgeDelayMs: hedge } : {}),
  };
}
