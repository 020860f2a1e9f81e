/**
 * POST /v1/chat/completions (and /inference): validate, authorize, route through the
 * attempt executor, answer as JSON or as an SSE stream. Provider wire formats never
 * reach this file.
 */
import type { Gateway } from '../gateway';
import { ProviderError } from '../providers/errors';
import type { CallOptions, ProviderAdapter, Route, UpstreamMeta } from '../providers/types';
import { estimatePromptTokens, estimateTokens } from '../quota/token-estimate';
import { sentAttempts, type AttemptRecord } from '../core/attempt';
import { AllRoutesFailed, type Answered, type AttemptFn, type RoutedRequest } from '../routing/executor';
import type { CancelSource } from '../core/cancellation';
import { RequestLifetime } from './request-lifetime';
import { resilientStream, type StreamOutcome } from '../stream/resilient-stream';
import type { RequestEvent } from '../observability/events';
import { NO_LIMITS, type TenantPermit } from '../tenants/limiter';
import type { ModelRoutes } from '../routing/route-table';
import { chatChunkFraming } from '../stream/openai-sse';
import { SSE_HEADERS, sseBody, writeSse, type SseBodyOptions } from '../stream/sse-response';
import { startStream, type StartedStream } from '../stream/started-stream';
import { assertModelAllowed, type TenantDirectory } from '../tenants/auth';
import { SENT, type ChatCall, type ChatReply } from './chat-call';
import { maxOutputTokens, type ChatRequest } from '../core/chat-request';
import { GatewayError, notFound } from '../core/gateway-error';
import { clientClosed, deadlineExceeded, failureToError } from './failure-response';
import { parseChatBody } from './validate-chat';
import { forwardedChat } from './forwarded-chat';
import { USAGE_HEADER } from '../core/gateway-headers';

/** Output reserved for admission when the client sets no max_tokens; usage corrects it after. */
export const DEFAULT_OUTPUT_ESTIMATE = 1024;

export function chatCompletionsHandler(gw: Gateway, tenants: TenantDirectory) {
  return async (c: ChatCall): Promise<ChatReply> => {
    const report = new RequestReport(gw, c.requestId, c.header('traceparent'));
    const ev = report.event;
    let permit: TenantPermit | undefined;
    try {
      const tenant = tenants.open ? undefined : tenants.authenticate(c.headers(), c.env);
      ev.tenant = tenant?.id;
      const text = await c.text();
      const guardrails = gw.guardrails;
      // A proxy without guardrails forwards the body for its spoke to validate.
      const forwarded = gw.role === 'proxy' && guardrails.empty ? forwardedChat(text) : undefined;
      const req = forwarded ?? parseChatBody(text, gw.requestCheck);
      ev.model = req.model;
      ev.stream = req.stream === true;
      if (gw.config.observability.logContent) ev.content = { prompt: req.messages };
      if (!gw.isReady) await gw.ready; // spoke addresses known
      const routes = gw.routeTable.forModel(req.model);
      if (!routes) {
        throw notFound(`The model "${req.model}" does not exist. Known models: ${gw.routeTable.models().map((m) => m.name).join(', ')}.`);
      }
      assertModelAllowed(tenant, req.model);
      // Unvalidated messages are not measured: the JSON's own length is the (generous) estimate.
      const promptTokens = forwarded ? estimateTokens(text) : estimatePromptTokens(req);
      const estimatedTokens = promptTokens + (maxOutputTokens(req) ?? DEFAULT_OUTPUT_ESTIMATE);
      permit = tenant?.limits ? await gw.tenantLimits.admit(tenant, estimatedTokens) : NO_LIMITS;
      const checked = guardrails.empty ? req : await guardrails.apply(req, { model: req.model, tenant: tenant?.id });
      const validated = forwarded ? () => parseChatBody(text, gw.requestCheck) : () => checked;
      return await serve(c, gw, { req: checked, validated, body: forwarded && text, routes, report, permit, estimatedTokens });
    } catch (err) {
      permit?.release();
      report.send(err instanceof GatewayError ? err.status : 500, { errorCode: err instanceof GatewayError ? (err.code ?? undefined) : 'internal_error' });
      throw err;
    }
  };
}

