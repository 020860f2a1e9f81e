/**
 * The four selection steps for one request. Provider and model: target groups in config
 * order (primary, then model fallbacks), skipping routes with no chance. Account and
 * region: within a group, routes whose circuit is ejected or whose account is cooling
 * down are left out; a half-open route goes first (its probe); the rest are ordered by
 * power-of-two-choices over observed latency, load and quota headroom.
 */
import type { SkipReason } from '../core/attempt';
import type { RouteStatsRegistry } from '../health/route-stats';
import { endpointKey, type Route } from '../providers/types';
import type { QuotaStore } from '../quota/store';
import type { Random } from '../core/clock';
import { limitsFor } from './limits';
import type { ModelRoutes } from './route-table';

/** What active health checks know of endpoints (see health/prober.ts). */
export interface EndpointHealth {
  isDown(endpoint: string): boolean;
  /** Spokes: whether the endpoint said it can serve the model; undefined when not known. */
  serves(endpoint: string, model: string): boolean | undefined;
  /** A request could not reach the endpoint: check it now. */
  suspect(endpoint: string): void;
  /** When the endpoint's health is next known (epoch ms): a client refused for it is told when to retry. */
  recheckAt(endpoint: string): number | undefined;
}

export interface Skipped {
  route: string;
  reason: SkipReason;
  /** When it may serve again (epoch ms), if known. */
  until?: number;
}

export interface Selection {
  /** Groups of equivalent routes in the order to try them. */
  groups: ReadonlyArray<readonly Route[]>;
  skipped: readonly Skipped[];
}

interface Candidate {
  route: Route;
  score: number;
}

const NONE_SKIPPED: readonly Skipped[] = [];

export class RouteSelector {
  constructor(
    private readonly stats: RouteStatsRegistry,
    private readonly quota: QuotaStore,
    private readonly random: Random,
    private readonly endpoints?: EndpointHealth,
  ) {}

  select(routes: ModelRoutes, stream: boolean): Selection {
    let skipped: Skipped[] | undefined;
    const skip = (s: Skipped) => (skipped ??= []).push(s);
    const groups: Array<readonly Route[]> = [];
    for (const group of routes.groups) {
      let probes: Route[] | undefined;
      let ready: Candidate[] | undefined;
      for (const route of group) {
        if (this.endpoints) {
          const ep = endpointKey(route);
          if (this.endpoints.isDown(ep) || this.endpoints.serves(ep, route.logicalModel) === false) {
            skip({ route: route.key, reason: 'down', until: this.endpoints.recheckAt(ep) });
            continue;
          }
        }
        const s = this.stats.get(route.key);
        const state = s.circuit.state();
        if (state === 'open' || (state === 'half-open' && !s.circuit.available())) {
          skip({ route: route.key, reason: 'ejected', until: s.circuit.reopensAt() });
          continue;
        }
        const head = this.quota.peek(route.key, limitsFor(route));
        if (head.cooldownUntil !== undefined) {
          skip({ route: route.key, reason: 'cooldown', until: head.cooldownUntil });
          continue;
        }
        if (state === 'half-open') {
          (probes ??= []).push(route);
          continue;
        }
        const latency = s.latency(stream) ?? 0;
        // Lower is better: slow, busy and nearly spent routes are avoided, not excluded.
        (ready ??= []).push({ route, score: ((latency + 1) * (1 + s.inflight)) / (0.02 + head.fraction) });
      }
      // The usual case, one route and it is ready: the table's own group, nothing to order.
      if (group.length === 1 && ready) groups.push(group);
      else if (probes || ready) groups.push([...(probes ?? []), ...(ready ? this.order(ready) : [])]);
    }
    return { groups, skipped: skipped ?? NONE_SKIPPED };
  }

  /** Power of two choices, repeated: spreads load while preferring the better route. */
  private order(items: Candidate[]): Route[] {
    const out: Route[] = [];
    const pool = items; // consumed
    while (pool.length > 0) {
      let pick = 0;
      if (pool.length > 1) {
        const a = Math.floor(this.random() * pool.length);
        let b = Math.floor(this.random() * (pool.length - 1));
        if (b >= a) b++;
        // The better of the two wins in proportion to the square of how much better it is:
        // equal routes share load evenly, a slower or fuller one gets a trickle (which also
        // keeps its latency estimate fresh), a far worse one next to nothing.
        const sa = pool[a].score ** 2;
        const sb = pool[b].score ** 2;
        pick = this.random() * (sa + sb) < sb ? a : b;
      }
      out.push(pool[pick].route);
      pool.splice(pick, 1);
    }
    return out;
  }
}
