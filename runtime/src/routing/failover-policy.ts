/**
 * A model's failover tuning with every default filled in: the top-level `failover` of the
 * config, then the model's own, key by key. What the executor, the adaptive timeouts and
 * hedging read, and what /status shows as the live values.
 */
import type { FailoverConfig, ModelConfig, TargetConfig } from '../config/schema';
import { timeoutsFor } from './timeouts';

export interface AdaptiveTimeoutPolicy {
  enabled: boolean;
  /** The percentile of a route's observed times the timeout is a multiple of. */
  percentile: number;
  multiplier: number;
  /** The smallest timeout ever derived; the fixed timeout (`models[].timeouts`) is the largest. */
  minMs: number;
  /** Below this many (fading) observations a route keeps the fixed timeout. */
  minSamples: number;
  /** Derive the whole-answer timeout too, not only the streams' first-chunk one. */
  wholeAnswers: boolean;
}

export interface HedgePolicy {
  /** Hedges as a share of the model's stream requests (0: off). */
  share: number;
  /** The percentile of a route's time to first chunk after which a stream is hedged. */
  percentile: number;
  minDelayMs: number;
  /** The hedge delay of a route with too few observations. */
  coldDelayMs: number;
}

export interface FailoverPolicy {
  sameRouteRetry: boolean;
  maxRetryAfterMs: number;
  adaptive: AdaptiveTimeoutPolicy;
  hedging: HedgePolicy;
}

export const DEFAULT_FAILOVER: FailoverPolicy = {
  sameRouteRetry: true,
  maxRetryAfterMs: 5_000,
  adaptive: { enabled: true, percentile: 0.99, multiplier: 3, minMs: 1_000, minSamples: 20, wholeAnswers: false },
  hedging: { share: 0.05, percentile: 0.95, minDelayMs: 50, coldDelayMs: 5_000 },
};

export function failoverPolicy(model: ModelConfig, defaults: FailoverConfig | undefined): FailoverPolicy {
  const top = defaults ?? {};
  const own = model.failover ?? {};
  return {
    sameRouteRetry: own.sameRouteRetry ?? top.sameRouteRetry ?? DEFAULT_FAILOVER.sameRouteRetry,
    maxRetryAfterMs: own.maxRetryAfterMs ?? top.maxRetryAfterMs ?? DEFAULT_FAILOVER.maxRetryAfterMs,
    adaptive: { ...DEFAULT_FAILOVER.adaptive, ...top.adaptiveTimeouts, ...own.adaptiveTimeouts },
    hedging: { ...DEFAULT_FAILOVER.hedging, ...top.hedging, ...own.hedging },
  };
}

/** Whether streams of this target may take part in a hedge (as the slow one or as the hedge). */
export function targetHedges(target: TargetConfig | undefined): boolean {
  return target?.hedge ?? target?.cancelBilledInFull !== true;
}

/**
 * A model's settings for routes that fail over behind themselves (a proxy's spokes): a spoke
 * gives up on a silent provider route at the model's limits (fixed or learnt), then tries its
 * next route. The proxy leaves room for that one failover, or it gives up on the spoke at the
 * same moment (behind a single spoke, a 504 where the spoke was about to answer, and the spoke
 * blamed for its provider): twice the first-chunk and whole-answer limits, a stall plus a
 * first chunk between two chunks, and learnt limits twice as wide.
 */
export function withRoomForFailoverBehind(m: ModelConfig, defaults: FailoverConfig | undefined): ModelConfig {
  const t = timeoutsFor(m);
  const { multiplier, minMs } = failoverPolicy(m, defaults).adaptive;
  return {
    ...m,
    timeouts: { connectMs: t.connectMs, firstByteMs: 2 * t.firstByteMs, idleMs: t.idleMs + t.firstByteMs, completeMs: 2 * t.completeMs },
    failover: { ...m.failover, adaptiveTimeouts: { ...m.failover?.adaptiveTimeouts, multiplier: 2 * multiplier, minMs: 2 * minMs } },
  };
}