const NO_ATTEMPTS: readonly AttemptRecord[] = [];

/** The request's event, filled in on the way and emitted once, after its answer went out. */
class RequestReport {
  readonly event: RequestEvent;
  private readonly started: number;

  constructor(
    private readonly gw: Gateway,
    requestId: string,
    traceparent: string | undefined,
  ) {
    this.started = gw.now();
    this.event = { type: 'request', requestId, role: gw.role, model: '', stream: false, status: 0, attempts: NO_ATTEMPTS, continuations: 0, latencyMs: 0, traceparent };
  }

  send(status: number, more?: Partial<RequestEvent>): void {
    const ev = this.event;
    ev.status = status;
    ev.latencyMs = this.gw.now() - this.started;
    if (more) Object.assign(ev, more);
    this.gw.events.emitAfterReply(ev);
  }
}

/** One admitted request on its way to a route. */
interface Admitted {
  req: ChatRequest;
  /** The request validated in full (made on demand where the proxy forwarded it unvalidated). */
  validated: () => ChatRequest;
  /** The client's JSON, forwarded as is (the proxy's thin hop). */
  body: string | undefined;
  routes: ModelRoutes;
  report: RequestReport;
  permit: TenantPermit;
  estimatedTokens: number;
}

async function serve(c: ChatCall, gw: Gateway, { req, validated, body: forwardedBody, routes, report, permit, estimatedTokens }: Admitted): Promise<ChatReply> {
  const started = gw.now();
  const ev = report.event;
  const deadlineMs = gw.config.server.requestTimeoutMs;
  // Node server: the response tells when the client leaves; elsewhere (Lambda) the request signal.
  const outgoing = c.outgoing;
  const life = new RequestLifetime(outgoing ?? c.signal, deadlineMs);
  const timeouts = routes.timeouts;
  const forward = forwardedHeaders(c);
  // `body`: the client's own JSON for the request as it came (never for a continuation).
  const callOpts = (attempt: CancelSource, body?: string): CallOptions => new AttemptOptions(ev.requestId, forward, timeouts.connectMs, attempt, body);
  const adapterFor = (route: Route) => gw.adapters.get(route.provider.id)!;
  const routed: RoutedRequest = {
    routes,
    stream: ev.stream,
    estimatedTokens,
    deadline: started + deadlineMs,
    cancel: life,
    timeouts,
  };
  const run = <T extends UpstreamMeta>(r: RoutedRequest, attempt: AttemptFn<T>): Promise<Answered<T>> =>
    gw.executor.run(r, attempt).catch((err: unknown) => {
      if (err instanceof AllRoutesFailed) ev.attempts = err.attempts;
      life.end();
      if (life.deadlinePassed) throw deadlineExceeded(deadlineMs);
      if (life.clientLeft) throw clientClosed();
      if (err instanceof AllRoutesFailed) throw failureToError(err, gw.role);
      throw err;
    });

  if (!routed.stream) {
    const answer = await run(routed, (route, attempt) => adapterFor(route).complete(route, req, callOpts(attempt, forwardedBody)));
    life.end();
    const { completion, body } = answer.value;
    answer.settle(completion.usage.total_tokens);
    permit.settle(completion.usage.total_tokens);
    const content = ev.content && { ...ev.content, answer: completion.choices[0]?.message.content ?? undefined };
    report.send(200, { route: answer.value.upstreamRoute ?? answer.route.key, attempts: answer.attempts, usage: completion.usage, content });
    const headers = routeHeaders(answer, answer.route.key, ev.requestId);
    headers['content-type'] = 'application/json';
    // The upstream's own text when the adapter kept the completion as it came: no re-encoding.
    return { kind: 'json', status: 200, headers, body: body ?? JSON.stringify(completion) };
  }

  const startOn = (route: Route, requests: ChatRequest[], attempt: CancelSource, body?: string) =>
    startFirstAccepted(adapterFor(route), route, requests, callOpts(attempt, body), (reason) => attempt.abort(reason));
  const first = await run(routed, (route, attempt) => startOn(route, [req], attempt, forwardedBody));
  const ttftMs = gw.now() - started;
  const outcome: StreamOutcome = { continuations: 0 };
  const chunks = resilientStream(
    first,
    {
      request: validated,
      cancel: life,
      idleMs: timeouts.idleMs,
      supportsPrefill: (route) => adapterFor(route).supportsPrefill?.(route) ?? false,
      continueOn: (build, exclude) => gw.executor.run({ ...routed, exclude }, (route, attempt) => startOn(route, build(route), attempt)),
      onStreamFailure: (route, err) => gw.executor.onStreamFailure(route, err),
    },
    outcome,
  );
  const framing = chatChunkFraming(req.stream_options?.include_usage === true || c.header(USAGE_HEADER) === 'include');
  const sse: SseBodyOptions = {
    onCancel: (reason) => life.clientGone(reason),
    onEnd: (err) => {
      life.end();
      permit.settle(outcome.usage?.total_tokens);
      report.send(200, {
        route: first.value.upstreamRoute ?? (outcome.route ?? first.route).key,
        attempts: first.attempts,
        usage: outcome.usage,
        ttftMs,
        continuations: outcome.continuations,
        content: ev.content && { ...ev.content, answer: outcome.text },
        ...(life.clientLeft ? { errorCode: 'client_closed' } : err ? { errorCode: 'stream_interrupted' } : {}),
      });
    },
  };
  const headers = { ...SSE_HEADERS, ...routeHeaders(first, first.route.key, ev.requestId) };
  // On the Node server the events go straight to the response; elsewhere through a web stream.
  if (outgoing) {
    writeSse(outgoing, headers, chunks, framing, sse);
    return SENT;
  }
  return { kind: 'stream', response: new Response(sseBody(chunks, framing, sse), { status: 200, headers }) };
}

