/**
 * Prometheus metrics, one vocabulary in every role, counted from gateway events into a
 * registry per gateway (never prom-client's global one, so gateways in one process,
 * as in tests, do not mix). Route state and quota headroom are read at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CounterConfiguration, type LabelValues } from 'prom-client';
import type { Role } from '../config/schema';
import { hedgeOutcome, PASSED_OVER, sentAttempts } from '../core/attempt';
import type { GatewayEvent, RequestEvent } from './events';
import { errorOf, modelLabeller, reasonLabel } from './labels';

/** What a scrape needs of each route: /healthz's view (healthBody), so state means one thing. */
export interface RouteSnapshot {
  route: string;
  state: string;
  headroom: { fraction: number };
  /** Streams: the first-chunk timeout an attempt gets now, and when it is hedged. */
  timings?: { stream: { timeoutMs: number; hedgeDelayMs?: number } };
  /** Cooling down, ejected or down: when it may serve again (ISO time). */
  until?: string;
}

/** What a scrape needs of the quota store: whether admissions run on local estimates (Redis unreachable). */
export interface QuotaSnapshot {
  degraded: boolean;
}

export const ROUTE_STATES = ['healthy', 'half-open', 'ejected', 'cooldown', 'down'] as const;

export interface MetricsOptions {
  role: Role;
  /** True when the config has this logical model. */
  isKnownModel: (name: string) => boolean;
}

const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop, GC) are per process, and prom-client's
 * collectors install observers that are never removed: collect them once, in a registry
 * every gateway's scrape includes.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A Counter counted per request: the counts live in a Map keyed by label values and
 * reach prom-client when it is scraped, since prom-client hashes and validates the
 * labels on every inc() (it showed on the request path).
 */
class TalliedCounter<L extends string> {
  private readonly counts = new Map<string, { labels: LabelValues<L>; value: number }>();

  constructor(config: CounterConfiguration<L>) {
    const counts = this.counts;
    new Counter<L>({
      ...config,
      collect() {
        this.reset();
        for (const c of counts.values()) this.inc(c.labels, c.value);
      },
    });
  }

  /** `key` names the label values uniquely (joined by a separator no value contains). */
  inc(key: string, labels: LabelValues<L>, by = 1): void {
    if (!(by >= 0 && Number.isFinite(by))) return; // prom-client refuses it, and would refuse the scrape
    const c = this.counts.get(key);
    if (c) c.value += by;
    else this.counts.set(key, { labels, value: by });
  }

  /** Drops the series whose labels `keep` refuses (their counts end; Prometheus sees the series stop). */
  retain(keep: (labels: LabelValues<L>) => boolean): void {
    for (const [key, c] of this.counts) if (!keep(c.labels)) this.counts.delete(key);
  }
}

