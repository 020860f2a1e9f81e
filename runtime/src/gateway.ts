/**
 * The gateway's services for one (config, role): adapters, route table, health, quota
 * and the attempt executor. The HTTP app (app.ts) is built on top; tests and entry
 * points share this one builder.
 */
import type { GatewayConfig, Role } from './config/schema';
import { providerProbeTargets } from './health/probe-targets';
import { DEFAULT_PROBER, EndpointProber, type ProberOptions } from './health/prober';
import { RouteStatsRegistry } from './health/route-stats';
import { createGuardrailStage, type GuardrailStage } from './guardrails/stage';
import { EventBus } from './observability/events';
import type { Logger } from './observability/logger';
import type { GatewayMetrics } from './observability/metrics';
import { observeGateway, type ObservabilityOptions } from './observability/observe-gateway';
import { createAdapters, type AdapterDeps } from './providers/registry';
import type { ProviderAdapter } from './providers/types';
import { createQuotaStore } from './quota/factory';
import type { QuotaStore } from './quota/store';
import { systemClock, type Clock, type Random } from './routing/clock';
import { AttemptExecutor } from './routing/executor';
import { RetryBudget } from './routing/retry';
import { buildRouteTable, type ModelRoutes } from './routing/route-table';
import { Router } from './routing/router';
import { RouteSelector } from './routing/selector';
import { proxyModels, spokeProbeTargets, spokeServes, spokesAsProvider } from './tiers/proxy-routes';
import { SpokeDirectory } from './tiers/spoke-directory';
import { TenantLimiter } from './tenants/limiter';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly role: Role;
  readonly router: Router;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly stats: RouteStatsRegistry;
  readonly quota: QuotaStore;
  readonly executor: AttemptExecutor;
  readonly prober: EndpointProber;
  readonly events: EventBus;
  /** Structured JSON logs (one line per request); also for errors outside requests. */
  readonly logger: Logger;
  /** Prometheus metrics counted from `events`, served at /metrics. */
  readonly metrics: GatewayMetrics;
  /** Per-tenant rpm/tpm (in `quota`, shared when it is Redis) and concurrency (this instance). */
  readonly tenantLimits: TenantLimiter;
  /** Deny, masking and Bedrock guardrails, run on each request before routing. */
  readonly guardrails: GuardrailStage;
  readonly clock: Clock;
  readonly now: () => number;
  /** Resolves once the first routes are known (spoke DNS names resolved). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export interface GatewayOptions extends Omit<AdapterDeps, 'now'> {
  /** Adapters by provider id, replacing the ones the config would create. */
  adapters?: Map<string, ProviderAdapter>;
  clock?: Clock;
  random?: Random;
  quota?: QuotaStore;
  /** Active health checks; `false` turns them off (unit tests of passive health). */
  probes?: Partial<ProberOptions> | false;
  /** Where logs and EMF lines go, and the environment deciding their defaults. */
  observability?: ObservabilityOptions;
}

export function createGateway(config: GatewayConfig, role: Role, opts: GatewayOptions = {}): Gateway {
  if (role === 'proxy' && config.spokes.length === 0) {
    throw new Error('the proxy role needs at least one entry in spokes');
  }
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const now = () => clock.now();
  const directory = role === 'proxy' ? new SpokeDirectory(config.spokes, config.dns, clock) : undefined;
  const providersNow = () => (directory ? [spokesAsProvider(config.spokes, directory)] : config.providers);
  const providers = providersNow();
  const adapters = opts.adapters ?? createAdapters(providers, { ...opts, now });
  const tableNow = (ps: typeof providers) =>
    directory ? filterSpokes(buildRouteTable(proxyModels(config), ps), config) : buildRouteTable(config.models, ps);
  const targetsNow = () => (opts.probes === false ? [] : directory ? spokeProbeTargets(config.spokes, directory) : providerProbeTargets(providers));
  const router = new Router(tableNow(providers));
  const stats = new RouteStatsRegistry(clock);
  // Shared in Redis when `state.redis` is set (with a local fallback), else in memory.
  const quota: QuotaStore = opts.quota ?? createQuotaStore(config, clock);
  const events = new EventBus();
  const prober = new EndpointProber(targetsNow(), clock, { ...DEFAULT_PROBER, ...(opts.probes || {}) }, (endpoint, down, error) => {
    // An endpoint that failed its health check is out for every route on it, until it answers again.
    if (down) events.emit({ type: 'ejection', route: endpoint, until: clock.now() + DEFAULT_PROBER.downIntervalMs, reason: `health check failed: ${error}` });
  });
  prober.start();
  const selector = new RouteSelector(stats, quota, random, prober);
  const observability = observeGateway(config, role, events, (name) => router.entry(name) !== undefined, opts.observability);
  const executor = new AttemptExecutor({ selector, stats, quota, budget: new RetryBudget(clock), clock, random, endpoints: prober, events });
  const guardrails = createGuardrailStage(config.guardrails, {
    onFailure: (guardrail, err, outcome) => observability.logger.warn({ guardrail, outcome, err: String(err) }, 'guardrail failed'),
  });

  // Spoke addresses changed: new routes for new addresses, state kept for those that stay.
  const rebuild = () => {
    router.replace(tableNow(providersNow()));
    prober.setTargets(targetsNow());
    stats.retain(router.allRoutes().map((r) => r.key));
  };
  directory?.onChange(rebuild);
  const ready = directory ? directory.ready.then(rebuild) : Promise.resolve();

  return {
    config,
    role,
    router,
    adapters,
    stats,
    quota,
    executor,
    prober,
    events,
    logger: observability.logger,
    metrics: observability.metrics,
    tenantLimits: new TenantLimiter(quota),
    guardrails,
    clock,
    now,
    ready,
    async close() {
      directory?.stop();
      await prober.stop();
      await Promise.all([...adapters.values()].map((a) => a.close?.()));
      await quota.close?.();
      guardrails.close();
      observability.stop();
    },
  };
}

function filterSpokes(table: Map<string, ModelRoutes>, config: GatewayConfig): Map<string, ModelRoutes> {
  const spokes = new Map(config.spokes.map((s) => [s.id, s]));
  for (const [name, entry] of table) {
    const groups = entry.groups.map((g) => g.filter((r) => spokeServes(spokes.get(r.account.id)!, name)));
    table.set(name, { model: entry.model, groups });
  }
  return table;
}