/** One attempt's call options: its cancellation, and a standard AbortSignal made only if the adapter reads one. */
class AttemptOptions implements CallOptions {
  constructor(
    readonly requestId: string,
    readonly forwardHeaders: Readonly<Record<string, string>> | undefined,
    readonly connectTimeoutMs: number,
    readonly cancel: CancelSource,
    readonly body: string | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.cancel.signal;
  }
}

/** Trace context (W3C) to pass on to providers. */
function forwardedHeaders(c: ChatCall): Record<string, string> | undefined {
  const traceparent = c.header('traceparent');
  const tracestate = c.header('tracestate');
  if (!traceparent && !tracestate) return undefined;
  const headers: Record<string, string> = {};
  if (traceparent) headers.traceparent = traceparent;
  if (tracestate) headers.tracestate = tracestate;
  return headers;
}

/** Tries the requests in order on one route; a refusal of the first (e.g. prefill) falls to the next. */
async function startFirstAccepted(
  adapter: ProviderAdapter,
  route: Route,
  requests: ChatRequest[],
  opts: CallOptions,
  abort: (reason: unknown) => void,
): Promise<StartedStream> {
  for (let i = 0; ; i++) {
    try {
      return await startStream(adapter, route, requests[i]!, opts, abort);
    } catch (err) {
      if (i + 1 < requests.length && err instanceof ProviderError && err.failure === 'refused') continue;
      throw err;
    }
  }
}

function routeHeaders(answer: Answered<UpstreamMeta>, routeKey: string, requestId: string): Record<string, string> {
  const meta = answer.value;
  // Through a spoke, the route is the spoke's, and its attempts add to ours.
  return {
    'x-request-id': requestId,
    'x-gateway-route': meta.upstreamRoute ?? routeKey,
    'x-gateway-attempts': String(sentAttempts(answer.attempts) - 1 + (meta.upstreamAttempts ?? 1)),
  };
}
