/**
 * The quota store the gateway uses when `state.redis` is set: Redis while it answers in
 * time, local estimates when it is slow or gone, and never an error to the caller.
 *
 * - Every call to Redis has a deadline (`commandTimeoutMs`); a miss or an error switches
 *   the store to degraded mode at once, and from then on calls never wait for Redis.
 * - Degraded, this instance admits on its own window with its share of each limit: the
 *   limit divided by the live instances last counted by heartbeat (1 if never known).
 *   Its own recent admissions (mirrored locally while Redis worked) count against it.
 * - A heartbeat announces the instance (so the others know the share) and, while
 *   degraded, probes Redis; the first answer ends degraded mode. If Redis lost its data
 *   meanwhile (a new generation), this instance re-adds what it admitted in the window,
 *   and re-sends its live cooldowns, so the shared counts are right again.
 * A Redis call that timed out may still have counted: that errs on the side of fewer requests.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimitInfo } from '../core/rate-limit';
import type { Clock } from '../core/clock';
import type { LeaseStore } from './leases';
import { MemoryQuotaStore } from './memory-store';
import { RedisLeases } from './redis-leases';
import { RedisSessionTable } from './redis-sessions';
import type { SessionTable } from './session-table';
import { QUOTA_WINDOW_MS, RedisQuotaStore, type RedisTimeSource } from './redis-store';
import type { Admission, Headroom, QuotaHealth, QuotaLimits, QuotaStore, ReserveOptions, Reservation, SharedRedis } from './store';

export type { QuotaHealth } from './store';

export interface ResilientQuotaStoreOptions {
  /** An ioredis client made for failing fast (see createRedisClient). */
  client: Redis;
  clock: Clock;
  prefix?: string;
  timeSource?: RedisTimeSource;
  /** Longest wait for any Redis answer before serving locally. Default 100 ms. */
  commandTimeoutMs?: number;
  /** Heartbeat period while Redis works. Default 1000 ms. */
  heartbeatMs?: number;
  /** An instance silent this long is no longer counted. Default 3 heartbeats. */
  instanceTtlMs?: number;
  /** Probe period while degraded. Default 250 ms. */
  probeMs?: number;
  /** How long the first calls wait for the first connection. Default 500 ms. */
  startupWaitMs?: number;
  instanceId?: string;
  /** Quit the client on close(). Default true. */
  ownsClient?: boolean;
  /** Told whenever degraded mode starts or ends (logs, metrics). */
  onHealthChange?: (health: QuotaHealth) => void;
}

/** One admission this instance made, kept for the window so it can be re-counted in Redis. */
interface LedgerEntry {
  readonly at: number;
  tokens: number;
  local?: Reservation;
  redis?: Reservation;
  /** The Redis generation that counts it; undefined while only local. */
  generation?: string;
  /** Redis still holds older tokens for it (settled while Redis was away). */
  unsynced?: boolean;
  /** Taken back (cancel): never re-counted in Redis. Kept in the list (a resync may be walking it) until it leaves the window. */
  cancelled?: boolean;
}

export class ResilientQuotaStore implements QuotaStore {
  readonly instanceId: string;
  private readonly client: Redis;
  private readonly clock: Clock;
  private readonly redis: RedisQuotaStore;
  private readonly local: MemoryQuotaStore;
  private readonly timeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly instanceTtlMs: number;
  private readonly probeMs: number;
  private readonly ownsClient: boolean;
  private readonly onHealthChange?: (health: QuotaHealth) => void;

  private readonly ledger = new Map<string, LedgerEntry[]>();
  private readonly entries = new WeakMap<Reservation, LedgerEntry>();
  private readonly cooldowns = new Map<string, { until: number; reason: string }>();
  private nextId = 1;
  private instances = 1;
  private generation?: string;
  private degradedSince?: number;
  private lastError?: string;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private closed = false;
  private readonly started: Promise<void>;
  private stopWaiting?: () => void;
  private sharedView?: SharedRedis;
  private leaseStore?: RedisLeases;
  private sessionTable?: RedisSessionTable;

