/**
 * Concurrency leases: at most `limit` holders of a key at once (a tenant's requests in
 * flight). In memory for one instance; shared by every instance through Redis
 * (redis-leases.ts), where a lease expires unless its instance keeps renewing it, so the
 * leases of an instance that crashed lapse by themselves.
 */

export interface Lease {
  /** Gives the slot back; later calls do nothing. */
  release(): void;
}

export interface LeaseStore {
  /** One of `limit` leases on `key`, or undefined when all are taken. */
  acquire(key: string, limit: number): Promise<Lease | undefined>;
  /** Stops renewing (shared stores): leases still held lapse on their own. */
  close?(): void;
}

/** Leases counted in this process. */
export class MemoryLeases implements LeaseStore {
  private readonly held = new Map<string, number>();

  acquire(key: string, limit: number): Promise<Lease | undefined> {
    return Promise.resolve((this.held.get(key) ?? 0) < limit ? this.take(key) : undefined);
  }

  /** Takes a lease whatever the count (one granted elsewhere, counted here too). */
  take(key: string): Lease {
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const n = (this.held.get(key) ?? 1) - 1;
        if (n > 0) this.held.set(key, n);
        else this.held.delete(key);
      },
    };
  }

  /** Leases held now on `key`. */
  count(key: string): number {
    return this.held.get(key) ?? 0;
  }
}
