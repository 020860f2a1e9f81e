/**
 * What happened to one attempt of a request on one route: the words routing, the
 * providers, observability and the API share about it.
 */

/** How an upstream call failed; each class has its own answer in the failover rules (ARCHITECTURE.md). */
export type FailureClass =
  /** 429, ThrottlingException, remaining 0: cool the account+model down, go elsewhere. */
  | 'throttled'
  /** insufficient_quota, ServiceQuotaExceededException: park the account+model for long. */
  | 'quota_exhausted'
  /** 5xx, 529, ModelNotReady, reset/refused, garbage from upstream: go elsewhere, maybe one quick retry. */
  | 'transient'
  /** No headers within the first-byte timeout or no chunk within the idle timeout. */
  | 'silent'
  /** context_length_exceeded: never this model again; a larger fallback or a 400. */
  | 'context_length'
  /** Content filter, validation, auth to the provider: no retry, no fallback. */
  | 'refused'
  /**
   * The route answered, but not what the request's `response_format` (strict) demands:
   * the next route may do better; the route is healthy, so its circuit stays closed.
   */
  | 'invalid_output';

/** Why a route was passed over without a request ('unsupported': it cannot take this request, e.g. its image URLs). */
export type SkipReason = 'ejected' | 'cooldown' | 'no-headroom' | 'down' | 'unsupported';

export interface AttemptRecord {
  route: string;
  outcome: 'ok' | FailureClass | 'aborted' | SkipReason | 'budget';
  status?: number;
  message?: string;
  ms: number;
  /** When the route may serve again, for routes throttled or out of headroom. */
  retryAfterMs?: number;
}

/** Outcomes of routes passed over without a request. */
export const PASSED_OVER: ReadonlySet<AttemptRecord['outcome']> = new Set<AttemptRecord['outcome']>(['ejected', 'cooldown', 'no-headroom', 'down', 'unsupported', 'budget']);

/** Attempts that reached (or tried to reach) a provider, not routes passed over. */
export function sentAttempts(attempts: readonly AttemptRecord[]): number {
  return attempts.filter((a) => !PASSED_OVER.has(a.outcome)).length;
}
