/**
 * The Redis side of the quota store: an ioredis client made to fail fast (no offline
 * queue, a command deadline) and to reconnect by itself with backoff, under a store that
 * falls back to local estimates. Loaded only when a config sets `state.redis`.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../core/clock';
import { ResilientQuotaStore, type ResilientQuotaStoreOptions } from './resilient-store';
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

export function createRedisQuotaStore(url: string, clock: Clock, opts: QuotaStoreOptions = {}): QuotaStore {
  const { reconnectMaxMs, redis, ...resilient } = opts;
  const client = createRedisClient(url, { commandTimeoutMs: opts.commandTimeoutMs, reconnectMaxMs, redis });
  return new ResilientQuotaStore({ ...resilient, client, clock });
}
