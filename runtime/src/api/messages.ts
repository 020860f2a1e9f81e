/**
 * POST /v1/messages: the Anthropic Messages API through the request lifecycle
 * (request-lifecycle.ts), answered in Anthropic's shapes, errors included. Each route is
 * served natively where its target speaks Messages (the body as the client sent it) and
 * through translation elsewhere (providers/translated-messages.ts); a stream broken after
 * its first byte is continued (stream/messages-stream.ts).
 */
import type { CancelSource } from '../core/cancellation';
import { badRequest } from '../core/gateway-error';
import { COST_HEADER, USAGE_COST_FIELD } from '../core/gateway-headers';
import type { MessagesRequest } from '../core/messages-request';
import type { Gateway } from '../gateway';
import { applyToMessages } from '../guardrails/messages-text';
import { stopReasonOf } from '../providers/anthropic/event-stream';
import { isForwarded, messagesApiOf, type ForwardedMessages, type MessagesApi, type MessagesCall, type MessagesEvent } from '../providers/messages-types';
import { messagesFor, translationCheck } from '../providers/translated-messages';
import type { Route } from '../providers/types';
import { usageFromAnthropic } from '../providers/translate/openai-anthropic';
import { estimateMessagesPromptTokens } from '../quota/messages-estimate';
import { estimateTokens } from '../quota/token-estimate';
import type { ModelRoutes } from '../routing/route-table';
import { MESSAGES_FRAMING, resilientMessages, type MessagesOutcome } from '../stream/messages-stream';
import type { SseFraming } from '../stream/sse-response';
import { startFirstAccepted } from '../stream/started-stream';
import { anthropicErrorReply } from './anthropic-errors';
import { anthropicHeaders, type AnthropicHeaders } from './anthropic-headers';
import type { ApiCall, ApiHandler, ApiReply } from './call';
import { forwardedMessages } from './forwarded-messages';
import { apiHandler, type ApiRequest, type RequestRouting } from './request-lifecycle';
import { sessionOf } from './session';
import { parseMessagesBody } from './validate-messages';
import { streamReply } from './stream-reply';
import { echo } from '../core/echo';

/** A request validated in full, or (the proxy's thin hop) forwarded as it came. */
type Messages = MessagesRequest | ForwardedMessages;

export function messagesHandler(gw: Gateway): ApiHandler {
  const handler = apiHandler(gw, async (req, c) => {
    const ev = req.event;
    ev.api = 'messages';
    const headers = anthropicHeaders(c);
    const tenant = req.authenticate();
    const text = await c.text();
    const guardrails = gw.guardrails;
    // A proxy without guardrails forwards the body for its spoke to validate.
    const msg: Messages = (gw.role === 'proxy' && guardrails.empty && forwardedMessages(text)) || parseMessagesBody(text, headers.version, gw.messagesChecks);
    ev.model = msg.model;
    ev.stream = msg.stream === true;
    if (gw.config.observability.logContent && !isForwarded(msg)) ev.content = { prompt: msg.messages };
    const routes = await req.routesFor(msg.model);
    const promptTokens = isForwarded(msg) ? estimateTokens(msg.body) : estimateMessagesPromptTokens(msg);
    const maxTokens = isForwarded(msg) ? msg.maxTokens : msg.max_tokens;
    const estimatedTokens = promptTokens + (maxTokens ?? 0);
    // A budget holds the prompt at the input price and max_tokens at the output price.
    await req.admit(estimatedTokens, promptTokens, maxTokens);
    const checked = isForwarded(msg) || guardrails.empty ? msg : await applyToMessages(guardrails, msg, { model: msg.model, tenant: tenant?.id });
    const cannotServe = isForwarded(checked) ? undefined : routesPassedOver(gw, routes, checked);
    const lookup = sessionOf(gw, c, routes.model);
    const session = lookup && (await lookup);
    const routing = req.route(routes, ev.stream, estimatedTokens, { ...(cannotServe ? { cannotServe } : {}), ...(session ? { session } : {}) });
    return ev.stream ? streamAnswer(gw, req, c, routing, checked, headers, text) : jsonAnswer(req, c, routing, checked, headers);
  });
  return Object.assign(handler, { renderError: anthropicErrorReply });
}

/** What a model's routes are, per route table (built afresh whenever the config or the adapters change). */
interface RouteKinds {
  /** Every route is served natively (no translation check needed). */
  everyNative: boolean;
  /** Some route's native API refuses parts a request may hold (Claude on Bedrock: URL sources). */
  nativeRefusals: boolean;
}
const routeKinds = new WeakMap<ModelRoutes, RouteKinds>();

/**
 * Routes that cannot take a request pass it over (a translated one: a server tool, an image
 * its kind cannot take ...; a native one: a part its target refuses, such as a URL source
 * on Bedrock), with why, so another route serves it (or the client hears that none could);
 * when no route of the model can, a 400 names the part. Undefined: every route can.
 */
