/**
 * The adapter for `openai` and `openai-compatible` (DeepSeek, vLLM, Ollama) providers.
 * Their wire format is ours, so the request is forwarded almost as the client sent it
 * and answers are checked, not translated: a malformed chunk is dropped, a stream that
 * breaks is an error, and `usage` is always there (estimated when the server sent none).
 */
import type { ChatRequest } from '../../core/chat-request';
import type { ForwardedChat } from '../../core/forwarded-chat';
import { USAGE_HEADER } from '../../core/gateway-headers';
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../../core/openai-types';
import { keepRawJson } from '../../core/raw-chunk';
import { withoutCacheMarkers } from '../../core/prompt-cache';
import type { EndpointConfig, ProviderConfig } from '../../config/schema';
import { sseUntil, type SseEvent } from '../sse-read';
import type { CredentialResolver } from '../credentials';
import { ProviderError, classifyNetworkError } from '../errors';
import type { HttpClient, UpstreamHeaders, UpstreamResponse } from '../http';
import { estimatedUsage } from '../../quota/token-estimate';
import { parseOpenAIRateLimit } from '../rate-limit-headers';
import {
  upstreamSignal,
  type CallOptions,
  type CompletionResult,
  type ProviderAdapter,
  type ReportedCost,
  type Route,
  type StreamResult,
  type UpstreamMeta,
  type UpstreamSignal,
} from '../types';
import { createUpstreamCall, withoutCredentials, type UpstreamProtocol } from '../upstream-call';
import { costReportAsked, takeUsageCost, withHopMeta } from '../gateway-hop-meta';
import { classifyOpenAIError, classifyOpenAIStreamError } from './classify';
import { createOpenAIEmbeddings } from './embeddings';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAIStreamResult extends StreamResult {
  /** Events the upstream sent that were not valid chunks and were dropped (so far). */
  readonly droppedEvents: number;
}

export interface OpenAIAdapter extends ProviderAdapter {
  stream(route: Route, req: ChatRequest, opts: CallOptions): Promise<OpenAIStreamResult>;
}

/** A key as a bearer token, and only when there is one (Ollama and vLLM often run without). */
const OPENAI_PROTOCOL: UpstreamProtocol = { keyHeader: { name: 'authorization', prefix: 'Bearer ' }, keyRequired: false, classify: classifyOpenAIError };

/** A spoke sent the client's body as is still owes the proxy its usage chunk (quotas need it). */
const INCLUDE_USAGE = { [USAGE_HEADER]: 'include' };

/** What a missing usage is estimated from: the request, or the client's JSON forwarded as it came. */
type Prompt = ChatRequest | ForwardedChat;

export function createOpenAIAdapter(provider: ProviderConfig, deps: { resolveCredential: CredentialResolver; http: HttpClient }): OpenAIAdapter {
  const compatible = provider.type === 'openai-compatible';
  const upstream = createUpstreamCall(provider, deps, OPENAI_PROTOCOL);

  async function complete(route: Route, prompt: Prompt, body: string, opts: CallOptions): Promise<CompletionResult> {
    const { answer: res } = await upstream.post(route, completionsUrl(provider, route.endpoint), body, opts);
    const text = res.text;
    // JSON.parse skips the blank lines DeepSeek sends ahead of the body while it works.
    const completion = parseCompletion(text, route);
    const meta = upstreamMeta(res);
    // As the server sent it (the usual case): its own text goes to the client unchanged.
    if (isWholeUsage(completion.usage) && typeof completion.model === 'string') return { completion, body: text, ...meta };
    completion.usage = usageOrEstimate(completion.usage, prompt, completionChars(completion));
    completion.model ??= route.model;
    return { completion, ...meta };
  }

  /** `forwarded`: the client's body to a spoke, which owes its usage chunk whatever the body says. */
  async function stream(route: Route, prompt: Prompt, body: string, opts: CallOptions, forwarded = false): Promise<OpenAIStreamResult> {
    const { answer: res, key } = await upstream.openStream(route, completionsUrl(provider, route.endpoint), body, opts, forwarded ? INCLUDE_USAGE : undefined);
    // A spoke asked to report its cost puts it in the usage chunk: read there, kept from the client
    // (also a request the proxy checked itself, guardrails, and sent re-encoded).
    const cost: ReportedCost | undefined = costReportAsked(opts) ? {} : undefined;
    const reader = new ChunkReader(route, prompt, upstreamSignal(opts), key, cost);
    const result = new OpenAIStream(reader, reader.read(res), upstreamMeta(res));
    if (cost) result.reportedCost = cost;
    return result;
  }

  return {
    complete: (route, req, opts) => complete(route, req, JSON.stringify(upstreamBody(req, route, false, compatible)), opts),
    stream: (route, req, opts) => stream(route, req, JSON.stringify(upstreamBody(req, route, true, compatible)), opts),
    forward: (route, chat, opts) => complete(route, chat, chat.body, opts),
    forwardStream: (route, chat, opts) => stream(route, chat, chat.body, opts, true),
    embeddings: createOpenAIEmbeddings(provider, { upstream, baseUrl: (endpoint) => baseUrl(provider, endpoint), metaOf: upstreamMeta }),
  };
}

