/**
 * Quota state per route (provider/account/region/model): sliding one-minute windows of
 * requests and tokens, reservations reconciled with real usage, cooldowns after a 429,
 * and what providers said in rate-limit headers. In memory by default; Redis when
 * several instances share an account.
 */
import type { Redis } from 'ioredis';
import type { RateLimitInfo } from '../core/rate-limit';
import type { LeaseStore } from './leases';
import type { SessionTable } from './session-table';

export interface QuotaLimits {
  rpm?: number;
  tpm?: number;
}

export interface Reservation {
  readonly key: string;
  readonly id: number;
  readonly tokens: number;
}

/** `reserved`: the route has room, but only for a higher capacity class. */
export type DenyReason = 'rpm' | 'tpm' | 'cooldown' | 'provider-limit' | 'reserved';

/**
 * Admitted. `probe`: the route's cooldown has ended and this request is its first since
 * (its probe): tell `endProbe` how it went; until then other requests are kept off it.
 */
export type Admission = { ok: true; reservation: Reservation; probe?: string } | Denial;

/**
 * Not admitted, why, and until when. `tokensLeft` (reason 'tpm'): the tokens the window
 * still has room for, when some are left: a smaller request would fit now.
 */
export interface Denial {
  ok: false;
  reason: DenyReason;
  retryAfterMs: number;
  tokensLeft?: number;
}

/** `denial` with the room a `tpm` window of `tpm` has left after `used` tokens, when there is some. */
export function withTokensLeft(denial: Denial, tpm: number | undefined, used: number): Denial {
  if (denial.reason === 'tpm' && tpm !== undefined && used < tpm) denial.tokensLeft = Math.floor(tpm - used);
  return denial;
}

export interface ReserveOptions {
  /** The probe slot this request claimed (`claimProbe`) while it waited for the route's cooldown to end. */
  probe?: string;
  /**
   * A capacity class below critical: admitted only while the route's total use plus this
   * request stays within this share of each limit; the wait is for that share.
   */
  share?: number;
}

/** After a cooldown ends, one request probes the route; others wait this long at most for its verdict. */
export const PROBE_TIMEOUT_MS = 30_000;
/** A cooldown that ended this long ago without a probe since is forgotten: the route is simply open. */
export const RECOVERY_MS = 60_000;

export interface Headroom {
  /** Fraction of the tighter of rpm/tpm still free, 0..1 (1 when unlimited). */
  fraction: number;
  requestsUsed: number;
  tokensUsed: number;
  /** Cooldown end (epoch ms) when cooling down. */
  cooldownUntil?: number;
  cooldownReason?: string;
}

export interface QuotaStore {
  /** Admits a request of `tokens` estimated tokens (within its class's share), or says why not and for how long. */
  reserve(key: string, limits: QuotaLimits, tokens: number, opts?: ReserveOptions): Promise<Admission>;
  /** The request ended: count its real tokens instead of the estimate. */
  reconcile(res: Reservation, actualTokens: number): Promise<void>;
  /** The attempt failed without the provider counting tokens: keep the request, drop the tokens. */
  release(res: Reservation): Promise<void>;
  /** The request was refused before any work: it leaves the window, request and tokens, as if never admitted. */
  cancel(res: Reservation): Promise<void>;
  /** No requests to this route until `untilMs` (epoch ms); after it, one probe first. */
  cooldown(key: string, untilMs: number, reason: string): Promise<void>;
  /**
   * Claims the first request after the route's current cooldown (ending at `untilMs`) for
   * `holder`, a request that will wait for it; false when another request holds it.
   */
  claimProbe(key: string, holder: string, untilMs: number): Promise<boolean>;
  /** The probe of admission `probe` ended: `ok` (the route answered) opens the route to all, else the next request probes. */
  endProbe(key: string, probe: string, ok: boolean): Promise<void>;
  /** What the provider said about remaining capacity. */
  observe(key: string, info: RateLimitInfo): Promise<void>;
  /** Last known headroom, without I/O: for ranking and /healthz. */
  peek(key: string, limits: QuotaLimits): Headroom;
  /** Where admissions are decided and whether that is degraded (stores shared through Redis). */
  health?(): QuotaHealth;
  /** Concurrency leases shared as this store is (tenants' requests in flight); absent: each instance counts its own. */
  leases?(): LeaseStore;
  /** The Redis this store shares its counts through, for other shared state (budgets); absent in memory. */
  shared?(): SharedRedis;
  /** Session affinity's table, shared as this store is; absent: each instance keeps its own. */
  sessions?(): SessionTable;
  close?(): Promise<void>;
}

export interface QuotaHealth {
  /** Where admissions are decided now. */
  backend: 'redis' | 'memory';
  degraded: boolean;
  /** Epoch ms when degraded mode began. */
  since?: number;
  lastError?: string;
  /** Live gateway instances sharing the quotas, as last counted. */
  instances: number;
}

/**
 * Redis as the quota store uses it, for other shared state: one connection, one command
 * deadline, one degraded mode (a failure anywhere means local estimates everywhere until
 * the heartbeat finds Redis again) and one count of live instances.
 */
export interface SharedRedis {
  readonly client: Redis;
  /** Resolves once the first connection was tried (bounded wait at start). */
  readonly started: Promise<void>;
  /** Whether calls should go to Redis now (false while degraded). */
  usable(): boolean;
  /** `work` within the command deadline; a failure or a miss degrades the store, and is rethrown. */
  call<T>(work: Promise<T>): Promise<T>;
  /** Live gateway instances sharing Redis, as last counted (1 if never known). */
  instances(): number;
  /** Names the Redis dataset: when it changes, Redis lost what it held (restart, failover without data). */
  generation(): string | undefined;
}
