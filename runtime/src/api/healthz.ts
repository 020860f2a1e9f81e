/**
 * GET /healthz: 200 while at least one route can serve and the gateway is not shutting
 * down (`draining`), else 503; for each route its state (healthy, ejected, half-open,
 * cooldown), quota headroom and observed latency.
 * Load balancers and the proxy read the status; people and the spokes' proxy read the body.
 */
import type { Gateway } from '../gateway';
import { endpointKey, type Route } from '../providers/types';
import { quotaHealth } from '../quota/factory';
import { routeTimings, type RouteTimings } from '../routing/adaptive-timeout';
import { limitsFor } from '../routing/limits';
import type { ModelRoutes } from '../routing/route-table';

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
  /** Observed time to first chunk (streams) and to the whole answer, and the timeout and hedge delay they give now. */
  timings: { stream: RouteTimings; whole: RouteTimings };
}

export function healthBody(gw: Gateway) {
  const seen = new Set<string>();
  const routes: RouteHealth[] = [];
  for (const [r, model] of routesWithModel(gw)) {
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
      timings: { stream: routeTimings(s, true, model.timeouts, model.policy), whole: routeTimings(s, false, model.timeouts, model.policy) },
    });
  }
  // Half-open routes can serve (their probe is a real request).
  const ok = routes.some((r) => r.state === 'healthy' || r.state === 'half-open');
  // Shared quota state lost (Redis down or slow): still serving, on local estimates.
  const quota = quotaHealth(gw.quota);
  // Shutting down: whoever checks health (a load balancer, the proxy's prober) sends no more.
  const status = gw.draining ? 'draining' : !ok ? 'unavailable' : quota.degraded ? 'degraded' : 'ok';
  return { status: ok && !gw.draining ? 200 : 503, body: { status, role: gw.role, quota, routes } } as const;
}

/** Every route with the logical model it serves (its timeouts and failover policy). */
function* routesWithModel(gw: Gateway): Generator<[Route, ModelRoutes]> {
  for (const m of gw.routeTable.models()) {
    const model = gw.routeTable.forModel(m.name);
    if (model) for (const group of model.groups) for (const r of group) yield [r, model];
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
