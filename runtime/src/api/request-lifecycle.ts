/**
 * One client request through the gateway, whatever its endpoint (chat completions now;
 * embeddings and messages next): the tenant it belongs to, the logical model's routes and
 * the tenant's right to use them, admission against the tenant's limits, routing through
 * the attempt executor within the request's deadline (failures answered as
 * failure-response.ts says), and its event, filled in on the way and emitted once, after
 * its answer went out. An endpoint supplies only its body and its answer.
 */
import type { TenantConfig } from '../config/schema';
import { AttemptCancel, sentAttempts, type AttemptRecord } from '../core/attempt';
import type { CancelSource, DeadlinePassed } from '../core/cancellation';
import type { ModelApi } from '../core/embeddings';
import { GatewayError, notFound } from '../core/gateway-error';
import { AFFINITY_HEADER, ATTEMPTS_HEADER, COST_REPORT, COST_REPORT_HEADER, ROUTE_HEADER, SESSION_HEADER } from '../core/gateway-headers';
import type { Usage } from '../core/openai-types';
import { DEFAULT_PRIORITY, isPriority, PRIORITY_HEADER, type Priority } from '../core/priority';
import { worseAffinity } from '../core/prompt-cache';
import { configClasses } from '../quota/capacity-class';
import type { Gateway } from '../gateway';
import type { RequestEvent } from '../observability/events';
import { isProviderError, type ProviderError } from '../providers/errors';
import type { CallOptions, ProviderAdapter, Route, UpstreamMeta } from '../providers/types';
import { AllRoutesFailed, type Answered, type AttemptFn, type RoutedRequest } from '../routing/executor';
import type { ModelRoutes } from '../routing/route-table';
import { costOrdered } from '../routing/cost-order';
import { configPricing } from '../config/pricing';
import type { SessionRouting } from '../routing/affinity';
import { assertModelAllowed, modelAllowed } from '../tenants/auth';
import { NO_LIMITS, type TenantPermit } from '../tenants/limiter';
import type { BudgetHold } from '../tenants/spend-store';
import type { ApiCall, ApiHandler, ApiReply } from './call';
import { answerCost, reserveBudget } from './request-spend';
import { clientClosed, deadlineExceeded, failureToError } from './failure-response';
import { RequestLifetime } from './request-lifetime';
import { echo } from '../core/echo';
import { REFUNDED, refusalOf } from '../core/refusal';

/**
 * An endpoint's handler around `serve`, which gets the request's lifecycle: a failure
 * before the answer releases the tenant's permit, is reported once, and is thrown on for
 * the transport to answer.
 */
export function apiHandler(gw: Gateway, serve: (req: ApiRequest, call: ApiCall) => Promise<ApiReply>, api: ModelApi = 'chat'): ApiHandler {
  return async (call) => {
    const req = new ApiRequest(gw, call, api);
    try {
      return await serve(req, call);
    } catch (err) {
      req.failed(err);
      throw err;
    }
  };
}

const NO_ATTEMPTS: readonly AttemptRecord[] = [];
/** A rejected answer's upstream said nothing of its own cost. */
const NO_META: UpstreamMeta = Object.freeze({});

export class ApiRequest {
  /** The request's event: endpoints fill in what they know (model, stream, content). */
  readonly event: RequestEvent;
  private readonly started: number;
  private tenant: TenantConfig | undefined;
  private permit: TenantPermit = NO_LIMITS;
  /** The request's capacity class: its tenant's; a spoke's open gateway takes the one its proxy sent. */
  private priority: Priority = DEFAULT_PRIORITY;
  /** The logical model asked for. */
  private model = '';
  /** Its prompt estimate, as admission saw it. */
  private promptTokens = 0;
  /** A budgeted tenant's worst case, held until the request is settled. */
  private hold: BudgetHold | undefined;
  /** What the answers that served it cost (USD), when anything is priced. */
  private costUsd: number | undefined;
  /** A spoke answering a proxy: it reports the cost, the proxy charges it. */
  private costReported = false;
  private settled = false;

  constructor(
    private readonly gw: Gateway,
    private readonly call: ApiCall,
    /** What the endpoint serves: its models must serve the same. */
    private readonly api: ModelApi = 'chat',
  ) {
    this.started = gw.now();
    this.event = {
      type: 'request',
      requestId: call.requestId,
      role: gw.role,
      api,
      model: '',
      stream: false,
      status: 0,
      attempts: NO_ATTEMPTS,
      continuations: 0,
      latencyMs: 0,
      traceparent: call.header('traceparent'),
    };
  }

