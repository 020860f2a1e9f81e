/**
 * POST /v1/chat/completions (and /inference): validate the body (a proxy without
 * guardrails reads only what it routes on and forwards the rest), then the request's
 * lifecycle (request-lifecycle.ts), answered as JSON or as an SSE stream. Provider wire
 * formats never reach this file.
 */
import { maxOutputTokens, strictSchemaOf, type ChatRequest, type JsonSchemaFormat, type OutputCheck } from '../core/chat-request';
import { badRequest } from '../core/gateway-error';
import type { ForwardedChat } from '../core/forwarded-chat';
import { COST_HEADER, USAGE_COST_FIELD, USAGE_HEADER } from '../core/gateway-headers';
import type { ChatCompletionChunk } from '../core/openai-types';
import { withoutRaw } from '../core/raw-chunk';
import { configPricing } from '../config/pricing';
import type { Gateway } from '../gateway';
import type { CallOptions, CompletionResult, ProviderAdapter, Route, StreamResult } from '../providers/types';
import { thinkingBudgetOf } from '../providers/translate/reasoning-effort';
import { estimatePromptTokens } from '../quota/token-estimate';
import type { CancelSource } from '../core/cancellation';
import { chatChunkFraming } from '../stream/openai-sse';
import { resilientStream, type StreamOutcome } from '../stream/resilient-stream';
import type { SseFraming } from '../stream/sse-response';
import { startFirstAccepted } from '../stream/started-stream';
import type { ApiCall, ApiHandler, ApiReply } from './call';
import { forwardedChat } from './forwarded-chat';
import { checkImages } from './image-check';
import { apiHandler, type ApiRequest, type RequestRouting } from './request-lifecycle';
import { checkCompletion, heldStream } from './strict-output';
import { parseChatBody } from './validate-chat';
import { sessionOf } from './session';
import { noteDroppedMarkers } from './cache-markers-note';
import { streamReply } from './stream-reply';

/** Output reserved for admission when the client sets no max_tokens; usage corrects it after. */
export const DEFAULT_OUTPUT_ESTIMATE = 1024;

/** A chat request validated in full, or (the proxy's thin hop) forwarded as it came. */
type Chat = ChatRequest | ForwardedChat;

export function chatCompletionsHandler(gw: Gateway): ApiHandler {
  return apiHandler(gw, async (req, c) => {
    const ev = req.event;
    const tenant = req.authenticate();
    const text = await c.text();
    const guardrails = gw.guardrails;
    // A proxy without guardrails forwards the body for its spoke to validate.
    const chat: Chat = (gw.role === 'proxy' && guardrails.empty && forwardedChat(text)) || parseChatBody(text, gw.requestCheck);
    ev.model = chat.model;
    ev.stream = chat.stream === true;
    if (gw.config.observability.logContent) ev.content = { prompt: chat.messages };
    const routes = await req.routesFor(chat.model);
    const forwarded = 'forwarded' in chat;
    // A proxy's routes are spokes: they check images against their targets and validate strict answers.
    const spokes = gw.role === 'proxy';
    const cannotServe = forwarded ? undefined : checkImages(chat, routes, spokes);
    const strict = forwarded ? undefined : strictSchemaOf(chat);
    const validate = strict && !spokes ? outputCheckOf(gw, strict) : undefined;
    const promptTokens = estimatePromptTokens(chat);
    const maxOut = forwarded ? chat.maxOutputTokens : maxOutputTokens(chat);
    // reasoning_effort: a Claude target is sent max_tokens of its thinking budget plus the answer's cap, so both are held.
    const thinking = forwarded ? chat.thinkingTokens : thinkingBudgetOf(chat.reasoning_effort);
    const estimatedTokens = promptTokens + (maxOut ?? DEFAULT_OUTPUT_ESTIMATE) + (thinking ?? 0);
    await req.admit(estimatedTokens, promptTokens, maxOut, thinking);
    const checked = forwarded || guardrails.empty ? chat : await guardrails.apply(chat, { model: chat.model, tenant: tenant?.id });
    // A strict stream is held until it validated (here or in the spoke): its first chunk comes with its last.
    const held = ev.stream && (forwarded ? chat.heldStream === true : strict !== undefined);
    const lookup = sessionOf(gw, c, routes.model, chat);
    const session = lookup && (await lookup);
    const routing = req.route(routes, ev.stream, estimatedTokens, { cannotServe, heldStream: held, session });
    return ev.stream ? streamAnswer(gw, req, c, routing, checked, text, promptTokens, validate) : jsonAnswer(gw, req, routing, checked, validate);
  });
}

async function jsonAnswer(gw: Gateway, req: ApiRequest, routing: RequestRouting, chat: Chat, validate: OutputCheck | undefined): Promise<ApiReply> {
  const answer = await routing.run(async (route, attempt) => {
    const result = await completeOn(routing.adapterFor(route), route, chat, routing.options(attempt));
    if (validate) {
      try {
        checkCompletion(result.completion, validate);
      } catch (err) {
        throw req.chargeRejected(route, err);
      }
    }
    return result;
  });
  routing.life.end();
  noteDroppedMarkers(gw, req.event.requestId, chat, answer.route);
  const { completion, body } = answer.value;
  answer.settle(completion.usage.total_tokens);
  req.settleTenant(completion.usage.total_tokens);
  req.charge(answer.route, answer.value, completion.usage);
  const ev = req.event;
  const content = ev.content && { ...ev.content, answer: completion.choices[0]?.message.content ?? undefined };
  // The headers first: they record the session's affinity on the event, which Lambda emits at once.
  const headers = routing.answerHeaders(answer);
  const notes = answer.value.notes;
  req.report(200, { route: answer.value.upstreamRoute ?? answer.route.key, attempts: answer.attempts, usage: completion.usage, content, ...(notes ? { notes } : {}) });
  headers['content-type'] = 'application/json';
  const cost = req.cost;
  if (cost !== undefined) headers[COST_HEADER] = String(cost);
  // The upstream's own text when the adapter kept the completion as it came: no re-encoding.
  return { kind: 'json', status: 200, headers, body: body ?? JSON.stringify(completion) };
}

