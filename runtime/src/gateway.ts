/**
 * The gateway's services for one (config, role): adapters, route table, health, quota
 * and the attempt executor. The HTTP app (app.ts) is built on top; tests and entry
 * points share this one builder.
 */
import type { GatewayConfig, Role } from './config/schema';
import { configWarnings } from './config/warnings';
import { providerProbeTargets } from './health/probe-targets';
import { DEFAULT_PROBER, EndpointProber, type ProberOptions } from './health/prober';
import { RouteStatsRegistry } from './health/route-stats';
import { DEFAULT_CIRCUIT, type CircuitPolicy } from './health/circuit';
import { createGuardrailStage, type GuardrailStage } from './guardrails/stage';
import { EventBus } from './observability/events';
import type { Logger } from './observability/logger';
import type { GatewayMetrics } from './observability/metrics';
import { observeGateway, type ObservabilityOptions } from './observability/observe-gateway';
import { resolveObservability } from './observability/settings';
import { createAdapters, type AdapterDeps } from './providers/registry';
import { endpointKey, type ProviderAdapter } from './providers/types';
import { createQuotaStore } from './quota/factory';
import type { QuotaStore } from './quota/store';
import { systemClock, type Clock, type Random } from './core/clock';
import { AttemptExecutor } from './routing/executor';
import { RetryBudget, type RetryBudgetPolicy } from './routing/retry';
import { buildRouteTable, RouteTable, type ModelRoutes } from './routing/route-table';
import { RouteSelector } from './routing/selector';
import { withRoomForFailoverBehind } from './routing/failover-policy';
import { proxyModels, spokeProbeTargets, spokeScope, spokeServes, spokesAsProvider, SPOKES_PROVIDER_ID } from './tiers/proxy-routes';
import { routeScope, SessionAffinity } from './routing/affinity';
import { MemorySessionTable } from './quota/session-table';
import { SpokeDirectory } from './tiers/spoke-directory';
import { TenantLimiter } from './tenants/limiter';
import { SpendStore } from './tenants/spend-store';
import { TenantDirectory } from './tenants/auth';
import type { OutputSchemaCompiler, RequestCheck } from './core/chat-request';
import type { MessagesChecks } from './core/messages-request';

export interface Gateway {
  /** The running config; replaced by `reload`. */
  readonly config: GatewayConfig;
  readonly role: Role;
  readonly routeTable: RouteTable;
  readonly adapters: ReadonlyMap<string, ProviderAdapter>;
  readonly stats: RouteStatsRegistry;
  readonly quota: QuotaStore;
  readonly executor: AttemptExecutor;
  /** The four selection steps (the executor's; token counting walks its order too). */
  readonly selector: RouteSelector;
  /** Where each session was served last (in `quota`'s Redis when it has one). */
  readonly affinity: SessionAffinity;
  readonly prober: EndpointProber;
  readonly events: EventBus;
  /** Structured JSON logs (one line per request); also for errors outside requests. */
  readonly logger: Logger;
  /** Prometheus metrics counted from `events`, served at /metrics (absent in the Lambda proxy). */
  readonly metrics?: GatewayMetrics;
  /** Tenant keys and Lambda identities of the running config. */
  readonly tenants: TenantDirectory;
  /** Per-tenant rpm/tpm (in `quota`, shared when it is Redis) and concurrency (this instance). */
  readonly tenantLimits: TenantLimiter;
  /** What tenants spent per UTC day and month, and their budgets (shared through `quota`'s Redis). */
  readonly spend: SpendStore;
  /** Deny, masking and Bedrock guardrails, run on each request before routing. */
  readonly guardrails: GuardrailStage;
  /** The compiled check that lets a valid request skip the schema (absent: the schema decides alone). */
  readonly requestCheck?: RequestCheck;
  /** The same for Messages and count_tokens bodies. */
  readonly messagesChecks?: MessagesChecks;
  /** Compiles strict response_format schemas (absent in the Lambda bundle, whose spokes check answers). */
  readonly outputSchemas?: OutputSchemaCompiler;
  readonly clock: Clock;
  readonly now: () => number;
  /** Resolves once the first routes are known (spoke DNS names resolved). */
  readonly ready: Promise<void>;
  /** `ready` has resolved (requests need not wait for it). */
  readonly isReady: boolean;
  /**
   * Applies a new (already validated) config without a restart: providers, models,
   * tenants, guardrails and spokes. Routing state (quota windows, ejections, latency)
   * survives for every route that is unchanged. Listen address, shared-state backend
   * and observability settings need a restart; a change to them is reported, not applied.
   */
  reload(config: GatewayConfig): Promise<void>;
  /** Shutting down: /healthz answers 503 so load balancers and a proxy send no more (entry/server.ts drains the rest). */
  readonly draining: boolean;
  drain(): void;
  close(): Promise<void>;
}

