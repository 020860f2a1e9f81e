/**
 * The status page's data: /healthz's per-route view (healthBody, not recomputed), grouped
 * by logical model and fallback tier, each route named by provider, account and region
 * (spokes in the proxy role), with an overall verdict and the recent events.
 */
import { healthBody, type RouteHealth, type RouteState } from '../api/healthz';
import type { Role } from '../config/schema';
import type { ModelApi } from '../core/embeddings';
import type { Gateway } from '../gateway';
import type { Priority } from '../core/priority';
import { configClasses } from '../quota/capacity-class';
import { shareOf } from '../core/priority';
import type { SpendSource, TenantSpendStatus } from '../tenants/spend-store';
import type { ClassUsage, ClassUse } from './class-usage';
import type { FailoverPolicy } from '../routing/failover-policy';
import type { AttemptTimeouts } from '../routing/timeouts';
import type { RecentEntry, RecentEvents, StatusTotals } from './recent';
import { tenantUse, type TenantRefusals, type TenantUse } from './tenant-use';

export type OverallState = 'OK' | 'DEGRADED' | 'DOWN';

export interface StatusRoute extends RouteHealth {
  provider: string;
  providerType: string;
  /** Account id; in the proxy role, the spoke id. */
  account: string;
  /** Region; in the proxy role, the spoke address. */
  region: string;
  providerModel: string;
  spoke: boolean;
  /** 0 for the model's first choice, 1.. for its fallbacks. */
  tier: number;
  /** With capacity classes: each class's share of the route's limits and its use in the last minute (this instance). */
  classes?: Record<Priority, ClassStatus>;
}

export interface ClassStatus extends ClassUse {
  share: number;
  /** The class's part of the route's limits. */
  rpm?: number;
  tpm?: number;
}

export interface StatusModel {
  name: string;
  /** What it serves: chat or embeddings. */
  api: ModelApi;
  state: OverallState;
  routes: StatusRoute[];
  /** The live failover settings (config with defaults) and fixed attempt timeouts of the model. */
  failover?: FailoverPolicy;
  timeouts?: AttemptTimeouts;
}

export interface StatusSnapshot {
  /** Gateway clock time of the snapshot: cooldown ends are relative to it. */
  at: string;
  role: Role;
  overall: OverallState;
  /** Distinct routes by state. */
  counts: Record<RouteState, number>;
  models: StatusModel[];
  totals: StatusTotals;
  /** Where the session-affinity table is kept now (Redis, or memory without it or while it is down). */
  sessions: { backend: 'redis' | 'memory' };
  recent: RecentEntry[];
  /** Each tenant with a budget or a spend: today and this month (UTC), every instance's when read from the shared store. */
  spend: TenantSpendStatus[];
  /** Where `spend` comes from: `redis` (read for this snapshot), `last-seen` (Redis unreachable or slow), `memory` (no shared store). */
  spendSource: SpendSource;
  /** Each tenant's use against its rpm, tpm and concurrency limits, and its refusals by reason (then `none`: refused requests without a tenant). */
  tenants: TenantUse[];
}

const SERVING: ReadonlySet<RouteState> = new Set(['healthy', 'half-open']);

/** `spendSource`: what `gw.spend.refresh` said just before (the spend is as it left it). */
export function statusSnapshot(gw: Gateway, recent: RecentEvents, usage: ClassUsage | undefined, spendSource: SpendSource, refusals: TenantRefusals): StatusSnapshot {
  const classes = usage && configClasses(gw.config);
  const health = healthBody(gw);
  const byKey = new Map(health.body.routes.map((r) => [r.route, r]));
  const counts: Record<RouteState, number> = { healthy: 0, 'half-open': 0, cooldown: 0, ejected: 0, down: 0 };
  for (const r of health.body.routes) counts[r.state]++;

  const models: StatusModel[] = [];
  for (const m of gw.routeTable.models()) {
    const groups = gw.routeTable.forModel(m.name)?.groups ?? [];
    const routes: StatusRoute[] = [];
    groups.forEach((group, tier) => {
      for (const r of group) {
        const h = byKey.get(r.key);
        if (!h) continue;
        routes.push({
          ...h,
          model: m.name,
          provider: r.provider.id,
          providerType: r.provider.type,
          account: r.account.id,
          region: r.endpoint.region,
          providerModel: r.model,
          spoke: gw.role === 'proxy',
          tier,
          ...(classes ? { classes: classStatus(classes, usage.of(r.key), h.headroom) } : {}),
        });
      }
    });
    const table = gw.routeTable.forModel(m.name);
    models.push({ name: m.name, api: m.api, state: verdict(routes.map((r) => r.state)), routes, failover: table?.policy, timeouts: table?.timeouts });
  }

  const overall: OverallState = health.status !== 200 ? 'DOWN' : models.every((m) => m.state === 'OK') ? 'OK' : 'DEGRADED';
  return {
    at: new Date(gw.now()).toISOString(),
    role: gw.role,
    overall,
    counts,
    models,
    totals: { ...recent.totals, sessions: { ...recent.totals.sessions }, promptTokens: { ...recent.totals.promptTokens } },
    sessions: { backend: gw.affinity.backend() },
    recent: recent.entries(),
    spend: gw.spend.snapshot(gw.config.tenants),
    spendSource,
    tenants: tenantUse(gw, refusals),
  };
}

function classStatus(classes: NonNullable<ReturnType<typeof configClasses>>, use: Record<Priority, ClassUse>, limits: { rpm?: number; tpm?: number }): Record<Priority, ClassStatus> {
  const of = (p: Priority): ClassStatus => {
    const share = classes[p].share;
    return {
      share,
      ...(limits.rpm !== undefined ? { rpm: shareOf(limits.rpm, share) } : {}),
      ...(limits.tpm !== undefined ? { tpm: shareOf(limits.tpm, share) } : {}),
      ...use[p],
    };
  };
  return { critical: of('critical'), standard: of('standard'), batch: of('batch') };
}

/** OK when every route is healthy, DOWN when none can serve, DEGRADED in between. */
function verdict(states: RouteState[]): OverallState {
  if (!states.some((s) => SERVING.has(s))) return 'DOWN';
  return states.every((s) => s === 'healthy') ? 'OK' : 'DEGRADED';
}