/** A stream's answer: its chunks and what the upstream said (assigned, not spread: a spread with a getter cost the hot path). */
class OpenAIStream implements OpenAIStreamResult {
  declare reportedCost?: ReportedCost;

  constructor(
    private readonly reader: ChunkReader,
    readonly chunks: AsyncIterable<ChatCompletionChunk>,
    meta: UpstreamMeta,
  ) {
    Object.assign(this, meta);
  }

  get droppedEvents(): number {
    return this.reader.dropped;
  }
}

/** Reads the upstream SSE body into checked chunks, ending with exactly one usage chunk. */
class ChunkReader {
  dropped = 0;
  private finishSeen = false;
  private usage: ChatCompletionChunk | undefined;
  private last: ChatCompletionChunk | undefined;
  private answerChars = 0;

  constructor(
    private readonly route: Route,
    private readonly prompt: Prompt,
    private readonly signal: UpstreamSignal,
    private readonly secret: string | undefined,
    /** Filled with the cost a spoke reports in its usage chunk. */
    private readonly cost?: ReportedCost,
  ) {}

  async *read(res: UpstreamResponse): AsyncGenerator<ChatCompletionChunk> {
    let done = false;
    let drained = false;
    try {
      for await (const event of sseUntil(res.body, isDone)) {
        // Events already buffered must not reach a caller that gave up.
        if (this.signal.aborted) throw this.signal.reason ?? new Error('aborted');
        if (event.data === '[DONE]') {
          done = true; // the rest of the body is read apart (sseUntil)
          yield this.usageChunk();
          return;
        }
        const chunk = this.accept(event.data);
        if (chunk) yield chunk;
      }
      drained = true;
    } catch (err) {
      if (this.signal.aborted) throw this.signal.reason ?? err;
      throw classifyNetworkError(err, `${this.route.key}: stream broke`);
    } finally {
      // Early exit (consumer stopped, error): never leave the socket half-read in the pool.
      if (!drained && !done) res.body.destroy();
    }
    // A stream that ended without [DONE] is whole if the model had finished.
    if (!this.finishSeen) throw new ProviderError('transient', `${this.route.key}: stream ended before [DONE]`);
    yield this.usageChunk();
  }

  /** The chunk to pass on, or undefined when the event is dropped; throws on an error event. */
  private accept(data: string): ChatCompletionChunk | undefined {
    let doc: unknown;
    try {
      doc = JSON.parse(data);
    } catch {
      this.dropped++;
      return undefined;
    }
    if (isErrorEvent(doc)) throw withoutCredentials(classifyOpenAIStreamError(doc), this.secret);
    if (!isChunk(doc)) {
      this.dropped++;
      return undefined;
    }
    this.last = doc;
    let changed = false;
    if (doc.usage && this.cost) takeUsageCost(doc.usage as unknown as Record<string, unknown>, this.cost);
    if (doc.usage) {
      // Usage goes out once, last; servers that also put it on content chunks are tamed here.
      if (doc.choices.length === 0) {
        this.usage = doc;
        return undefined;
      }
      this.usage = { ...doc, choices: [] };
      doc.usage = null;
      changed = true;
    }
    if (doc.choices.length === 0) return undefined;
    for (const choice of doc.choices) {
      if (choice.finish_reason) this.finishSeen = true;
      this.answerChars += deltaChars(choice.delta);
    }
    // As it came: the client gets the upstream's own text unless someone changes the chunk.
    if (!changed) keepRawJson(doc, data);
    return doc;
  }

  private usageChunk(): ChatCompletionChunk {
    if (this.usage) {
      this.usage.usage = usageOrEstimate(this.usage.usage, this.prompt, this.answerChars);
      return this.usage;
    }
    const last = this.last;
    return {
      id: last?.id ?? `chatcmpl-${this.route.key}`,
      object: 'chat.completion.chunk',
      created: last?.created ?? Math.floor(Date.now() / 1000),
      model: last?.model ?? this.route.model,
      choices: [],
      usage: usageOrEstimate(undefined, this.prompt, this.answerChars),
    };
  }
}

const isDone = (e: SseEvent) => e.data === '[DONE]';

const completionsUrls = new WeakMap<EndpointConfig, string>();

/** The chat completions URL of an endpoint, made once per endpoint config. */
function completionsUrl(provider: ProviderConfig, endpoint: EndpointConfig): string {
  let url = completionsUrls.get(endpoint);
  if (url === undefined) completionsUrls.set(endpoint, (url = `${baseUrl(provider, endpoint)}/chat/completions`));
  return url;
}