/** Joins label values into a tally key (no label value contains it). */
const SEP = '\u0000';

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests: TalliedCounter<'model' | 'status' | 'role' | 'api'>;
  private readonly errors: TalliedCounter<'model' | 'code' | 'api'>;
  private readonly attempts: TalliedCounter<'route' | 'outcome'>;
  private readonly failovers: TalliedCounter<'model'>;
  private readonly hedges: TalliedCounter<'model' | 'result'>;
  private readonly firstChunkTimeout: Gauge<'route'>;
  private readonly hedgeDelay: Gauge<'route'>;
  private readonly continuations: Counter;
  private readonly streamBreaks: TalliedCounter<'route' | 'outcome'>;
  private readonly ejections: TalliedCounter<'route'>;
  private readonly cooldowns: TalliedCounter<'route' | 'reason'>;
  private readonly headroom: Gauge<'route'>;
  private readonly routeState: Gauge<'route' | 'state'>;
  private readonly reopens: Gauge<'route'>;
  private readonly quotaDegraded: Gauge;
  private readonly ttft: Histogram<'model'>;
  private readonly duration: Histogram<'model' | 'stream' | 'api'>;
  private readonly batches: TalliedCounter<'model'>;
  private readonly tokens: TalliedCounter<'model' | 'direction'>;
  private readonly cachedTokens: TalliedCounter<'model' | 'kind'>;
  private readonly affinity: TalliedCounter<'model' | 'outcome'>;
  private readonly reloads: Counter<'result'>;
  private readonly capacity: TalliedCounter<'route' | 'class' | 'result'>;
  private readonly cost: TalliedCounter<'tenant' | 'model'>;
  private readonly budgetAlerts: Counter<'tenant' | 'period' | 'threshold'>;
  private readonly refusals: TalliedCounter<'tenant' | 'reason'>;
  /** Routes (and endpoints) in the table as of its last change; undefined until the gateway says. */
  private liveRoutes: ReadonlySet<string> | undefined;

  constructor(private readonly opts: MetricsOptions) {
    this.modelLabel = modelLabeller(opts.isKnownModel);
    const registers = [this.registry];
    this.requests = new TalliedCounter({
      name: 'gateway_requests_total',
      help: 'Client requests by logical model, final HTTP status, role and api (chat or embeddings).',
      labelNames: ['model', 'status', 'role', 'api'],
      registers,
    });
    this.errors = new TalliedCounter({ name: 'gateway_errors_total', help: 'Requests that ended in an error, by OpenAI error code.', labelNames: ['model', 'code', 'api'], registers });
    this.attempts = new TalliedCounter({
      name: 'gateway_attempts_total',
      help: 'Attempts per route by outcome (ok, a failure class, or why the route was passed over).',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.failovers = new TalliedCounter({ name: 'gateway_failovers_total', help: 'Requests that needed more than one attempt sent to a provider.', labelNames: ['model'], registers });
    this.hedges = new TalliedCounter({
      name: 'gateway_hedges_total',
      help: 'Hedged streams (a second attempt started when the first sent no chunk by its hedge delay), by result: won (the hedge answered first) or lost.',
      labelNames: ['model', 'result'],
      registers,
    });
    this.firstChunkTimeout = new Gauge({
      name: 'gateway_first_chunk_timeout_seconds',
      help: 'The first-chunk timeout a stream attempt on the route gets now (learnt from its latency, or the fixed one).',
      labelNames: ['route'],
      registers,
    });
    this.hedgeDelay = new Gauge({ name: 'gateway_hedge_delay_seconds', help: 'After how long without a first chunk a stream on the route is hedged now.', labelNames: ['route'], registers });
    this.continuations = new Counter({ name: 'gateway_stream_continuations_total', help: 'Streams continued on another route after a break.', registers });
    this.streamBreaks = new TalliedCounter({
      name: 'gateway_stream_breaks_total',
      help: 'Streams that broke (transient) or went quiet (silent) on a route after their first byte; gateway_attempts_total counted the attempt by how it started.',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.ejections = new TalliedCounter({ name: 'gateway_ejections_total', help: 'Times a route was ejected (its circuit opened).', labelNames: ['route'], registers });
    this.cooldowns = new TalliedCounter({
      name: 'gateway_cooldowns_total',
      help: 'Times a route was put in cooldown (throttled, quota exhausted).',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.headroom = new Gauge({ name: 'gateway_quota_headroom_ratio', help: 'Share of the tighter of rpm/tpm still free per route (1 when unlimited).', labelNames: ['route'], registers });
    this.routeState = new Gauge({ name: 'gateway_route_state', help: 'Route state: 1 for the current state, 0 for the others.', labelNames: ['route', 'state'], registers });
    this.reopens = new Gauge({
      name: 'gateway_route_reopens_timestamp_seconds',
      help: 'When a route in cooldown, ejected or down may serve again (Unix time; minus time() is the seconds left); no series while it serves.',
      labelNames: ['route'],
      registers,
    });
    this.quotaDegraded = new Gauge({
      name: 'gateway_quota_store_degraded',
      help: '1 while the shared quota store (Redis) is unreachable and this instance admits on local estimates, else 0.',
      registers,
    });
    this.ttft = new Histogram({
      name: 'gateway_time_to_first_token_seconds',
      help: 'Streams: time until the first byte was sent to the client.',
      labelNames: ['model'],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.duration = new Histogram({
      name: 'gateway_request_duration_seconds',
      help: 'Client request duration (streams: until the last byte).',
      labelNames: ['model', 'stream', 'api'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.reloads = new Counter({ name: 'gateway_config_reloads_total', help: 'Configs offered by hot reload: applied or rejected (invalid).', labelNames: ['result'], registers });
    this.batches = new TalliedCounter({ name: 'gateway_embedding_batches_total', help: 'Embeddings: provider batches the requests were split into.', labelNames: ['model'], registers });
    this.capacity = new TalliedCounter({
      name: 'gateway_capacity_requests_total',
      help: "Requests of each capacity class per route: admitted (sent), or refused to keep a higher class's share.",
      labelNames: ['route', 'class', 'result'],
      registers,
    });
    this.cost = new TalliedCounter({
      name: 'gateway_cost_usd_total',
      help: 'What answers cost in USD, by tenant ("none" without one) and logical model, at the prices of the routes that served them.',
      labelNames: ['tenant', 'model'],
      registers,
    });
    this.budgetAlerts = new Counter({
      name: 'gateway_budget_alerts_total',
      help: "Times a tenant's spend crossed an alert threshold of its budget (once per period and threshold).",
      labelNames: ['tenant', 'period', 'threshold'],
      registers,
    });
    this.refusals = new TalliedCounter({
      name: 'gateway_tenant_refusals_total',
      help: 'Requests refused before any provider was asked, by tenant ("none" without one) and reason: rpm, tpm, concurrency (its own limits), budget, capacity_reserved (its class\'s share of every route in use).',
      labelNames: ['tenant', 'reason'],
      registers,
    });
    this.tokens = new TalliedCounter({ name: 'gateway_tokens_total', help: 'Tokens by direction: in (prompt) and out (completion).', labelNames: ['model', 'direction'], registers });
    this.cachedTokens = new TalliedCounter({
      name: 'gateway_cached_tokens_total',
      help: 'Prompt tokens the providers\' prompt caches served (kind=read) and stored (kind=write); part of gateway_tokens_total{direction="in"}.',
      labelNames: ['model', 'kind'],
      registers,
    });
    this.affinity = new TalliedCounter({
      name: 'gateway_session_affinity_total',
      help: 'Requests of a session by outcome: hit (served where the session was last), new, moved.',
      labelNames: ['model', 'outcome'],
      registers,
    });
  }

  /** Counts one gateway event; subscribe it to `gw.events`. */
  readonly observe = (ev: GatewayEvent): void => {
    switch (ev.type) {
      case 'request':
        return this.onRequest(ev);
      case 'ejection':
        this.ejections.inc(ev.route, { route: ev.route });
        return;
      case 'cooldown': {
        const reason = reasonLabel(ev.reason);
        this.cooldowns.inc(ev.route + SEP + reason, { route: ev.route, reason });
        return;
      }
      case 'stream-break':
        this.streamBreaks.inc(ev.route + SEP + ev.failure, { route: ev.route, outcome: ev.failure });
        return;
      case 'config':
        this.reloads.inc({ result: ev.ok ? 'applied' : 'rejected' });
        return;
      case 'budget-alert':
        this.budgetAlerts.inc({ tenant: ev.tenant, period: ev.period, threshold: String(ev.threshold) });
        return;
    }
  };

  /** The logical model as a label: configured names only. */
  readonly modelLabel: (name: string) => string;

  private onRequest(ev: RequestEvent): void {
    const model = this.modelLabel(ev.model);
    const role = this.opts.role;
    const api = ev.api ?? 'chat';
    this.requests.inc(model + SEP + ev.status + SEP + api, { model, status: String(ev.status), role, api });
    const code = errorOf(ev);
    if (code) this.errors.inc(model + SEP + code + SEP + api, { model, code, api });
    if (ev.refusal) {
      const tenant = ev.tenant ?? 'none';
      this.refusals.inc(tenant + SEP + ev.refusal, { tenant, reason: ev.refusal });
    }
    for (const a of ev.attempts) this.attempts.inc(a.route + SEP + a.outcome, { route: a.route, outcome: a.outcome });
    if (ev.priority !== undefined) this.countClass(ev.priority, ev.attempts);
    // A spoke's reported cost is counted by its proxy.
    if (ev.costUsd !== undefined && ev.costCountedBy === undefined) {
      const tenant = ev.tenant ?? 'none';
      this.cost.inc(tenant + SEP + model, { tenant, model }, ev.costUsd);
    }
    if (sentAttempts(ev.attempts) > 1) this.failovers.inc(model, { model });
    const hedge = hedgeOutcome(ev.attempts);
    if (hedge) this.hedges.inc(model + SEP + hedge, { model, result: hedge });
    if (ev.continuations > 0) this.continuations.inc(ev.continuations);
    if (ev.ttftMs !== undefined) this.ttft.observe({ model }, ev.ttftMs / 1000);
    this.duration.observe({ model, stream: String(ev.stream), api }, ev.latencyMs / 1000);
    if (ev.batches) this.batches.inc(model, { model }, ev.batches);
    if (ev.usage) {
      this.tokens.inc(model + SEP + 'in', { model, direction: 'in' }, ev.usage.prompt_tokens);
      this.tokens.inc(model + SEP + 'out', { model, direction: 'out' }, ev.usage.completion_tokens);
      const cache = ev.usage.prompt_tokens_details;
      if (cache?.cached_tokens) this.cachedTokens.inc(model + SEP + 'read', { model, kind: 'read' }, cache.cached_tokens);
      if (cache?.cache_write_tokens) this.cachedTokens.inc(model + SEP + 'write', { model, kind: 'write' }, cache.cache_write_tokens);
    }
    if (ev.affinity) this.affinity.inc(model + SEP + ev.affinity, { model, outcome: ev.affinity });
  }

  /**
   * Ends the series of routes (and endpoints) no longer in the route table: a proxy's spoke
   * addresses come and go with every deploy, and their series would pile up for weeks.
   */
  retainRoutes(alive: ReadonlySet<string>): void {
    this.liveRoutes = alive;
    this.dropDeadRoutes();
  }

  private dropDeadRoutes(): void {
    const alive = this.liveRoutes;
    if (!alive) return;
    const keep = (labels: { route?: string | number }) => alive.has(String(labels.route));
    for (const counter of [this.attempts, this.capacity, this.ejections, this.cooldowns, this.streamBreaks]) counter.retain(keep);
  }

  private countClass(priority: string, attempts: RequestEvent['attempts']): void {
    for (const a of attempts) {
      const result = a.outcome === 'reserved' ? 'refused' : PASSED_OVER.has(a.outcome) ? undefined : 'admitted';
      if (result) this.capacity.inc(a.route + SEP + priority + SEP + result, { route: a.route, class: priority, result });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text: process metrics, then the gateway's, with route and quota store gauges as of now. */
  async scrape(routes: readonly RouteSnapshot[], quota: QuotaSnapshot = { degraded: false }): Promise<string> {
    // Requests in flight when the routes changed count their old route after the change.
    this.dropDeadRoutes();
    this.headroom.reset();
    this.routeState.reset();
    this.reopens.reset();
    this.quotaDegraded.set(quota.degraded ? 1 : 0);
    this.firstChunkTimeout.reset();
    this.hedgeDelay.reset();
    for (const r of routes) {
      this.headroom.set({ route: r.route }, r.headroom.fraction);
      const stream = r.timings?.stream;
      if (stream) this.firstChunkTimeout.set({ route: r.route }, stream.timeoutMs / 1000);
      if (stream?.hedgeDelayMs !== undefined) this.hedgeDelay.set({ route: r.route }, stream.hedgeDelayMs / 1000);
      for (const state of ROUTE_STATES) this.routeState.set({ route: r.route, state }, r.state === state ? 1 : 0);
      if (r.until !== undefined) this.reopens.set({ route: r.route }, Date.parse(r.until) / 1000);
    }
    const [process, gateway] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return `${process}${process.endsWith('\n') ? '' : '\n'}${gateway}`;
  }
}