function routesPassedOver(gw: Gateway, routes: ModelRoutes, req: MessagesRequest): ((route: Route) => string | undefined) | undefined {
  const nativeApi = (route: Route): MessagesApi | undefined => {
    const api = messagesApiOf(gw.adapters.get(route.provider.id)!);
    return api?.serves(route) ? api : undefined;
  };
  const all = routes.groups.flat();
  let kinds = routeKinds.get(routes);
  if (!kinds) routeKinds.set(routes, (kinds = { everyNative: all.every((r) => nativeApi(r)), nativeRefusals: all.some((r) => nativeApi(r)?.cannotTake !== undefined) }));
  const check = kinds.everyNative ? undefined : translationCheck(req);
  if (!check && !kinds.nativeRefusals) return undefined;
  const refusals = new Map<MessagesApi, string | undefined>();
  const cannot = (route: Route): string | undefined => {
    const api = nativeApi(route);
    if (!api) return check?.(route.provider.type);
    if (!api.cannotTake) return undefined;
    if (!refusals.has(api)) refusals.set(api, api.cannotTake(req));
    return refusals.get(api);
  };
  const problems = all.map(cannot);
  if (problems.every((p) => p !== undefined)) throw badRequest(`${problems[0]} (no target of model "${echo(req.model)}" can take it)`, null, 'unsupported_on_target');
  return problems.some((p) => p !== undefined) ? cannot : undefined;
}

async function jsonAnswer(req: ApiRequest, c: ApiCall, routing: RequestRouting, msg: Messages, headers: AnthropicHeaders): Promise<ApiReply> {
  const call: MessagesCall = { request: msg, version: headers.version, betas: headers.betas };
  const answer = await routing.run((route, attempt) => messagesFor(routing.adapterFor(route), route).create(route, call, routing.options(attempt)));
  routing.life.end();
  const { message, body, notes } = answer.value;
  const usage = usageFromAnthropic(message.usage);
  answer.settle(usage.total_tokens);
  req.settleTenant(usage.total_tokens);
  req.charge(answer.route, answer.value, usage);
  const ev = req.event;
  const content = ev.content && { ...ev.content, answer: message.content.map((b) => (b.type === 'text' ? (b.text ?? '') : '')).join('') };
  // The headers first: they record the session's affinity on the event, which Lambda emits at once.
  const out = routing.answerHeaders(answer);
  req.report(200, { route: answer.value.upstreamRoute ?? answer.route.key, attempts: answer.attempts, usage, content, ...(notes ? { notes } : {}) });
  out['content-type'] = 'application/json';
  out['request-id'] = c.requestId;
  const cost = req.cost;
  if (cost !== undefined) out[COST_HEADER] = String(cost);
  // The upstream's own text where it came as JSON of the message: no re-encoding.
  return { kind: 'json', status: 200, headers: out, body: body ?? JSON.stringify(message) };
}

async function streamAnswer(gw: Gateway, req: ApiRequest, c: ApiCall, routing: RequestRouting, msg: Messages, headers: AnthropicHeaders, text: string): Promise<ApiReply> {
  const life = routing.life;
  // Continuations are built from the request validated in full (the proxy validates it only then).
  const validated = isForwarded(msg) ? () => parseMessagesBody(text, headers.version, gw.messagesChecks) : () => msg;
  const api = (route: Route) => messagesFor(routing.adapterFor(route), route);
  const startOn = (route: Route, requests: Messages[], attempt: CancelSource) => {
    const target = api(route);
    const opts = routing.options(attempt);
    return startFirstAccepted(
      requests,
      (request) => target.stream(route, { request, version: headers.version, betas: headers.betas }, opts),
      (reason) => attempt.abort(reason),
    );
  };
  const first = await routing.run((route, attempt) => startOn(route, [msg], attempt));
  const ttftMs = gw.now() - routing.started;
  const outcome: MessagesOutcome = { continuations: 0, notes: [], segments: [] };
  const events = resilientMessages(
    first,
    {
      request: validated,
      cancel: life,
      idleMs: routing.routed.timeouts.idleMs,
      prefill: (route) => api(route).prefill(route),
      continueOn: (build, exclude) => gw.executor.run({ ...routing.routed, exclude }, (route, attempt) => startOn(route, build(route), attempt)),
      onStreamFailure: (route, err) => routing.streamBroke(route, err),
      now: gw.now,
    },
    outcome,
  );
  return streamReply({
    req,
    c,
    routing,
    first,
    ttftMs,
    events,
    framing: MESSAGES_FRAMING,
    withCost,
    ending: () => ({
      route: outcome.route,
      continuations: outcome.continuations,
      usage: outcome.usage && usageFromAnthropic(outcome.usage),
      text: outcome.text,
      segments: (outcome.segments ?? []).map((part) => ({ route: part.route, meta: part.meta, usage: usageFromAnthropic(part.usage) })),
      notes: outcome.notes,
    }),
    headers: { 'request-id': c.requestId },
  });
}

/** A spoke's stream to its proxy: the final message_delta's usage carries what the whole answer cost. */
function withCost(framing: SseFraming<MessagesEvent>, cost: () => number | undefined): SseFraming<MessagesEvent> {
  return {
    ...framing,
    event(ev) {
      const usd = stopReasonOf(ev) === undefined ? undefined : cost();
      if (usd === undefined) return framing.event(ev);
      const usage = typeof ev.data.usage === 'object' && ev.data.usage !== null ? ev.data.usage : {};
      return framing.event({ type: ev.type, data: { ...ev.data, usage: { ...usage, [USAGE_COST_FIELD]: usd } } });
    },
  };
}
