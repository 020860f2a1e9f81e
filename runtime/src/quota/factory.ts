/**
 * Picks the quota store for a config: in memory by default, Redis that falls back to local
 * estimates when `state.redis` is set. The Redis client is made to fail fast (no offline
 * queue, a command deadline) and to reconnect by itself with backoff.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { GatewayConfig } from '../config/schema';
import type { Clock } from '../routing/clock';
import { MemoryQuotaStore } from './memory-store';
import { ResilientQuotaStore, type QuotaHealth, type ResilientQuotaStoreOptions } from './resilient-store';
import type { QuotaStore } from './store';

export interface RedisClientOptions {
  /** Deadline of one command. Default 100 ms. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts. Default 2000 ms. */
  reconnectMaxMs?: number;
  /** Anything else ioredis accepts (TLS, username, password, ...); wins over the defaults. */
  redis?: RedisOptions;
}

export type QuotaStoreOptions = Omit<ResilientQuotaStoreOptions, 'client' | 'clock'> & RedisClientOptions;

export function createRedisClient(url: string, opts: RedisClientOptions = {}): Redis {
  const reconnectMaxMs = opts.reconnectMaxMs ?? 2000;
  return new Redis(url, {
    enableOfflineQueue: false, // disconnected: fail at once, the caller serves locally
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeoutMs ?? 100,
    connectTimeout: 2000,
    // close() on a dead connection leaves ioredis a timer of this length: keep it short.
    disconnectTimeout: 100,
    retryStrategy: (attempt: number) => Math.min(reconnectMaxMs, 50 * 2 ** Math.min(attempt, 10)),
    ...opts.redis,
  });
}

export function createQuotaStore(config: GatewayConfig, clock: Clock, opts: QuotaStoreOptions = {}): QuotaStore {
  const url = config.state?.redis;
  if (!url) return new MemoryQuotaStore(clock);
  const { reconnectMaxMs, redis, ...resilient } = opts;
  const client = createRedisClient(url, { commandTimeoutMs: opts.commandTimeoutMs, reconnectMaxMs, redis });
  return new ResilientQuotaStore({ ...resilient, client, clock });
}

/** The backend health of any store: a store without Redis is never degraded. */
export function quotaHealth(store: QuotaStore): QuotaHealth {
  if (store instanceof ResilientQuotaStore) return store.health();
  return { backend: 'memory', degraded: false, instances: 1 };
}
