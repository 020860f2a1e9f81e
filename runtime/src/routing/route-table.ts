/**
 * Every route of every logical model, built once from config: target order (primary,
 * then model fallbacks) x accounts x regional endpoints. Selection among them is the
 * RouteSelector's job; this is only the static table it selects from.
 */
import type { FailoverConfig, GatewayConfig, ModelConfig, ProviderConfig } from '../config/schema';
import { promptCacheRoute } from '../providers/prompt-cache-support';
import { routeKey, type Route } from '../providers/types';
import { failoverPolicy, type FailoverPolicy } from './failover-policy';
import { timeoutsFor, type AttemptTimeouts } from './timeouts';

export interface ModelRoutes {
  readonly model: ModelConfig;
  /** The model's attempt timeouts (defaults with its overrides). */
  readonly timeouts: AttemptTimeouts;
  /** One group per target, in config order (`model.targets[i]` is group i's); routes in a group are equivalent. */
  readonly groups: readonly (readonly Route[])[];
  /** Same-route retries, Retry-After waits, adaptive timeouts and hedging, defaults filled in. */
  readonly policy: FailoverPolicy;
}

export function buildRouteTable(models: GatewayConfig['models'], providers: readonly ProviderConfig[], failover?: FailoverConfig): Map<string, ModelRoutes> {
  const byId = new Map(providers.map((p) => [p.id, p]));
  const table = new Map<string, ModelRoutes>();
  for (const model of models) {
    const groups = model.targets.map((t) => {
      const provider = byId.get(t.provider);
      if (!provider) return [];
      const promptCache = promptCacheRoute(provider, t, model);
      return provider.accounts.flatMap((account) =>
        account.endpoints.map((endpoint): Route => ({
          key: routeKey(provider.id, account.id, endpoint.region, t.model),
          provider,
          account,
          endpoint,
          model: t.model,
          logicalModel: model.name,
          ...(t.structuredOutput ? { structuredOutput: t.structuredOutput } : {}),
          ...(promptCache ? { promptCache } : {}),
          ...(t.promptCache === false ? { cacheMarkersOff: true as const } : {}),
        })),
      );
    });
    table.set(model.name, { model, timeouts: timeoutsFor(model), groups, policy: failoverPolicy(model, failover) });
  }
  return table;
}

/** The logical models and every route of each, looked up by model name; replaced whole when routes change. */
export class RouteTable {
  constructor(private table: ReadonlyMap<string, ModelRoutes>) {}

  /** A new table (spoke addresses changed, config reloaded); requests in flight keep theirs. */
  replace(table: ReadonlyMap<string, ModelRoutes>): void {
    this.table = table;
  }

  /** The routes of the logical model `name`, if it exists. */
  forModel(name: string): ModelRoutes | undefined {
    return this.table.get(name);
  }

  models(): ModelConfig[] {
    return [...this.table.values()].map((m) => m.model);
  }

  allRoutes(): Route[] {
    return [...this.table.values()].flatMap((m) => m.groups.flat());
  }
}
