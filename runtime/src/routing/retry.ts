/** Backoff for retrying the same route, and a budget that caps retries during wide outages. */
import type { Clock, Random } from '../core/clock';

/** Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^n)). */
export function fullJitterBackoff(attempt: number, random: Random, baseMs = 100, capMs = 2000): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

export interface RetryBudgetPolicy {
  /** Retries allowed as a fraction of requests seen in the window. */
  ratio: number;
  /** Retries always allowed per window, so that low traffic can still retry. */
  minPerWindow: number;
  windowMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetPolicy = { ratio: 0.2, minPerWindow: 20, windowMs: 10_000 };

/**
 * Retries (attempts beyond a request's first) may be at most `ratio` of requests plus a
 * floor. Counted in one-second buckets so the hot path does not allocate per request.
 */
export class RetryBudget {
  private readonly buckets: Array<{ second: number; requests: number; retries: number }>;

  constructor(
    private readonly clock: Clock,
    private readonly policy: RetryBudgetPolicy = DEFAULT_RETRY_BUDGET,
  ) {
    const n = Math.max(1, Math.ceil(policy.windowMs / 1000));
    this.buckets = Array.from({ length: n }, () => ({ second: -1, requests: 0, retries: 0 }));
  }

  private bucket(): { second: number; requests: number; retries: number } {
    const second = Math.floor(this.clock.now() / 1000);
    const b = this.buckets[second % this.buckets.length];
    if (b.second !== second) {
      b.second = second;
      b.requests = 0;
      b.retries = 0;
    }
    return b;
  }

  private totals(): { requests: number; retries: number } {
    const oldest = Math.floor(this.clock.now() / 1000) - this.buckets.length + 1;
    let requests = 0;
    let retries = 0;
    for (const b of this.buckets) {
      if (b.second >= oldest) {
        requests += b.requests;
        retries += b.retries;
      }
    }
    return { requests, retries };
  }

  onRequest(): void {
    this.bucket().requests++;
  }

  /** Takes one retry from the budget if there is one. */
  tryRetry(): boolean {
    const { requests, retries } = this.totals();
    if (retries >= this.policy.minPerWindow + this.policy.ratio * requests) return false;
    this.bucket().retries++;
    return true;
  }
}