  /** The tenant of the request's key or platform identity: 401/403 when there is none; undefined while the gateway is open. */
  authenticate(): TenantConfig | undefined {
    const tenants = this.gw.tenants;
    const tenant = (this.tenant = tenants.open ? undefined : tenants.authenticate(this.call.headers(), this.call.env));
    this.event.tenant = tenant?.id;
    if (tenant) this.priority = tenant.priority;
    else if (this.gw.role === 'spoke') {
      // Behind a proxy a spoke has no tenants: the proxy says the class and charges the cost.
      const sent = this.call.header(PRIORITY_HEADER);
      if (isPriority(sent)) this.priority = sent;
      this.costReported = this.call.header(COST_REPORT_HEADER) === COST_REPORT;
    }
    if (this.priority !== DEFAULT_PRIORITY || this.gw.config.capacity) this.event.priority = this.priority;
    return tenant;
  }

  /**
   * The routes of the logical model `model`: 404 naming it when it does not exist, 403 when
   * the tenant may not use it, 400 naming `model` when it serves another api (a chat model
   * asked for embeddings, or the other way round).
   */
  async routesFor(model: string): Promise<ModelRoutes> {
    const gw = this.gw;
    if (!gw.isReady) await gw.ready; // spoke addresses known
    const routes = gw.routeTable.forModel(model);
    if (!routes) {
      throw notFound(
        // The models this caller may use, as GET /v1/models lists them.
        `The model "${echo(model)}" does not exist. Known models: ${gw.routeTable
          .models()
          .filter((m) => modelAllowed(this.tenant, m.name))
          .map((m) => m.name)
          .join(', ')}.`,
      );
    }
    assertModelAllowed(this.tenant, model);
    if (routes.model.api !== this.api) throw wrongApi(model, routes.model.api, this.api);
    this.model = model;
    return routes;
  }

  /**
   * Counts the request against its tenant's limits (rpm, tpm with `estimatedTokens`,
   * concurrency) and holds its worst-case cost against the tenant's budget: a 429 past
   * them. `promptTokens` and `maxOutputTokens` (the client's output cap, undefined when it
   * set none) split the estimate; without them all of it counts as input. `thinkingTokens`:
   * output a target may think on top of the cap (already in `estimatedTokens`).
   */
  async admit(estimatedTokens: number, promptTokens?: number, maxOutputTokens?: number, thinkingTokens?: number): Promise<void> {
    const tenant = this.tenant;
    this.permit = tenant?.limits ? await this.gw.tenantLimits.admit(tenant, estimatedTokens) : NO_LIMITS;
    const split = promptTokens !== undefined;
    this.promptTokens = split ? promptTokens : estimatedTokens;
    const held = reserveBudget(this.gw, tenant, this.model, this.promptTokens, split ? maxOutputTokens : 0, thinkingTokens);
    if (held) this.hold = await held;
  }

  /** Adds what one answer that served the request cost (`meta`: what its upstream said), when it is priced. */
  charge(route: Route, meta: UpstreamMeta, usage: Usage): void {
    const usd = answerCost(this.gw.config, this.gw.role, this.model, route, meta, usage);
    if (usd !== undefined) this.costUsd = (this.costUsd ?? 0) + usd;
  }

  /** An answer rejected for its shape (invalid_output) was billed all the same: charged like any answer. Returns `err`. */
  chargeRejected(route: Route, err: unknown): unknown {
    if (isProviderError(err) && err.usage) this.charge(route, NO_META, err.usage);
    return err;
  }

  /** The cost charged so far (USD), when anything is priced. */
  get cost(): number | undefined {
    return this.costUsd;
  }

  /** The request on its way to a route, from now on within its deadline (`routing: cost`: cheapest target first for its size). */
  route(routes: ModelRoutes, stream: boolean, estimatedTokens: number, more: RoutingOptions = {}): RequestRouting {
    const ordered = routes.model.routing === 'cost' ? costOrdered(routes, configPricing(this.gw.config).model(this.model), this.promptTokens, estimatedTokens - this.promptTokens) : routes;
    return new RequestRouting(this.gw, this.call, this.event, ordered, stream, estimatedTokens, this.priority, more);
  }

  /** A spoke asked by its proxy to report what it served cost (in the answer's usage). */
  get reportsCost(): boolean {
    return this.costReported;
  }

  /** The answer has ended: the tenant's window counts its real tokens (the estimate stays when unknown). */
  settleTenant(tokens: number | undefined): void {
    this.permit.settle(tokens);
  }

