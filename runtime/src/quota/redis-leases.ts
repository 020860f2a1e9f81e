/**
 * Concurrency leases shared by every gateway instance through Redis: one sorted set per
 * key, a member per lease scored by its expiry (Redis time). An instance renews the
 * leases it holds every `renewMs`; a lease not renewed for `ttlMs` (its instance crashed
 * or froze) no longer counts. While Redis is unreachable, each instance counts its own
 * leases against its share of the limit, as the quota store does with rpm and tpm.
 */
import type { Redis } from 'ioredis';
import { MemoryLeases, type Lease, type LeaseStore } from './leases';
import { LuaScript } from './redis-store';
import type { QuotaHealth } from './store';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS z; ARGV ttlMs limit id. Drops expired leases; adds one if fewer than limit remain. Returns 1 or 0. */
const ACQUIRE = new LuaScript(`${NOW}
local z, ttl = KEYS[1], tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
if redis.call('ZCARD', z) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', z, now + ttl, ARGV[3])
redis.call('PEXPIRE', z, ttl * 2)
return 1
`);

/** KEYS z; ARGV ttlMs id...: pushes the expiry of the leases still there. */
const RENEW = new LuaScript(`${NOW}
local z, ttl = KEYS[1], tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', z, 'XX', now + ttl, ARGV[i]) end
redis.call('PEXPIRE', z, ttl * 2)
return 1
`);

export interface RedisLeasesOptions {
  client: Redis;
  /** The quota store's key prefix; leases live under `<prefix>lease:{key}`. */
  prefix: string;
  instanceId: string;
  /** The shared store's health: degraded means local counting, and how many instances share the limit. */
  health: () => QuotaHealth;
  /** Resolves once the shared store has connected (or given up waiting at startup). */
  started?: Promise<unknown>;
  /** A lease not renewed this long lapses. Default 30 s. */
  ttlMs?: number;
  /** Renewal period of held leases. Default a third of ttlMs. */
  renewMs?: number;
}

export class RedisLeases implements LeaseStore {
  /** Every lease this instance holds, Redis ones too: what degraded mode counts. */
  private readonly local = new MemoryLeases();
  /** Redis lease ids held, by key. */
  private readonly held = new Map<string, Set<string>>();
  private readonly ttlMs: number;
  private readonly timer: NodeJS.Timeout;
  private seq = 0;

  constructor(private readonly opts: RedisLeasesOptions) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.timer = setInterval(() => void this.renew(), opts.renewMs ?? Math.floor(this.ttlMs / 3));
    this.timer.unref();
  }

  async acquire(key: string, limit: number): Promise<Lease | undefined> {
    await this.opts.started;
    const health = this.opts.health();
    const client = this.opts.client;
    if (!health.degraded && client.status === 'ready') {
      const id = `${this.opts.instanceId}:${++this.seq}`;
      const z = this.keyOf(key);
      try {
        if (Number(await ACQUIRE.run(client, [z], [this.ttlMs, limit, id])) !== 1) return undefined;
        return this.hold(key, z, id);
      } catch {
        // Redis failed now: count here, as when it is known to be down.
      }
    }
    return this.local.acquire(key, Math.max(1, Math.floor(limit / Math.max(1, health.instances))));
  }

  /** Stops renewing: the leases still held lapse within ttlMs (as a crashed instance's would). */
  close(): void {
    clearInterval(this.timer);
  }

  private hold(key: string, z: string, id: string): Lease {
    let ids = this.held.get(key);
    if (!ids) this.held.set(key, (ids = new Set()));
    ids.add(id);
    const counted = this.local.take(key);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        counted.release();
        ids.delete(id);
        if (ids.size === 0 && this.held.get(key) === ids) this.held.delete(key);
        // If Redis cannot hear it now, the lease lapses at its expiry.
        this.opts.client.zrem(z, id).catch(() => undefined);
      },
    };
  }

  private async renew(): Promise<void> {
    if (this.opts.client.status !== 'ready') return;
    for (const [key, ids] of this.held) {
      if (ids.size === 0) continue;
      await RENEW.run(this.opts.client, [this.keyOf(key)], [this.ttlMs, ...ids]).catch(() => undefined);
    }
  }

  private keyOf(key: string): string {
    return `${this.opts.prefix}lease:{${key}}`;
  }
}