async function streamAnswer(
  gw: Gateway,
  req: ApiRequest,
  c: ApiCall,
  routing: RequestRouting,
  chat: Chat,
  text: string,
  promptTokens: number,
  validate: OutputCheck | undefined,
): Promise<ApiReply> {
  const ev = req.event;
  const life = routing.life;
  // Continuations are built from the request validated in full (the proxy validates it only then).
  const validated = 'forwarded' in chat ? () => parseChatBody(text, gw.requestCheck) : () => chat;
  const startOn = (route: Route, requests: Chat[], attempt: CancelSource) => {
    const adapter = routing.adapterFor(route);
    const opts = routing.options(attempt);
    // With `validate` (strict), the answer is held and checked before it starts; a rejected one is charged all the same.
    const open = (chat: Chat) => (validate ? streamOn(adapter, route, chat, opts).then((result) => heldStream(result, validate)) : streamOn(adapter, route, chat, opts));
    const started = startFirstAccepted(requests, open, (reason) => attempt.abort(reason));
    return validate ? started.catch((err: unknown) => Promise.reject(req.chargeRejected(route, err))) : started;
  };
  const first = await routing.run((route, attempt) => startOn(route, [chat], attempt));
  const ttftMs = gw.now() - routing.started;
  noteDroppedMarkers(gw, ev.requestId, chat, first.route);
  const outcome: StreamOutcome = { continuations: 0 };
  // Each answer that made up the stream is charged at its own route's price (a proxy's spokes report theirs).
  if (gw.role === 'proxy' || configPricing(gw.config).priced) outcome.segments = [];
  const chunks = resilientStream(
    first,
    {
      request: validated,
      promptTokens,
      cancel: life,
      idleMs: routing.routed.timeouts.idleMs,
      supportsPrefill: (route) => routing.adapterFor(route).supportsPrefill?.(route) ?? false,
      continueOn: (build, exclude) => gw.executor.run({ ...routing.routed, exclude }, (route, attempt) => startOn(route, build(route), attempt)),
      onStreamFailure: (route, err) => routing.streamBroke(route, err),
    },
    outcome,
  );
  const includeUsage = ('forwarded' in chat ? chat.includeUsage : chat.stream_options?.include_usage === true) || c.header(USAGE_HEADER) === 'include';
  return streamReply({
    req,
    c,
    routing,
    first,
    ttftMs,
    events: chunks,
    framing: chatChunkFraming(includeUsage),
    withCost,
    ending: () => ({ ...outcome, segments: outcome.segments ?? [] }),
  });
}

/** A spoke's stream to its proxy: the final usage chunk carries what the answer cost. */
function withCost(framing: SseFraming<ChatCompletionChunk>, cost: () => number | undefined): SseFraming<ChatCompletionChunk> {
  return {
    ...framing,
    event(chunk) {
      if (chunk.choices.length === 0 && chunk.usage) {
        const usd = cost();
        // A copy: the usage object is also the answer's own (the request's event and its segments hold it).
        if (usd !== undefined) {
          const priced: ChatCompletionChunk = { ...chunk, usage: { ...chunk.usage, [USAGE_COST_FIELD]: usd } as ChatCompletionChunk['usage'] };
          withoutRaw(priced);
          return framing.event(priced);
        }
      }
      return framing.event(chunk);
    },
  };
}

/** The whole answer on one route: the client's JSON as it came where the adapter can forward it. */
function completeOn(adapter: ProviderAdapter, route: Route, chat: Chat, opts: CallOptions): Promise<CompletionResult> {
  if (!('forwarded' in chat)) return adapter.complete(route, chat, opts);
  return adapter.forward ? adapter.forward(route, chat, opts) : adapter.complete(route, parseChatBody(chat.body), opts);
}

function streamOn(adapter: ProviderAdapter, route: Route, chat: Chat, opts: CallOptions): Promise<StreamResult> {
  if (!('forwarded' in chat)) return adapter.stream(route, chat, opts);
  return adapter.forwardStream ? adapter.forwardStream(route, chat, opts) : adapter.stream(route, parseChatBody(chat.body), opts);
}

/** The strict schema's check; a gateway started without the compiler (Lambda, whose spokes check answers) cannot check one. */
function outputCheckOf(gw: Gateway, format: JsonSchemaFormat): OutputCheck {
  const compile = gw.outputSchemas;
  if (!compile)
    throw badRequest(
      "A strict 'response_format' is checked by a spoke or a gateway server; this gateway (the Lambda proxy in a role other than proxy) cannot check it.",
      'response_format',
      'strict_output_unsupported',
    );
  return compile(format);
}
