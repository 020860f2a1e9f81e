/**
 * The QuotaStore shared by every instance of a spoke (or of the proxy) through Redis:
 * exact sliding one-minute windows, each check-and-add one Lua script.
 *
 * Time: windows are measured with Redis server TIME by default, so instances whose
 * clocks disagree still share one timeline; only durations (retry-after, cooldown
 * length, reset-in) cross between the caller's clock and Redis. `timeSource: 'clock'`
 * uses the injected clock instead (tests that move time by hand).
 *
 * This store throws when Redis fails; ResilientQuotaStore is what the gateway uses.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RateLimitInfo } from '../core/rate-limit';
import type { Clock } from '../core/clock';
import { classLimits } from './capacity-class';
import { ADOPT_LUA, CANCEL_LUA, CLAIM_PROBE_LUA, COOLDOWN_LUA, END_PROBE_LUA, HEARTBEAT_LUA, OBSERVE_LUA, RECONCILE_LUA, RESERVE_LUA } from './redis-scripts';
import {
  PROBE_TIMEOUT_MS,
  RECOVERY_MS,
  withTokensLeft,
  type Admission,
  type DenyReason,
  type Headroom,
  type QuotaLimits,
  type QuotaStore,
  type ReserveOptions,
  type Reservation,
} from './store';

export const QUOTA_WINDOW_MS = 60_000;
export const DEFAULT_QUOTA_PREFIX = 'aigw:quota:';

export type RedisTimeSource = 'redis' | 'clock';

export interface RedisQuotaStoreOptions {
  client: Redis;
  clock: Clock;
  /** Prepended to every key, e.g. per environment or per spoke. Default `aigw:quota:`. */
  prefix?: string;
  /** Default 'redis' (Redis TIME); 'clock' sends the injected clock's time. */
  timeSource?: RedisTimeSource;
  /** Life of a route's keys after its last change; at least the window. Default 2 minutes. */
  keyTtlMs?: number;
}

/** The Redis keys of one route; the hash tag keeps them on one cluster slot. */
export function routeKeys(prefix: string, key: string) {
  const base = `${prefix}{${key}}`;
  return { window: `${base}:w`, tokens: `${base}:t`, meta: `${base}:m`, cooldown: `${base}:c`, provider: `${base}:p`, probe: `${base}:cp` };
}

export function instanceKeys(prefix: string) {
  return { instances: `${prefix}instances`, generation: `${prefix}generation` };
}

