/**
 * Where each session was served last (session affinity, routing/affinity.ts): a key per
 * session with the route's scope, expiring at the providers' cache lifetime. In memory
 * here; shared through Redis by quota/redis-sessions.ts.
 */

export interface SessionTable {
  /** The scope that served the session last, while remembered. */
  get(key: string): Promise<string | undefined>;
  /** Remembers (or refreshes) the session's scope for `ttlMs`. */
  set(key: string, scope: string, ttlMs: number): Promise<void>;
  /** Where sessions are kept now. */
  backend(): 'redis' | 'memory';
}

/** Sessions kept by one instance, at most `capacity` (the least recently used go first). */
export class MemorySessionTable implements SessionTable {
  private readonly entries = new Map<string, { scope: string; expires: number }>();

  constructor(
    private readonly now: () => number,
    private readonly capacity = 100_000,
  ) {}

  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.peek(key));
  }

  /** The same as get, without a promise (the Redis table's fallback reads it in the same turn). */
  peek(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.scope;
  }

  set(key: string, scope: string, ttlMs: number): Promise<void> {
    this.remember(key, scope, ttlMs);
    return Promise.resolve();
  }

  remember(key: string, scope: string, ttlMs: number): void {
    // Re-inserted so that the Map's order is the order of last use.
    this.entries.delete(key);
    this.entries.set(key, { scope, expires: this.now() + ttlMs });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }

  backend(): 'memory' {
    return 'memory';
  }
}
