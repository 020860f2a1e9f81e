/**
 * Each capacity class's use of each route over the last minute, on this instance, from
 * request events: requests admitted (and their tokens) and requests refused to keep a
 * higher class's share. The route's total use (every class, every instance) is its quota
 * headroom; this says who used it.
 */
import { PASSED_OVER } from '../core/attempt';
import { PRIORITIES, type Priority } from '../core/priority';
import type { EventBus, GatewayEvent } from '../observability/events';
import { UsageBuckets } from '../quota/usage-buckets';

export interface ClassUse {
  admitted: number;
  tokens: number;
  refused: number;
}

interface ClassWindows {
  admitted: UsageBuckets;
  refused: UsageBuckets;
}

export class ClassUsage {
  private readonly routes = new Map<string, Record<Priority, ClassWindows>>();
  private readonly unsubscribe: () => void;
  /** When routes without use in the last minute are next dropped (route keys come and go with spoke addresses and reloads). */
  private sweepAt = 0;

  constructor(
    events: EventBus,
    private readonly now: () => number,
  ) {
    this.unsubscribe = events.subscribe((e) => this.observe(e));
  }

  /** Use per class of `route` in the last minute. */
  of(route: string): Record<Priority, ClassUse> {
    const windows = this.routes.get(route);
    const now = this.now();
    const use = (p: Priority): ClassUse => {
      const w = windows?.[p];
      if (!w) return { admitted: 0, tokens: 0, refused: 0 };
      const admitted = w.admitted.totals(now);
      return { admitted: admitted.requests, tokens: admitted.tokens, refused: w.refused.totals(now).requests };
    };
    return { critical: use('critical'), standard: use('standard'), batch: use('batch') };
  }

  /** Routes with windows kept now. */
  get size(): number {
    return this.routes.size;
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(e: GatewayEvent): void {
    if (e.type !== 'request' || e.priority === undefined) return;
    const now = this.now();
    for (const a of e.attempts) {
      if (a.outcome === 'reserved') this.windows(a.route)[e.priority].refused.add(now, 1, 0);
      else if (!PASSED_OVER.has(a.outcome)) this.windows(a.route)[e.priority].admitted.add(now, 1, a.outcome === 'ok' ? (e.usage?.total_tokens ?? 0) : 0);
    }
  }

  private sweep(now: number): void {
    this.sweepAt = now + 60_000;
    for (const route of this.routes.keys()) {
      const use = this.of(route);
      if (PRIORITIES.every((p) => use[p].admitted === 0 && use[p].tokens === 0 && use[p].refused === 0)) this.routes.delete(route);
    }
  }

  private windows(route: string): Record<Priority, ClassWindows> {
    let w = this.routes.get(route);
    if (!w) {
      // Only a new route grows the map, so the sweep runs here, at most once a minute.
      const now = this.now();
      if (now >= this.sweepAt) this.sweep(now);
      const fresh = () => ({ admitted: new UsageBuckets(), refused: new UsageBuckets() });
      w = Object.fromEntries(PRIORITIES.map((p) => [p, fresh()])) as Record<Priority, ClassWindows>;
      this.routes.set(route, w);
    }
    return w;
  }
}
