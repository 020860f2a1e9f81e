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
import type { CancelSource } from '../core/cancellation';
import { GatewayError, notFound } from '../core/gateway-error';
import { AFFINITY_HEADER, ATTEMPTS_HEADER, ROUTE_HEADER, SESSION_HEADER } from '../core/gateway-headers';
import { worseAffinity } from '../core/prompt-cache';
import type { Gateway } from '../gateway';
import type { RequestEvent } from '../observability/events';
import type { CallOptions, ProviderAdapter, Route, UpstreamMeta } from '../providers/types';
import { AllRoutesFailed, type Answered, type AttemptFn, type RoutedRequest } from '../routing/executor';
import type { ModelRoutes } from '../routing/route-table';
import type { SessionRouting } from '../routing/affinity';
import { assertModelAllowed } from '../tenants/auth';
import { NO_LIMITS, type TenantPermit } from '../tenants/limiter';
import type { ApiCall, ApiHandler, ApiReply } from './call';
import { clientClosed, deadlineExceeded, failureToError } from './failure-response';
import { RequestLifetime } from './request-lifetime';

/**
 * An endpoint's handler around `serve`, which gets the request's lifecycle: a failure
 * before the answer releases the tenant's permit, is reported once, and is thrown on for
 * the transport to answer.
 */
export function apiHandler(gw: Gateway, serve: (req: ApiRequest, call: ApiCall) => Promise<ApiReply>): ApiHandler {
  return async (call) => {
    const req = new ApiRequest(gw, call);
    try {
      return await serve(req, call);
    } catch (err) {
      req.failed(err);
      throw err;
    }
  };
}

const NO_ATTEMPTS: readonly AttemptRecord[] = [];

export class ApiRequest {
  /** The request's event: endpoints fill in what they know (model, stream, content). */
  readonly event: RequestEvent;
  private readonly started: number;
  private tenant: TenantConfig | undefined;
  private permit: TenantPermit = NO_LIMITS;

  constructor(
    private readonly gw: Gateway,
    private readonly call: ApiCall,
  ) {
    this.started = gw.now();
    this.event = {
      type: 'request',
      requestId: call.requestId,
      role: gw.role,
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
    this.tenant = tenants.open ? undefined : tenants.authenticate(this.call.headers(), this.call.env);
    this.event.tenant = this.tenant?.id;
    return this.tenant;
  }

  /** The routes of the logical model `model`: 404 naming it when it does not exist, 403 when the tenant may not use it. */
  async routesFor(model: string): Promise<ModelRoutes> {
    const gw = this.gw;
    if (!gw.isReady) await gw.ready; // spoke addresses known
    const routes = gw.routeTable.forModel(model);
    if (!routes) {
      throw notFound(
        `The model "${model}" does not exist. Known models: ${gw.routeTable
          .models()
          .map((m) => m.name)
          .join(', ')}.`,
      );
    }
    assertModelAllowed(this.tenant, model);
    return routes;
  }

  /** Counts the request against its tenant's limits (rpm, tpm with `estimatedTokens`, concurrency): a 429 past them. */
  async admit(estimatedTokens: number): Promise<void> {
    const tenant = this.tenant;
    this.permit = tenant?.limits ? await this.gw.tenantLimits.admit(tenant, estimatedTokens) : NO_LIMITS;
  }

  /** The request on its way to a route, from now on within its deadline. */
  route(routes: ModelRoutes, stream: boolean, estimatedTokens: number, more: RoutingOptions = {}): RequestRouting {
    return new RequestRouting(this.gw, this.call, this.event, routes, stream, estimatedTokens, more);
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
    this.gw.events.emitAfterReply(ev);
  }

  /** The request failed before its answer. */
  failed(err: unknown): void {
    this.permit.release();
    this.report(err instanceof GatewayError ? err.status : 500, { errorCode: err instanceof GatewayError ? (err.code ?? undefined) : 'internal_error' });
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
    more: RoutingOptions,
  ) {
    this.started = gw.now();
    const deadlineMs = gw.config.server.requestTimeoutMs;
    // Node server: the response tells when the client leaves; elsewhere (Lambda) the request signal.
    this.life = new RequestLifetime(call.outgoing ?? call.signal, deadlineMs);
    const timeouts = more.heldStream ? { ...routes.timeouts, firstByteMs: routes.timeouts.completeMs } : routes.timeouts;
    this.routed = { routes, stream, estimatedTokens, deadline: this.started + deadlineMs, cancel: this.life, timeouts };
    if (more.cannotServe) this.routed.cannotServe = more.cannotServe;
    this.forward = traceHeaders(call);
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
      if (err instanceof AllRoutesFailed) this.event.attempts = err.attempts;
      const life = this.life;
      life.end();
      if (life.deadlinePassed) throw deadlineExceeded(this.gw.config.server.requestTimeoutMs);
      if (life.clientLeft) throw clientClosed();
      if (err instanceof AllRoutesFailed) throw failureToError(err, this.gw.role);
      throw err;
    });
  }

  /** Request id, and the route and attempts that answered: through a spoke, its route, and its attempts added to ours. */
  answerHeaders(answer: Answered<UpstreamMeta>): Record<string, string> {
    const meta = answer.value;
    const headers: Record<string, string> = {
      'x-request-id': this.event.requestId,
      [ROUTE_HEADER]: meta.upstreamRoute ?? answer.route.key,
      [ATTEMPTS_HEADER]: String(sentAttempts(answer.attempts) - 1 + (meta.upstreamAttempts ?? 1)),
    };
    if (this.session) headers[AFFINITY_HEADER] = this.event.affinity = worseAffinity(this.session.served(answer.route), meta.upstreamAffinity);
    return headers;
  }

  /** A stream continued on another route after a break: the session is there now. */
  sessionMoved(route: Route): void {
    this.session?.served(route);
  }
}

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
