/**
 * GET /healthz: 200 while at least one route can serve, else 503; for each route its
 * state (healthy, ejected, half-open, cooldown), quota headroom and observed latency.
 * Load balancers and the proxy read the status; people and the spokes' proxy read the body.
 */
import type { Gateway } from '../gateway';
import { endpointKey } from '../providers/types';
import { quotaHealth } from '../quota/factory';
import { limitsFor } from '../routing/limits';

export type RouteState = 'healthy' | 'ejected' | 'half-open' | 'cooldown' | 'down';

export interface RouteHealth {
  route: string;
  model: string;
  state: RouteState;
  until?: string;
  headroom: { fraction: number; requestsUsed: number; tokensUsed: number; rpm?: number; tpm?: number };
  latencyMs?: number;
  inflight: number;
  lastFailure?: string;
  /** The last active health check's failure, when the endpoint is checked. */
  probe?: string;
}

export function healthBody(gw: Gateway) {
  const seen = new Set<string>();
  const routes: RouteHealth[] = [];
  for (const r of gw.routeTable.allRoutes()) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    const s = gw.stats.get(r.key);
    const limits = limitsFor(r);
    const head = gw.quota.peek(r.key, limits);
    const circuit = s.circuit.state();
    const probe = gw.prober.describe(endpointKey(r));
    const state: RouteState = probe?.down ? 'down' : circuit === 'open' ? 'ejected' : head.cooldownUntil !== undefined ? 'cooldown' : circuit === 'half-open' ? 'half-open' : 'healthy';
    const until = circuit === 'open' ? s.circuit.reopensAt() : head.cooldownUntil;
    const latency = s.latency(true) ?? s.latency(false);
    routes.push({
      route: r.key,
      model: r.logicalModel,
      state,
      ...(until !== undefined && state !== 'healthy' ? { until: new Date(until).toISOString() } : {}),
      headroom: { fraction: round(head.fraction), requestsUsed: head.requestsUsed, tokensUsed: head.tokensUsed, ...limits },
      ...(latency !== undefined ? { latencyMs: Math.round(latency) } : {}),
      inflight: s.inflight,
      ...(s.lastFailure ? { lastFailure: `${new Date(s.lastFailure.at).toISOString()} ${s.lastFailure.what}` } : {}),
      ...(probe?.lastError ? { probe: probe.lastError } : {}),
    });
  }
  // Half-open routes can serve (their probe is a real request).
  const ok = routes.some((r) => r.state === 'healthy' || r.state === 'half-open');
  // Shared quota state lost (Redis down or slow): still serving, on local estimates.
  const quota = quotaHealth(gw.quota);
  const status = !ok ? 'unavailable' : quota.degraded ? 'degraded' : 'ok';
  return { status: ok ? 200 : 503, body: { status, role: gw.role, quota, routes } } as const;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
