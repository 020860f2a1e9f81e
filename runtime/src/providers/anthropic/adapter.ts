/**
 * The Anthropic Messages API (`POST /v1/messages`) behind the OpenAI interface: the
 * translator for the wire format and the classifier for every failure, called through
 * the upstream call every HTTP adapter shares.
 */
import type { ChatRequest } from '../../core/chat-request';
import type { ChatCompletionChunk } from '../../core/openai-types';
import type { ProviderConfig } from '../../config/schema';
import { sseUntil } from '../sse-read';
import type { CredentialResolver } from '../credentials';
import { classifyNetworkError, ProviderError } from '../errors';
import type { HttpClient, UpstreamHeaders, UpstreamResponse } from '../http';
import { parseAnthropicRateLimit } from '../rate-limit-headers';
import { anthropicHasNativeOutput, structuredPlan, type StructuredPlan } from '../structured/plan';
import { unwrapChunks, unwrapCompletion } from '../structured/unwrap';
import { ANTHROPIC_SUPPORTS_PREFILL, AnthropicStreamTranslator, fromAnthropicMessage, parseAnthropicMessage, toAnthropicRequest } from '../translate/openai-anthropic';
import { upstreamSignal, type CallOptions, type CompletionResult, type ProviderAdapter, type Route, type StreamResult, type UpstreamSignal } from '../types';
import { createUpstreamCall, withoutCredentials, type UpstreamProtocol } from '../upstream-call';
import { classifyAnthropicError } from './classify';
import { isMessageStop } from './event-stream';

export const ANTHROPIC_DEFAULT_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';

/** `{base}/v1/messages`, whether or not the configured base already ends in /v1. */
export function messagesUrl(base: string | undefined): string {
  const root = (base ?? ANTHROPIC_DEFAULT_URL).replace(/\/+$/, '');
  return root.endsWith('/v1') ? `${root}/messages` : `${root}/v1/messages`;
}

/** The key in `x-api-key`; the API version a configured header may replace. */
export const ANTHROPIC_PROTOCOL: UpstreamProtocol = {
  defaultHeaders: { 'anthropic-version': ANTHROPIC_VERSION },
  keyHeader: { name: 'x-api-key', prefix: '' },
  keyRequired: true,
  classify: classifyAnthropicError,
};

export function createAnthropicAdapter(provider: ProviderConfig, deps: { resolveCredential: CredentialResolver; http: HttpClient }): ProviderAdapter {
  const upstream = createUpstreamCall(provider, deps, ANTHROPIC_PROTOCOL);
  // Translated first: a request Anthropic cannot take is refused before any network use.
  const bodyOf = (route: Route, req: ChatRequest, stream: boolean, plan: StructuredPlan | undefined, notes: string[] | undefined) =>
    JSON.stringify(toAnthropicRequest(req, route.model, { stream, plan, cache: route.promptCache, notes }));

  async function complete(route: Route, req: ChatRequest, opts: CallOptions): Promise<CompletionResult> {
    const plan = structuredPlan(req, route, anthropicHasNativeOutput);
    // Only reasoning_effort leaves a note here: no array for the plain request.
    const notes = req.reasoning_effort ? [] : undefined;
    const body = bodyOf(route, req, false, plan, notes);
    const { answer: res } = await upstream.post(route, messagesUrl(route.endpoint.url), body, opts);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.text);
    } catch {
      throw new ProviderError('transient', `Anthropic upstream answered ${res.statusCode} with a body that is not JSON`, {
        status: res.statusCode,
        code: 'unparseable',
      });
    }
    const completion = unwrapCompletion(fromAnthropicMessage(parseAnthropicMessage(parsed), route.model), plan);
    return withRateLimit(notes?.length ? { completion, notes } : { completion }, res);
  }

  async function stream(route: Route, req: ChatRequest, opts: CallOptions): Promise<StreamResult> {
    const plan = structuredPlan(req, route, anthropicHasNativeOutput);
    const notes = req.reasoning_effort ? [] : undefined;
    const body = bodyOf(route, req, true, plan, notes);
    const { answer: res, key } = await upstream.openStream(route, messagesUrl(route.endpoint.url), body, opts);
    const chunks = unwrapChunks(chunksOf(res, route, upstreamSignal(opts), key), plan);
    return withRateLimit(notes?.length ? { chunks, notes } : { chunks }, res);
  }

  return {
    complete,
    stream,
    // Messages continues a trailing assistant turn: what a broken stream needs.
    supportsPrefill: () => ANTHROPIC_SUPPORTS_PREFILL,
  };
}

async function* chunksOf(res: UpstreamResponse, route: Route, signal: UpstreamSignal, key: string | undefined): AsyncGenerator<ChatCompletionChunk> {
  const translator = new AnthropicStreamTranslator(route.model);
  let ended = false;
  try {
    try {
      // The answer ends at message_stop; the rest of the body is read apart (sseUntil).
      for await (const ev of sseUntil(res.body, isMessageStop)) yield* translator.push(ev);
      ended = true;
    } catch (err) {
      if (err instanceof ProviderError) throw withoutCredentials(err, key);
      // A break (or an abort) after the stop reason loses nothing of the answer.
      if (!translator.complete) {
        if (signal.aborted) throw signal.reason ?? err;
        throw classifyNetworkError(err, `Anthropic stream from ${route.key} broke`);
      }
    }
    yield* translator.end();
  } finally {
    // The consumer left early, or the stream failed: the socket cannot be reused.
    if (!ended) res.body.destroy();
  }
}

function withRateLimit<T extends object>(result: T, res: { headers: UpstreamHeaders }): T & { rateLimit?: ReturnType<typeof parseAnthropicRateLimit> } {
  const rateLimit = parseAnthropicRateLimit(res.headers);
  return rateLimit ? { ...result, rateLimit } : result;
}