/** Runs a script by its SHA and loads it on NOSCRIPT (a restarted or failed-over Redis). */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
  async run(client: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const SCRIPTS = {
  reserve: new LuaScript(RESERVE_LUA),
  reconcile: new LuaScript(RECONCILE_LUA),
  cancel: new LuaScript(CANCEL_LUA),
  cooldown: new LuaScript(COOLDOWN_LUA),
  observe: new LuaScript(OBSERVE_LUA),
  adopt: new LuaScript(ADOPT_LUA),
  claimProbe: new LuaScript(CLAIM_PROBE_LUA),
  endProbe: new LuaScript(END_PROBE_LUA),
  heartbeat: new LuaScript(HEARTBEAT_LUA),
};

const DENY_REASONS: ReadonlySet<string> = new Set<DenyReason>(['rpm', 'tpm', 'cooldown', 'provider-limit', 'reserved']);

/** No capacity class: the script checks the whole limits only. */
const NO_CLASS: QuotaLimits = {};

/** What the last script answer said about a route, for peek() without I/O. */
interface Snapshot {
  requests: number;
  tokens: number;
  /** Local clock time of the answer. */
  seenAt: number;
  cooldownUntil?: number;
  cooldownReason?: string;
}

export interface AdoptedEntry {
  /** How long ago (ms) the reservation was admitted. */
  ageMs: number;
  tokens: number;
}

export class RedisQuotaStore implements QuotaStore {
  readonly prefix: string;
  private readonly client: Redis;
  private readonly clock: Clock;
  private readonly timeSource: RedisTimeSource;
  private readonly ttlMs: number;
  private readonly snapshots = new Map<string, Snapshot>();
  /** When stale snapshots are next dropped (route keys come and go with spoke addresses and reloads). */
  private sweepAt = 0;

  constructor(opts: RedisQuotaStoreOptions) {
    this.client = opts.client;
    this.clock = opts.clock;
    this.prefix = opts.prefix ?? DEFAULT_QUOTA_PREFIX;
    this.timeSource = opts.timeSource ?? 'redis';
    this.ttlMs = Math.max(opts.keyTtlMs ?? 2 * QUOTA_WINDOW_MS, QUOTA_WINDOW_MS + 1000);
  }

  /** ARGV[1..3] of every script: now ('' = Redis TIME), window, key TTL. */
  private head(): (string | number)[] {
    return [this.timeSource === 'clock' ? Math.floor(this.clock.now()) : '', QUOTA_WINDOW_MS, this.ttlMs];
  }

  async reserve(key: string, limits: QuotaLimits, tokens: number, opts?: ReserveOptions): Promise<Admission> {
    const n = wholeTokens(tokens);
    const k = routeKeys(this.prefix, key);
    const cls = opts?.share === undefined ? NO_CLASS : classLimits(limits, opts.share);
    const reply = asArray(
      await SCRIPTS.reserve.run(
        this.client,
        [k.window, k.tokens, k.meta, k.cooldown, k.provider, k.probe],
        [...this.head(), whole(limits.rpm), whole(limits.tpm), n, opts?.probe ?? '', PROBE_TIMEOUT_MS, whole(cls.rpm), whole(cls.tpm)],
      ),
    );
    const [ok, idOrReason, retryAfterMs, requests, sum, redisNow, cdUntil, cdReason, probe] = reply;
    const now = num(redisNow);
    const snap: Snapshot = { requests: num(requests), tokens: num(sum), seenAt: this.clock.now() };
    if (num(cdUntil) > now) {
      snap.cooldownUntil = this.toLocal(num(cdUntil), now);
      snap.cooldownReason = String(cdReason);
    }
    this.keep(key, snap);
    if (num(ok) === 1) {
      const admitted: Admission = { ok: true, reservation: { key, id: num(idOrReason), tokens: n } };
      if (typeof probe === 'string' && probe !== '') admitted.probe = probe;
      return admitted;
    }
    const reason = String(idOrReason);
    if (!DENY_REASONS.has(reason)) throw new Error(`quota script answered an unknown reason "${reason}"`);
    return withTokensLeft({ ok: false, reason: reason as DenyReason, retryAfterMs: num(retryAfterMs) }, cls.tpm ?? limits.tpm, num(sum));
  }

  reconcile(res: Reservation, actualTokens: number): Promise<void> {
    return this.setTokens(res, wholeTokens(actualTokens));
  }

  release(res: Reservation): Promise<void> {
    return this.setTokens(res, 0);
  }

  async cancel(res: Reservation): Promise<void> {
    const k = routeKeys(this.prefix, res.key);
    this.remember(res.key, await SCRIPTS.cancel.run(this.client, [k.window, k.tokens, k.meta], [...this.head(), String(res.id)]));
  }

  private async setTokens(res: Reservation, tokens: number): Promise<void> {
    const k = routeKeys(this.prefix, res.key);
    this.remember(res.key, await SCRIPTS.reconcile.run(this.client, [k.window, k.tokens, k.meta], [...this.head(), String(res.id), tokens]));
  }

  /** A script's {count, sum} answer: the route's use for peek(). */
  private remember(key: string, reply: unknown): void {
    const [requests, sum] = asArray(reply);
    const prev = this.snapshots.get(key);
    this.keep(key, { ...prev, requests: num(requests), tokens: num(sum), seenAt: this.clock.now() });
  }

  /** Snapshots kept now. */
  get size(): number {
    return this.snapshots.size;
  }

  /** Stores a route's snapshot; a new key (only it grows the map) drops, at most once a minute, those peek() reads as empty. */
  private keep(key: string, snap: Snapshot): void {
    const before = this.snapshots.size;
    this.snapshots.set(key, snap);
    if (this.snapshots.size === before) return;
    const now = this.clock.now();
    if (now < this.sweepAt) return;
    this.sweepAt = now + QUOTA_WINDOW_MS;
    for (const [k, old] of this.snapshots) {
      if (now - old.seenAt >= QUOTA_WINDOW_MS && !(old.cooldownUntil !== undefined && old.cooldownUntil > now)) this.snapshots.delete(k);
    }
  }

  async cooldown(key: string, untilMs: number, reason: string): Promise<void> {
    const durationMs = Math.ceil(untilMs - this.clock.now());
    if (durationMs <= 0) return;
    const k = routeKeys(this.prefix, key);
    const [until, why, redisNow] = asArray(await SCRIPTS.cooldown.run(this.client, [k.cooldown], [...this.head(), durationMs, reason.replace(/\|/g, '/'), RECOVERY_MS]));
    const snap = this.snapshots.get(key) ?? { requests: 0, tokens: 0, seenAt: this.clock.now() };
    snap.cooldownUntil = this.toLocal(num(until), num(redisNow));
    snap.cooldownReason = String(why);
    this.keep(key, snap);
  }

  async claimProbe(key: string, holder: string, untilMs: number): Promise<boolean> {
    const px = Math.ceil(untilMs - this.clock.now()) + PROBE_TIMEOUT_MS;
    return num(await SCRIPTS.claimProbe.run(this.client, [routeKeys(this.prefix, key).probe], [...this.head(), holder, px])) === 1;
  }

  async endProbe(key: string, probe: string, ok: boolean): Promise<void> {
    const k = routeKeys(this.prefix, key);
    await SCRIPTS.endProbe.run(this.client, [k.cooldown, k.probe], [...this.head(), probe, ok ? 1 : 0]);
  }

  async observe(key: string, info: RateLimitInfo): Promise<void> {
    if (info.remainingRequests === undefined && info.remainingTokens === undefined) return;
    const k = routeKeys(this.prefix, key);
    await SCRIPTS.observe.run(
      this.client,
      [k.provider],
      [...this.head(), whole(info.remainingRequests), Math.ceil(info.resetRequestsMs ?? 1000), whole(info.remainingTokens), Math.ceil(info.resetTokensMs ?? 1000)],
    );
  }

  /** The counts of the last answer from Redis; an answer older than the window counts as empty. */
  peek(key: string, limits: QuotaLimits): Headroom {
    const now = this.clock.now();
    const snap = this.snapshots.get(key);
    if (!snap) return { fraction: 1, requestsUsed: 0, tokensUsed: 0 };
    const fresh = now - snap.seenAt < QUOTA_WINDOW_MS;
    const requestsUsed = fresh ? snap.requests : 0;
    const tokensUsed = fresh ? snap.tokens : 0;
    let fraction = 1;
    if (limits.rpm) fraction = Math.min(fraction, 1 - requestsUsed / limits.rpm);
    if (limits.tpm) fraction = Math.min(fraction, 1 - tokensUsed / limits.tpm);
    const h: Headroom = { fraction: Math.max(0, fraction), requestsUsed, tokensUsed };
    if (snap.cooldownUntil !== undefined && snap.cooldownUntil > now) {
      h.cooldownUntil = snap.cooldownUntil;
      h.cooldownReason = snap.cooldownReason;
    }
    return h;
  }

  /** Records reservations admitted elsewhere (while Redis was away); returns their ids, 0 when too old. */
  async adopt(key: string, entries: readonly AdoptedEntry[]): Promise<number[]> {
    if (entries.length === 0) return [];
    const k = routeKeys(this.prefix, key);
    const args = entries.flatMap((e) => [Math.max(0, Math.floor(e.ageMs)), wholeTokens(e.tokens)]);
    return asArray(await SCRIPTS.adopt.run(this.client, [k.window, k.tokens, k.meta], [...this.head(), ...args])).map(num);
  }

  /** Announces `instanceId` as live for `ttlMs`; answers the live count and the dataset's generation. */
  async heartbeat(instanceId: string, ttlMs: number, newGeneration: string): Promise<{ instances: number; generation: string }> {
    const k = instanceKeys(this.prefix);
    const [instances, generation] = asArray(
      await SCRIPTS.heartbeat.run(this.client, [k.instances, k.generation], [...this.head(), instanceId, Math.ceil(ttlMs), newGeneration, 24 * 3600_000]),
    );
    return { instances: Math.max(1, num(instances)), generation: String(generation) };
  }

  /** The instance stops: the others take its share at once. */
  async leave(instanceId: string): Promise<void> {
    await this.client.zrem(instanceKeys(this.prefix).instances, instanceId);
  }

  /** A Redis time on this instance's clock. */
  private toLocal(redisMs: number, redisNow: number): number {
    return this.clock.now() + (redisMs - redisNow);
  }
}

function wholeTokens(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

/** An optional count as a script argument: '' when absent. */
function whole(v: number | undefined): number | '' {
  return v === undefined ? '' : Math.max(0, Math.floor(v));
}

function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new Error(`quota script answered ${typeof reply}, expected an array`);
  return reply;
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`quota script answered "${String(v)}" where a number was expected`);
  return n;
}
