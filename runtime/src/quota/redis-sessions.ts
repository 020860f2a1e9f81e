/**
 * The session table shared by every instance through the quota store's Redis client (no
 * connection of its own): one key per session, expiring with the providers' cache. Every
 * session is mirrored in memory, so while Redis is away (the quota store's degraded mode)
 * this instance keeps the sessions it has seen and goes on remembering new ones.
 */
import type { Redis } from 'ioredis';
import { MemorySessionTable, type SessionTable } from './session-table';
import type { QuotaHealth } from './store';

export interface RedisSessionsOptions {
  client: Redis;
  /** The quota store's key prefix; sessions live under `<prefix>session:<key>`. */
  prefix: string;
  /** The shared store's health: degraded means memory only. */
  health: () => QuotaHealth;
  now: () => number;
}

export class RedisSessionTable implements SessionTable {
  private readonly local: MemorySessionTable;

  constructor(private readonly opts: RedisSessionsOptions) {
    this.local = new MemorySessionTable(opts.now);
  }

  async get(key: string): Promise<string | undefined> {
    if (this.usable()) {
      try {
        const scope = await this.opts.client.get(this.keyOf(key));
        if (scope !== null) return scope;
        // Not in Redis: it expired there, or was written while Redis was away.
      } catch {
        // Redis failed now (the command deadline): what this instance knows.
      }
    }
    return this.local.peek(key);
  }

  async set(key: string, scope: string, ttlMs: number): Promise<void> {
    this.local.remember(key, scope, ttlMs);
    if (!this.usable()) return;
    await this.opts.client.set(this.keyOf(key), scope, 'PX', ttlMs).catch(() => undefined);
  }

  backend(): 'redis' | 'memory' {
    return this.usable() ? 'redis' : 'memory';
  }

  private usable(): boolean {
    return !this.opts.health().degraded && this.opts.client.status === 'ready';
  }

  private keyOf(key: string): string {
    return `${this.opts.prefix}session:${key}`;
  }
}