  /** Reports the request once, when its answer has gone out (streams: at the last byte). */
  report(status: number, more?: Partial<RequestEvent>): void {
    const ev = this.event;
    ev.status = status;
    ev.latencyMs = this.gw.now() - this.started;
    if (more) Object.assign(ev, more);
    if (this.costUsd !== undefined) {
      ev.costUsd = this.costUsd;
      if (this.costReported) ev.costCountedBy = 'proxy';
    }
    this.settleSpend();
    this.gw.events.emitAfterReply(ev);
  }

  /** The tenant's spend counts the cost once (a failed request's is 0, which frees its hold). */
  private settleSpend(): void {
    const tenant = this.tenant;
    if (this.settled || !tenant || (this.hold === undefined && this.costUsd === undefined)) return;
    this.settled = true;
    this.gw.spend.settle(tenant.id, tenant.budget, this.hold, this.costUsd ?? 0);
  }

  /** The request failed before its answer; refused by its budget or class before any work, it leaves the tenant's window as it found it. */
  failed(err: unknown): void {
    const refusal = refusalOf(err);
    if (refusal && REFUNDED.has(refusal) && sentAttempts(this.event.attempts) === 0) this.permit.refund();
    else this.permit.release();
    const errorCode = err instanceof GatewayError ? (err.code ?? undefined) : 'internal_error';
    this.report(err instanceof GatewayError ? err.status : 500, refusal ? { errorCode, refusal } : { errorCode });
  }
}

export interface RoutingOptions {
  /** Routes that cannot take the request (its images), passed over. */
  cannotServe?: RoutedRequest['cannotServe'];
  /** A stream whose whole answer comes before its first chunk (held for validation): its first chunk may take as long as a whole answer. */
  heldStream?: boolean;
  /** The request's session (api/session.ts): its route goes first, and the answer says `x-gateway-affinity`. */
  session?: SessionRouting;
}

/** A request on its way to a route: its lifetime (deadline, client gone), what the executor routes, and each attempt's call options. */
export class RequestRouting {
  /** When routing began (time to first token counts from here). */
  readonly started: number;
  readonly life: RequestLifetime;
  readonly routed: RoutedRequest;
  /** Trace context (W3C) to pass on to providers; the proxy adds the session for its spoke. */
  private readonly forward: Record<string, string> | undefined;
  private readonly session: SessionRouting | undefined;

  constructor(
    private readonly gw: Gateway,
    call: ApiCall,
    private readonly event: RequestEvent,
    routes: ModelRoutes,
    stream: boolean,
    estimatedTokens: number,
    private readonly priority: Priority,
    more: RoutingOptions,
  ) {
    this.started = gw.now();
    const configured = gw.config.server.requestTimeoutMs;
    const left = call.timeLeft?.();
    const deadlineMs = left && left.ms < configured ? Math.max(0, left.ms) : configured;
    // Node server: the response tells when the client leaves; elsewhere (Lambda) the request signal.
    this.life = new RequestLifetime(call.outgoing ?? call.signal, deadlineMs, deadlineMs < configured ? left?.why : undefined);
    const timeouts = more.heldStream ? { ...routes.timeouts, firstByteMs: routes.timeouts.completeMs } : routes.timeouts;
    this.routed = { routes, stream, estimatedTokens, deadline: this.started + deadlineMs, cancel: this.life, timeouts, requestId: this.event.requestId };
    if (more.cannotServe) this.routed.cannotServe = more.cannotServe;
    const cls = configClasses(gw.config)?.[priority];
    if (cls && cls.share < 1) this.routed.capacity = cls;
    const trace = traceHeaders(call);
    // The spoke has no tenants: the proxy tells it the class (standard is its default) and
    // asks it to report what it served cost, which the proxy charges.
    this.forward =
      gw.role !== 'proxy' ? trace : trace || priority !== DEFAULT_PRIORITY ? { ...trace, ...TO_SPOKE, ...(priority !== DEFAULT_PRIORITY ? { [PRIORITY_HEADER]: priority } : {}) } : TO_SPOKE;
    const session = (this.session = more.session);
    if (session) {
      this.routed.prefer = session.prefers;
      // The spoke pins the account and region of the same session.
      if (gw.role === 'proxy') this.forward = { ...this.forward, [SESSION_HEADER]: session.name };
    }
  }

  adapterFor(route: Route): ProviderAdapter {
    return this.gw.adapters.get(route.provider.id)!;
  }

