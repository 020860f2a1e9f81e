/**
 * The four selection steps for one request. Provider and model: target groups in config
 * order (primary, then model fallbacks), skipping routes with no chance. Account and
 * region: within a group, routes whose circuit is ejected or whose account is cooling
 * down are left out; a half-open route goes first (its probe); the rest are ordered by
 * power-of-two-choices over observed latency, load and quota headroom.
 */
import type { RouteStatsRegistry } from '../health/route-stats';
import { endpointKey, type Route } from '../providers/types';
import type { QuotaStore } from '../quota/store';
import type { Random } from './clock';
import { limitsFor } from './limits';
import type { ModelRoutes } from './route-table';

/** What active health checks know of endpoints (see health/prober.ts). */
export interface EndpointHealth {
  isDown(endpoint: string): boolean;
  /** Spokes: whether the endpoint said it can serve the model; undefined when not known. */
  serves(endpoint: string, model: string): boolean | undefined;
  /** A request could not reach the endpoint: check it now. */
  suspect(endpoint: string): void;
}

export interface Skipped {
  route: string;
  reason: 'ejected' | 'cooldown' | 'no-headroom' | 'down';
  /** When it may serve again (epoch ms), if known. */
  until?: number;
}

export interface Selection {
  /** Groups of equivalent routes in the order to try them. */
  groups: Route[][];
  skipped: Skipped[];
}

export class RouteSelector {
  constructor(
    private readonly stats: RouteStatsRegistry,
    private readonly quota: QuotaStore,
    private readonly random: Random,
    private readonly endpoints?: EndpointHealth,
  ) {}

  select(entry: ModelRoutes, stream: boolean): Selection {
    const skipped: Skipped[] = [];
    const groups: Route[][] = [];
    for (const group of entry.groups) {
      const probes: Route[] = [];
      const ready: Array<{ route: Route; score: number }> = [];
      for (const route of group) {
        if (this.endpoints) {
          const ep = endpointKey(route);
          if (this.endpoints.isDown(ep) || this.endpoints.serves(ep, route.logicalModel) === false) {
            skipped.push({ route: route.key, reason: 'down' });
            continue;
          }
        }
        const s = this.stats.get(route.key);
        const state = s.circuit.state();
        if (state === 'open' || (state === 'half-open' && !s.circuit.available())) {
          skipped.push({ route: route.key, reason: 'ejected', until: s.circuit.reopensAt() });
          continue;
        }
        const head = this.quota.peek(route.key, limitsFor(route));
        if (head.cooldownUntil !== undefined) {
          skipped.push({ route: route.key, reason: 'cooldown', until: head.cooldownUntil });
          continue;
        }
        if (state === 'half-open') {
          probes.push(route);
          continue;
        }
        const latency = s.latency(stream) ?? 0;
        // Lower is better: slow, busy and nearly spent routes are avoided, not excluded.
        ready.push({ route, score: ((latency + 1) * (1 + s.inflight)) / (0.02 + head.fraction) });
      }
      const ordered = [...probes, ...this.order(ready)];
      if (ordered.length > 0) groups.push(ordered);
    }
    return { groups, skipped };
  }

  /** Power of two choices, repeated: spreads load while preferring the better route. */
  private order(items: Array<{ route: Route; score: number }>): Route[] {
    const out: Route[] = [];
    const pool = items.slice();
    while (pool.length > 0) {
      let pick = 0;
      if (pool.length > 1) {
        const a = Math.floor(this.random() * pool.length);
        let b = Math.floor(this.random() * (pool.length - 1));
        if (b >= a) b++;
        // The better of the two wins in proportion to the square of how much better it is:
        // equal routes share load evenly, a slower or fuller one gets a trickle (which also
        // keeps its latency estimate fresh), a far worse one next to nothing.
        const sa = pool[a]!.score ** 2;
        const sb = pool[b]!.score ** 2;
        pick = this.random() * (sa + sb) < sb ? a : b;
      }
      out.push(pool[pick]!.route);
      pool.splice(pick, 1);
    }
    return out;
  }
}