/** `endpoint.url` as given when it ends in /v1 (OpenAI style), else with /v1 added. */
export function baseUrl(provider: ProviderConfig, endpoint: EndpointConfig): string {
  const url = endpoint.url?.replace(/\/+$/, '');
  if (!url) {
    if (provider.type === 'openai') return OPENAI_BASE_URL;
    throw new ProviderError('refused', `provider ${provider.id}: endpoint ${endpoint.region} has no url`);
  }
  return url.endsWith('/v1') ? url : `${url}/v1`;
}

/**
 * The client's request with the route's model. Streams always ask for usage (quotas need
 * it). Self-hosted servers get `max_tokens` and `system` (what they all understand) and
 * none of OpenAI's own storage metadata. Cache markers go only to targets that take them
 * (OpenAI caches by itself; a proxy's spokes do take them); `prompt_cache_key` to OpenAI
 * and to those. Built key by key, leaving out what is dropped: a spread plus keys set
 * undefined takes JSON.stringify off its fast path.
 */
function upstreamBody(chat: ChatRequest, route: Route, streaming: boolean, compatible: boolean): Record<string, unknown> {
  const markers = route.promptCache !== undefined;
  const req = markers ? chat : withoutCacheMarkers(chat);
  const model = route.model;
  const src = req as unknown as Record<string, unknown>;
  // Self-hosted servers know max_tokens: the completion cap goes there when it is the only one.
  const mapCap = compatible && req.max_completion_tokens != null && req.max_tokens == null;
  const body: Record<string, unknown> = {};
  for (const k in src) {
    if (k === 'stream' || k === 'stream_options') continue;
    if (compatible && (k === 'store' || k === 'metadata' || k === 'user' || k === 'safety_identifier' || (k === 'prompt_cache_key' && !markers))) continue;
    if (mapCap && k === 'max_completion_tokens') continue;
    body[k] = src[k];
  }
  body.model = model;
  if (mapCap) body.max_tokens = req.max_completion_tokens;
  if (streaming) {
    body.stream = true;
    body.stream_options = { ...req.stream_options, include_usage: true };
  }
  if (compatible && req.messages.some((m) => m.role === 'developer')) {
    body.messages = req.messages.map((m) => (m.role === 'developer' ? { ...m, role: 'system' } : m));
  }
  return body;
}

function upstreamMeta(res: { headers: UpstreamHeaders }): UpstreamMeta {
  const meta: UpstreamMeta = {};
  const rateLimit = parseOpenAIRateLimit(res.headers);
  if (rateLimit) meta.rateLimit = rateLimit;
  // The upstream may itself be a gateway (a spoke): keep what it says about its own answer.
  return withHopMeta(res.headers, meta);
}

function parseCompletion(text: string, route: Route): ChatCompletion {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(route, `not JSON: ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  const d = doc as Partial<ChatCompletion> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw invalid(route, 'not a JSON object');
  if (d.object !== undefined && d.object !== 'chat.completion') throw invalid(route, `object is ${JSON.stringify(d.object)}`);
  if (!Array.isArray(d.choices) || d.choices.length === 0) throw invalid(route, 'no choices');
  if (d.choices.some((c) => typeof c?.message !== 'object' || c.message === null)) throw invalid(route, 'a choice has no message');
  return d as ChatCompletion;
}

function invalid(route: Route, detail: string): ProviderError {
  return new ProviderError('transient', `${route.key}: upstream answered with an invalid completion: ${detail}`);
}

function isErrorEvent(doc: unknown): boolean {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as { error?: unknown; object?: unknown };
  return (d.error !== undefined && d.error !== null) || d.object === 'error';
}

function isChunk(doc: unknown): doc is ChatCompletionChunk {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as Partial<ChatCompletionChunk>;
  if (d.object !== 'chat.completion.chunk' || !Array.isArray(d.choices)) return false;
  return d.choices.every((c) => typeof c === 'object' && c !== null && typeof c.delta === 'object' && c.delta !== null);
}

function deltaChars(delta: ChatCompletionChunk['choices'][number]['delta']): number {
  let n = delta.content?.length ?? 0;
  for (const call of delta.tool_calls ?? []) n += (call.function?.name?.length ?? 0) + (call.function?.arguments?.length ?? 0);
  return n;
}

function completionChars(c: ChatCompletion): number {
  let n = 0;
  for (const choice of c.choices) {
    n += choice.message.content?.length ?? 0;
    for (const call of choice.message.tool_calls ?? []) n += call.function.name.length + call.function.arguments.length;
  }
  return n;
}

function isWholeUsage(usage: Usage | null | undefined): usage is Usage {
  return !!usage && Number.isFinite(usage.prompt_tokens) && Number.isFinite(usage.completion_tokens) && Number.isFinite(usage.total_tokens);
}

/** The server's usage when it sent a whole one, else an estimate, so usage is never missing. */
function usageOrEstimate(usage: Usage | null | undefined, prompt: Prompt, answerChars: number): Usage {
  if (usage && Number.isFinite(usage.prompt_tokens) && Number.isFinite(usage.completion_tokens)) {
    if (!Number.isFinite(usage.total_tokens)) usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    return usage;
  }
  return estimatedUsage(prompt, answerChars);
}