  constructor(opts: ResilientQuotaStoreOptions) {
    this.client = opts.client;
    this.clock = opts.clock;
    this.redis = new RedisQuotaStore({ client: opts.client, clock: opts.clock, prefix: opts.prefix, timeSource: opts.timeSource });
    this.local = new MemoryQuotaStore(opts.clock);
    this.timeoutMs = opts.commandTimeoutMs ?? 100;
    this.heartbeatMs = opts.heartbeatMs ?? 1000;
    this.instanceTtlMs = opts.instanceTtlMs ?? 3 * this.heartbeatMs;
    this.probeMs = opts.probeMs ?? 250;
    this.ownsClient = opts.ownsClient ?? true;
    this.onHealthChange = opts.onHealthChange;
    this.instanceId = opts.instanceId ?? randomUUID();

    this.client.on('error', (err: Error) => (this.lastError = err.message));
    this.client.on('close', () => this.degrade('connection to Redis closed'));
    this.client.on('ready', () => void this.tick());
    this.started = this.startup(opts.startupWaitMs ?? 500);
  }

  /** Resolves once the first heartbeat answered (true) or startup gave up waiting (false). */
  async ready(): Promise<boolean> {
    await this.started;
    return this.degradedSince === undefined;
  }

  health(): QuotaHealth {
    const degraded = this.degradedSince !== undefined;
    return {
      backend: degraded ? 'memory' : 'redis',
      degraded,
      ...(degraded ? { since: this.degradedSince } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      instances: this.instances,
    };
  }

  async reserve(key: string, limits: QuotaLimits, tokens: number, opts?: ReserveOptions): Promise<Admission> {
    await this.started;
    if (this.redisUsable()) {
      const generation = this.generation;
      try {
        const a = await this.withTimeout(this.redis.reserve(key, limits, tokens, opts));
        if (!a.ok) return a;
        // Mirror it locally, unlimited: if Redis goes, this instance knows what it used.
        const mirror = this.local.recordNow(key, a.reservation.tokens);
        return this.record(key, a.reservation.tokens, mirror, a.reservation, generation, a.probe);
      } catch (err) {
        this.degrade(describe(err));
      }
    }
    const a = this.local.reserveNow(key, this.share(limits), tokens, opts);
    if (!a.ok) return a;
    return this.record(key, a.reservation.tokens, a.reservation, undefined, undefined, a.probe);
  }

  reconcile(res: Reservation, actualTokens: number): Promise<void> {
    return this.setTokens(res, Number.isFinite(actualTokens) && actualTokens > 0 ? Math.round(actualTokens) : 0);
  }

  release(res: Reservation): Promise<void> {
    return this.setTokens(res, 0);
  }

  /**
   * Drops the admission here and in Redis. While Redis is away (or counts another
   * generation) only the local count drops: Redis keeps it until it leaves the window,
   * erring on the side of fewer requests.
   */
  async cancel(res: Reservation): Promise<void> {
    const entry = this.entries.get(res);
    if (!entry) return;
    this.entries.delete(res);
    entry.cancelled = true;
    await this.started;
    if (entry.local) await this.local.cancel(entry.local);
    const held = entry.redis;
    if (held && entry.generation === this.generation && this.redisUsable()) await this.tryRedis(() => this.redis.cancel(held));
  }

  private async setTokens(res: Reservation, tokens: number): Promise<void> {
    const entry = this.entries.get(res);
    if (!entry) return;
    await this.started;
    entry.tokens = tokens;
    if (entry.local) await this.local.reconcile(entry.local, tokens);
    const held = entry.redis;
    if (!held) return;
    entry.unsynced = true;
    if (entry.generation === this.generation && this.redisUsable()) {
      await this.tryRedis(async () => {
        await this.redis.reconcile(held, tokens);
        if (entry.tokens === tokens) entry.unsynced = false;
      });
    }
  }

  async cooldown(key: string, untilMs: number, reason: string): Promise<void> {
    await this.started;
    await this.local.cooldown(key, untilMs, reason);
    const known = this.cooldowns.get(key);
    if (!known || untilMs > known.until) this.cooldowns.set(key, { until: untilMs, reason });
    if (this.redisUsable()) await this.tryRedis(() => this.redis.cooldown(key, untilMs, reason));
  }

  async claimProbe(key: string, holder: string, untilMs: number): Promise<boolean> {
    await this.started;
    // Locally too: if Redis goes meanwhile, this instance still keeps the slot for its holder.
    const local = await this.local.claimProbe(key, holder, untilMs);
    if (!this.redisUsable()) return local;
    try {
      return await this.withTimeout(this.redis.claimProbe(key, holder, untilMs));
    } catch (err) {
      this.degrade(describe(err));
      return local;
    }
  }

  async endProbe(key: string, probe: string, ok: boolean): Promise<void> {
    await this.started;
    await this.local.endProbe(key, probe, ok);
    if (this.redisUsable()) await this.tryRedis(() => this.redis.endProbe(key, probe, ok));
  }

  async observe(key: string, info: RateLimitInfo): Promise<void> {
    await this.started;
    await this.local.observe(key, info);
    if (this.redisUsable()) await this.tryRedis(() => this.redis.observe(key, info));
  }

  shared(): SharedRedis {
    return (this.sharedView ??= {
      client: this.client,
      started: this.started,
      usable: () => this.redisUsable(),
      call: async <T>(work: Promise<T>): Promise<T> => {
        try {
          return await this.withTimeout(work);
        } catch (err) {
          this.degrade(describe(err));
          throw err;
        }
      },
      instances: () => this.instances,
      generation: () => this.generation,
    });
  }

  peek(key: string, limits: QuotaLimits): Headroom {
    return this.degradedSince === undefined ? this.redis.peek(key, limits) : this.local.peek(key, this.share(limits));
  }

  /** Tenants' concurrency, shared through the same Redis (local counting while it is away). */
  leases(): LeaseStore {
    return (this.leaseStore ??= new RedisLeases({ client: this.client, prefix: this.redis.prefix, instanceId: this.instanceId, health: () => this.health(), started: this.started }));
  }

  /** Session affinity's table, in the same Redis (memory while it is away). */
  sessions(): SessionTable {
    return (this.sessionTable ??= new RedisSessionTable({ client: this.client, prefix: this.redis.prefix, health: () => this.health(), now: () => this.clock.now() }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.leaseStore?.close();
    clearTimeout(this.timer);
    this.stopWaiting?.();
    if (this.degradedSince === undefined && this.client.status === 'ready') await this.withTimeout(this.redis.leave(this.instanceId)).catch(() => undefined);
    if (!this.ownsClient) return;
    if (this.client.status === 'ready') await this.withTimeout(this.client.quit()).catch(() => undefined);
    this.client.disconnect();
  }

  /** Waits (bounded) for the first connection and heartbeat, then keeps the heartbeat going. */
  private async startup(waitMs: number): Promise<void> {
    const connected =
      this.client.status === 'ready' ||
      (await new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          this.client.off('ready', onReady);
          this.stopWaiting = undefined;
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), waitMs);
        this.client.on('ready', onReady);
        this.stopWaiting = () => done(false);
      }));
    if (this.closed) return;
    if (connected) await this.tick();
    else this.degrade(`Redis not reachable within ${waitMs} ms${this.lastError ? `: ${this.lastError}` : ''}`);
    this.schedule();
  }

  /** One heartbeat: announce, count instances, end degraded mode and re-sync when it answers. */
  private tick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ticking ??= this.beat().finally(() => {
      this.ticking = undefined;
      this.schedule();
    });
    return this.ticking;
  }

  private async beat(): Promise<void> {
    try {
      const hb = await this.withTimeout(this.redis.heartbeat(this.instanceId, this.instanceTtlMs, randomUUID()));
      this.instances = hb.instances;
      const changed = hb.generation !== this.generation;
      const wasDegraded = this.degradedSince !== undefined;
      this.generation = hb.generation;
      this.recover();
      // From here on new admissions go to Redis; older local ones are re-counted there.
      if (changed || wasDegraded) await this.resync(hb.generation);
    } catch (err) {
      this.degrade(describe(err));
    }
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), this.degradedSince === undefined ? this.heartbeatMs : this.probeMs);
    this.timer.unref();
  }

  /** Adds to Redis what this instance admitted in the window that Redis does not count. */
  private async resync(generation: string): Promise<void> {
    const now = this.clock.now();
    for (const [key, list] of this.ledger) {
      prune(list, now);
      if (list.length === 0) this.ledger.delete(key);
      for (const e of list) {
        if (e.generation === generation && e.unsynced && e.redis && !e.cancelled) {
          await this.withTimeout(this.redis.reconcile(e.redis, e.tokens));
          e.unsynced = false;
        }
      }
      const stale = list.filter((e) => e.generation !== generation && !e.cancelled);
      for (let i = 0; i < stale.length; i += 500) {
        const batch = stale.slice(i, i + 500);
        const sent = batch.map((e) => e.tokens);
        const ids = await this.withTimeout(
          this.redis.adopt(
            key,
            batch.map((e) => ({ ageMs: now - e.at, tokens: e.tokens })),
          ),
        );
        for (const [j, e] of batch.entries()) {
          e.generation = generation;
          e.unsynced = false;
          if (!ids[j]) continue;
          e.redis = { key, id: ids[j], tokens: sent[j] };
          // Settled while the batch was on its way: count the final tokens.
          if (e.tokens !== sent[j]) await this.withTimeout(this.redis.reconcile(e.redis, e.tokens));
        }
      }
    }
    for (const [key, c] of this.cooldowns) {
      if (c.until <= now) this.cooldowns.delete(key);
      // Cooldowns set while degraded never reached Redis; Redis keeps the later one anyway.
      else await this.withTimeout(this.redis.cooldown(key, c.until, c.reason));
    }
  }

  private record(key: string, tokens: number, local: Reservation | undefined, redis: Reservation | undefined, generation: string | undefined, probe: string | undefined): Admission {
    const now = this.clock.now();
    const entry: LedgerEntry = { at: now, tokens, local, redis, generation: redis ? generation : undefined };
    let list = this.ledger.get(key);
    if (!list) this.ledger.set(key, (list = []));
    prune(list, now);
    list.push(entry);
    const reservation: Reservation = { key, id: this.nextId++, tokens };
    this.entries.set(reservation, entry);
    return probe === undefined ? { ok: true, reservation } : { ok: true, reservation, probe };
  }

  /** This instance's part of each limit while it cannot see the others' counts. */
  private share(limits: QuotaLimits): QuotaLimits {
    const part = (v: number) => Math.max(1, Math.floor(v / Math.max(1, this.instances)));
    const out: QuotaLimits = {};
    if (limits.rpm !== undefined) out.rpm = part(limits.rpm);
    if (limits.tpm !== undefined) out.tpm = part(limits.tpm);
    return out;
  }

  private redisUsable(): boolean {
    if (this.degradedSince !== undefined || this.closed) return false;
    if (this.client.status === 'ready') return true;
    this.degrade(`Redis connection is ${this.client.status}`);
    return false;
  }

  private async tryRedis(call: () => Promise<void>): Promise<void> {
    try {
      await this.withTimeout(call());
    } catch (err) {
      this.degrade(describe(err));
    }
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    p.catch(() => undefined); // a late failure after the deadline is of no interest
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  private degrade(reason: string): void {
    if (this.closed) return;
    this.lastError = reason === 'Command timed out' ? `Redis did not answer within ${this.timeoutMs} ms` : reason;
    if (this.degradedSince !== undefined) return;
    this.degradedSince = this.clock.now();
    this.onHealthChange?.(this.health());
    if (!this.ticking) this.schedule(); // probe soon, not at the next heartbeat
  }

  private recover(): void {
    if (this.degradedSince === undefined) return;
    this.degradedSince = undefined;
    this.onHealthChange?.(this.health());
  }
}

/** Drops the entries that left the window (the list is in time order). */
function prune(list: LedgerEntry[], now: number): void {
  let drop = 0;
  while (drop < list.length && list[drop].at <= now - QUOTA_WINDOW_MS) drop++;
  if (drop > 0) list.splice(0, drop);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