  /** One attempt's call options, with the attempt's own cancellation (a same-route retry's asks for a fresh connection). */
  options(attempt: CancelSource): CallOptions {
    const fresh = attempt instanceof AttemptCancel && attempt.freshConnection;
    return new AttemptOptions(this.event.requestId, this.forward, this.routed.timeouts.connectMs, attempt, fresh);
  }

  /** Runs `attempt` through the executor (failover rules); no route served: the error the client gets. */
  run<T extends UpstreamMeta>(attempt: AttemptFn<T>): Promise<Answered<T>> {
    return this.gw.executor.run(this.routed, attempt).catch((err: unknown) => {
      throw this.failure(err);
    });
  }

  /** What the client is told when routing ended with `err` (the request is over: its deadline no longer runs). */
  failure(err: unknown): unknown {
    if (err instanceof AllRoutesFailed) this.event.attempts = err.attempts;
    const life = this.life;
    life.end();
    if (life.deadlinePassed) return deadlineExceeded(life.reason as DeadlinePassed);
    if (life.clientLeft) return clientClosed();
    if (err instanceof AllRoutesFailed) return failureToError(err, this.gw.role, { priority: this.priority, tenant: this.event.tenant });
    return err;
  }

  /** Request id, and the route and attempts that answered: through a spoke, its route, and its attempts added to ours. */
  answerHeaders(answer: Answered<UpstreamMeta>): Record<string, string> {
    const meta = answer.value;
    const headers: Record<string, string> = {
      'x-request-id': this.event.requestId,
      [ROUTE_HEADER]: answeredRoute(answer),
      [ATTEMPTS_HEADER]: String(answeredAttempts(answer)),
    };
    if (this.session) headers[AFFINITY_HEADER] = this.event.affinity = worseAffinity(this.session.served(answer.route), meta.upstreamAffinity);
    return headers;
  }

  /** A stream broke on `route` after its first byte: the route is judged as for a failed attempt, and the request's event lists the break. */
  streamBroke(route: Route, err: ProviderError): void {
    (this.event.breaks ??= []).push({ route: route.key, outcome: err.failure, message: err.message });
    this.gw.executor.onStreamFailure(route, err);
  }

  /** A stream continued on another route after a break: the session is there now. */
  sessionMoved(route: Route): void {
    this.session?.served(route);
  }
}

/** The route that answered: through a spoke, the spoke's own. */
export function answeredRoute(answer: Answered<UpstreamMeta>): string {
  return answer.value.upstreamRoute ?? answer.route.key;
}

/** Attempts that reached a provider: through a spoke, its own attempts added to ours. */
export function answeredAttempts(answer: Answered<UpstreamMeta>): number {
  return sentAttempts(answer.attempts) - 1 + (answer.value.upstreamAttempts ?? 1);
}

function wrongApi(model: string, serves: ModelApi, asked: ModelApi): GatewayError {
  const message =
    serves === 'embeddings'
      ? `The model "${echo(model)}" is an embeddings model (api: embeddings): use POST /v1/embeddings.`
      : `The model "${echo(model)}" is a chat model: embeddings need a model with api: embeddings (POST /v1/chat/completions serves this one).`;
  return new GatewayError(400, 'invalid_request_error', `${message} This endpoint serves ${asked === 'chat' ? 'chat completions' : 'embeddings'}.`, 'model_not_supported', 'model');
}
/** What a proxy always tells its spokes. */
const TO_SPOKE: Readonly<Record<string, string>> = Object.freeze({ [COST_REPORT_HEADER]: COST_REPORT });

/** One attempt's call options: its cancellation, and a standard AbortSignal made only if the adapter reads one. */
class AttemptOptions implements CallOptions {
  constructor(
    readonly requestId: string,
    readonly forwardHeaders: Readonly<Record<string, string>> | undefined,
    readonly connectTimeoutMs: number,
    readonly cancel: CancelSource,
    readonly freshConnection: boolean,
  ) {}

  get signal(): AbortSignal {
    return this.cancel.signal;
  }
}

/** Trace context (W3C) to pass on to providers. */
function traceHeaders(call: ApiCall): Record<string, string> | undefined {
  const traceparent = call.header('traceparent');
  const tracestate = call.header('tracestate');
  if (!traceparent && !tracestate) return undefined;
  const headers: Record<string, string> = {};
  if (traceparent) headers.traceparent = traceparent;
  if (tracestate) headers.tracestate = tracestate;
  return headers;
}
