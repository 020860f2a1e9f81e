/**
 * Per-tenant admission: requests and tokens per minute in the QuotaStore (key
 * `tenant/<id>`, so they are shared by every instance when the store is Redis) and
 * concurrent requests as leases of the same store (shared through Redis too, each lapsing
 * unless its instance renews it; counted per instance while Redis is away). A tenant over
 * its own limit gets a 429 with Retry-After; it never consumes another tenant's capacity,
 * and a refused request is not counted against the tenant's window (nor is one refused
 * after admission, by its budget or its class's share, before any work: its permit is refunded).
 */
import { retryAfterSeconds, type GatewayError } from '../core/gateway-error';
import { TenantLimitError } from '../core/refusal';
import type { TenantConfig } from '../config/schema';
import { MemoryLeases, type Lease, type LeaseStore } from '../quota/leases';
import type { QuotaLimits, QuotaStore, Reservation } from '../quota/store';

export const tenantQuotaKey = (tenantId: string): string => `tenant/${tenantId}`;

/** One admitted request; exactly one of settle/release takes effect, later calls do nothing. */
export interface TenantPermit {
  /** The answer ended: count its real tokens, or keep the estimate when usage is unknown. */
  settle(actualTokens?: number): void;
  /** The request failed before any answer: the request stays counted, its tokens do not. */
  release(): void;
  /** The request was refused before any work (its budget, its class's share): neither it nor its tokens count. */
  refund(): void;
}

const UNCOUNTED: Lease = { release: () => undefined };

/** The permit of a request with nothing to count (no tenant, or one without limits). */
export const NO_LIMITS: TenantPermit = { settle: () => undefined, release: () => undefined, refund: () => undefined };

export class TenantLimiter {
  /** Requests in flight per tenant id, this instance only. */
  private readonly running = new Map<string, number>();
  private readonly leases: LeaseStore;

  constructor(private readonly quota: QuotaStore) {
    this.leases = quota.leases?.() ?? new MemoryLeases();
  }

  /** Requests of the tenant in flight on this instance. */
  inFlight(tenantId: string): number {
    return this.running.get(tenantId) ?? 0;
  }

  /**
   * Admits one request of `estimatedTokens` (prompt estimate + max output) for the tenant,
   * or throws the 429. No tenant (open gateway) or no limits: nothing to count.
   */
  async admit(tenant: TenantConfig | undefined, estimatedTokens: number): Promise<TenantPermit> {
    const limits = tenant?.limits;
    if (!tenant || !limits) return NO_LIMITS;
    const { concurrency } = limits;
    const id = tenant.id;
    let lease: Lease | undefined;
    if (concurrency !== undefined) {
      // A lease store that fails must not fail the request either: served, uncounted.
      lease = await this.leases.acquire(tenantQuotaKey(id), concurrency).catch(() => UNCOUNTED);
      if (!lease) throw concurrencyLimited(id, concurrency);
      this.running.set(id, this.inFlight(id) + 1);
    }
    const free = () => {
      if (!lease) return;
      lease.release();
      const n = this.inFlight(id) - 1;
      if (n > 0) this.running.set(id, n);
      else this.running.delete(id);
    };

    let reservation: Reservation | undefined;
    if (limits.rpm !== undefined || limits.tpm !== undefined) {
      const window: QuotaLimits = { rpm: limits.rpm, tpm: limits.tpm };
      // A request larger than the whole minute's budget would never fit: it may take the whole budget.
      const tokens = limits.tpm !== undefined ? Math.min(estimatedTokens, limits.tpm) : estimatedTokens;
      let admission;
      try {
        admission = await this.quota.reserve(tenantQuotaKey(id), window, tokens);
      } catch {
        // The store failing must not fail the request: serve, uncounted, rather than refuse.
        admission = undefined;
      }
      if (admission && !admission.ok) {
        free();
        throw rateLimited(id, admission.reason === 'tpm' ? 'tpm' : 'rpm', window, tokens, admission.retryAfterMs);
      }
      reservation = admission?.reservation;
    }

    let done = false;
    const finish = (tokens: number | 'refund' | undefined) => {
      if (done) return;
      done = true;
      free();
      if (!reservation || tokens === undefined) return;
      const settled = tokens === 'refund' ? this.quota.cancel(reservation) : tokens === 0 ? this.quota.release(reservation) : this.quota.reconcile(reservation, tokens);
      settled.catch(() => undefined); // the store says why elsewhere (health); the answer is already out
    };
    return {
      settle: (actualTokens) => finish(actualTokens),
      release: () => finish(0),
      refund: () => finish('refund'),
    };
  }
}

function rateLimited(tenantId: string, limit: 'rpm' | 'tpm', window: QuotaLimits, tokens: number, retryAfterMs: number): GatewayError {
  const seconds = retryAfterSeconds(retryAfterMs);
  const what = limit === 'rpm' ? `its limit of ${window.rpm} requests per minute` : `its limit of ${window.tpm} tokens per minute (this request reserves an estimated ${tokens})`;
  return new TenantLimitError(limit, `Tenant "${tenantId}" is over ${what}. Retry after ${seconds} s.`, seconds);
}

function concurrencyLimited(tenantId: string, concurrency: number): GatewayError {
  return new TenantLimitError('concurrency', `Tenant "${tenantId}" already has ${concurrency} requests in flight, its concurrency limit. Retry when one has finished.`, 1);
}