export interface GatewayOptions extends Omit<AdapterDeps, 'now'> {
  // `http` (from AdapterDeps): the gateway's HTTP client for adapters and health checks;
  // the gateway owns it from here on and closes it when it closes.
  /** Adapters by provider id, replacing the ones the config would create. */
  adapters?: Map<string, ProviderAdapter>;
  clock?: Clock;
  random?: Random;
  quota?: QuotaStore;
  /** Active health checks; `false` turns them off (unit tests of passive health). */
  probes?: Partial<ProberOptions> | false;
  /** Passive ejection timings (tests that scale time down); the defaults of health/circuit.ts otherwise. */
  circuit?: Partial<CircuitPolicy>;
  /** The retry budget (tests that scale time down); the defaults of routing/retry.ts otherwise. */
  retryBudget?: RetryBudgetPolicy;
  /** Where logs and EMF lines go, and the environment deciding their defaults. */
  observability?: ObservabilityOptions;
  /** The shared-state cache's AUTH token (see entry/startup.ts). */
  redisPassword?: string;
  /**
   * A compiled check of request bodies (api/request-fast-check.ts) that the Node server
   * passes; the Lambda proxy, which rarely validates a body, leaves its compiler out of the bundle.
   */
  requestCheck?: RequestCheck;
  /** Compiled checks of Messages bodies (api/messages-fast-check.ts), passed like requestCheck. */
  messagesChecks?: MessagesChecks;
  /** The compiler of strict response_format schemas (api/strict-schema.ts), passed like requestCheck. */
  outputSchemas?: OutputSchemaCompiler;
}

