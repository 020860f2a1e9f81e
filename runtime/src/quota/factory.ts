/**
 * Picks the quota store for a config: in memory by default, Redis that falls back to local
 * estimates when `state.redis` is set (quota/redis-client.ts, loaded only then: a cold
 * start without Redis does not initialise ioredis).
 */
import type { GatewayConfig } from '../config/schema';
import type { Clock } from '../core/clock';
import { MemoryQuotaStore } from './memory-store';
import type { QuotaStoreOptions } from './redis-client';
import type { QuotaHealth, QuotaStore } from './store';

export type { QuotaStoreOptions } from './redis-client';

export function createQuotaStore(config: GatewayConfig, clock: Clock, opts: QuotaStoreOptions = {}): QuotaStore {
  const url = config.state?.redis;
  if (!url) return new MemoryQuotaStore(clock);
  return (require('./redis-client') as typeof import('./redis-client')).createRedisQuotaStore(url, clock, opts);
}

/** The backend health of any store: a store without Redis is never degraded. */
export function quotaHealth(store: QuotaStore): QuotaHealth {
  return store.health?.() ?? { backend: 'memory', degraded: false, instances: 1 };
}