export function createGateway(initial: GatewayConfig, role: Role, opts: GatewayOptions): Gateway {
  checkRole(initial, role);
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const now = () => clock.now();
  let config = initial;
  let directory = role === 'proxy' ? new SpokeDirectory(config.spokes, config.dns, clock) : undefined;
  const providersNow = () => (directory ? [spokesAsProvider(config.spokes, directory)] : config.providers);
  // The proxy's spokes are gateways: they take Messages requests as the client sent them.
  const adapterDeps = { ...opts, now, ...(role === 'proxy' ? { gatewayHops: new Set([SPOKES_PROVIDER_ID]) } : {}) };
  const adapters = new Map<string, ProviderAdapter>(opts.adapters ?? createAdapters(providersNow(), adapterDeps));
  /** The provider config each adapter was made from: unchanged providers keep their adapter (and its pools). */
  const adapterConfigs = new Map(providersNow().map((p) => [p.id, JSON.stringify(p)]));
  const tableNow = () =>
    directory
      ? filterSpokes(
          buildRouteTable(
            proxyModels(config).map((m) => withRoomForFailoverBehind(m, config.failover)),
            providersNow(),
            config.failover,
          ),
          config,
        )
      : buildRouteTable(config.models, providersNow(), config.failover);
  const targetsNow = () => (opts.probes === false ? [] : directory ? spokeProbeTargets(config.spokes, directory) : providerProbeTargets(providersNow()));
  const routeTable = new RouteTable(tableNow());
  const stats = new RouteStatsRegistry(clock, { ...DEFAULT_CIRCUIT, ...opts.circuit });
  // Shared in Redis when `state.redis` is set (with a local fallback), else in memory.
  const quota: QuotaStore = opts.quota ?? createQuotaStore(config, clock, opts.redisPassword ? { redis: { password: opts.redisPassword } } : {});
  const events = new EventBus({ deferAfterReply: !resolveObservability(config.observability, opts.observability?.env).syncWrites });
  const probing = { ...DEFAULT_PROBER, ...(opts.probes || {}) };
  const prober = new EndpointProber(targetsNow(), opts.http, clock, probing, (endpoint, down, error) => {
    // An endpoint that failed its health check is out for every route on it, until it answers again.
    if (down) events.emit({ type: 'ejection', route: endpoint, until: clock.now() + probing.downIntervalMs, reason: `health check failed: ${error}` });
  });
  prober.start();
  const selector = new RouteSelector(stats, quota, random, prober);
  const observability = observeGateway(config, role, events, (name) => routeTable.forModel(name) !== undefined, opts.observability);
  // Valid config that does nothing it seems to ask for (a class without capacity, limits of no target): said, not refused.
  const warnAbout = (c: GatewayConfig) => {
    for (const w of configWarnings(c, role)) observability.logger.warn({ path: w.path }, `config: ${w.path}: ${w.message}`);
  };
  warnAbout(config);
  const affinity = new SessionAffinity(quota.sessions?.() ?? new MemorySessionTable(now), role === 'proxy' ? spokeScope : routeScope);
  const executor = new AttemptExecutor({
    selector,
    stats,
    quota,
    budget: new RetryBudget(clock, opts.retryBudget),
    clock,
    random,
    endpoints: prober,
    events,
    onInternalError: (err, route, requestId) => observability.logger.error({ requestId, route, err }, 'internal error in an attempt'),
  });
  const guardrailsFor = (c: GatewayConfig) =>
    createGuardrailStage(c.guardrails, {
      onFailure: (guardrail, err, outcome) => observability.logger.warn({ guardrail, outcome, err: String(err) }, 'guardrail failed'),
    });
  let guardrails = guardrailsFor(config);
  const tenants = new TenantDirectory(config.tenants);
  const spend = new SpendStore({ clock, events, requestTimeoutMs: config.server.requestTimeoutMs, shared: quota.shared?.() });

  // Routes changed (spoke addresses, a reload): new routes for what is new, state kept for what stays.
  const rebuild = () => {
    routeTable.replace(tableNow());
    prober.setTargets(targetsNow());
    const routes = routeTable.allRoutes();
    stats.retain(routes.map((r) => r.key));
    // Ejections are counted per route or per endpoint (a failed health check): both stay.
    observability.metrics?.retainRoutes(new Set(routes.flatMap((r) => [r.key, endpointKey(r)])));
  };
  directory?.onChange(rebuild);
  const ready = directory ? directory.ready.then(rebuild) : Promise.resolve();
  let isReady = !directory;
  let draining = false;
  void ready.then(() => (isReady = true));

  async function reload(next: GatewayConfig): Promise<void> {
    checkRole(next, role);
    const restartOnly = (['server', 'state', 'observability'] as const).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(config[k]));
    if (restartOnly.length > 0) {
      observability.logger.warn({ keys: restartOnly }, 'config keys changed that apply only after a restart');
    }
    const previous = config;
    const merged = { ...next, server: previous.server, state: previous.state, observability: previous.observability };
    // What can still fail comes before the new config is in force: a failed reload applies nothing.
    let spokesNow: SpokeDirectory | undefined;
    if (role === 'proxy' && JSON.stringify(next.spokes) + JSON.stringify(next.dns) !== JSON.stringify(previous.spokes) + JSON.stringify(previous.dns)) {
      spokesNow = new SpokeDirectory(merged.spokes, merged.dns, clock);
      await spokesNow.ready;
    }
    config = merged;
    if (spokesNow) {
      const old = directory;
      directory = spokesNow;
      directory.onChange(rebuild);
      old?.stop();
    }
    if (!opts.adapters) {
      const providers = providersNow();
      const fresh = providers.filter((p) => adapterConfigs.get(p.id) !== JSON.stringify(p));
      const created = createAdapters(fresh, adapterDeps);
      const retired: ProviderAdapter[] = [];
      for (const p of fresh) {
        const old = adapters.get(p.id);
        if (old) retired.push(old);
        adapters.set(p.id, created.get(p.id)!);
        adapterConfigs.set(p.id, JSON.stringify(p));
      }
      for (const id of [...adapters.keys()]) {
        if (!providers.some((p) => p.id === id)) {
          retired.push(adapters.get(id)!);
          adapters.delete(id);
          adapterConfigs.delete(id);
        }
      }
      // Requests in flight finish on the adapter they started with.
      later(previous.server.requestTimeoutMs, () => Promise.all(retired.map(async (a) => a.close?.())));
    }
    rebuild();
    tenants.replace(config.tenants);
    // At start an open gateway says so; a reload that drops the last tenant must say it too.
    if (tenants.open && previous.tenants.length > 0) {
      observability.logger.warn({ tenants: 0 }, 'config reloaded without tenants: the gateway is open now, any key or none is accepted');
    }
    warnAbout(config);
    if (JSON.stringify(next.guardrails) !== JSON.stringify(previous.guardrails)) {
      const old = guardrails;
      guardrails = guardrailsFor(config);
      later(previous.server.requestTimeoutMs, () => old.close());
    }
  }

  /** Cleanup after requests in flight have had their time; never a crash if it fails. */
  function later(ms: number, work: () => unknown): void {
    setTimeout(
      () =>
        void Promise.resolve()
          .then(work)
          .catch((err: unknown) => observability.logger.warn({ err: String(err) }, 'cleanup after reload failed')),
      ms,
    ).unref();
  }

  return {
    get config() {
      return config;
    },
    role,
    routeTable,
    adapters,
    stats,
    quota,
    executor,
    selector,
    affinity,
    prober,
    events,
    logger: observability.logger,
    metrics: observability.metrics,
    tenants,
    tenantLimits: new TenantLimiter(quota),
    spend,
    get guardrails() {
      return guardrails;
    },
    requestCheck: opts.requestCheck,
    messagesChecks: opts.messagesChecks,
    outputSchemas: opts.outputSchemas,
    clock,
    now,
    ready,
    get isReady() {
      return isReady;
    },
    reload,
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
    async close() {
      events.deliverAtOnce(); // the last requests' lines and counts, and those the shutdown cuts off
      directory?.stop();
      await prober.stop();
      await Promise.all([...adapters.values()].map(async (a) => a.close?.()));
      await opts.http.close();
      await spend.close();
      await quota.close?.();
      guardrails.close();
      observability.stop();
    },
  };
}

function checkRole(config: GatewayConfig, role: Role): void {
  if (role === 'proxy' && config.spokes.length === 0) {
    throw new Error('the proxy role needs at least one entry in spokes');
  }
}

function filterSpokes(table: Map<string, ModelRoutes>, config: GatewayConfig): Map<string, ModelRoutes> {
  const spokes = new Map(config.spokes.map((s) => [s.id, s]));
  for (const [name, entry] of table) {
    const groups = entry.groups.map((g) => g.filter((r) => spokeServes(spokes.get(r.account.id)!, name)));
    table.set(name, { ...entry, groups });
  }
  return table;
}
