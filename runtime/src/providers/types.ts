/**
 * The one interface every provider kind implements. Requests come in the OpenAI chat
 * shape and answers go out as OpenAI completions or chunks; a provider's wire format
 * never leaves its adapter (and its translator under providers/translate/).
 */
import type { AnswerBody } from '../core/answer-body';
import type { ChatRequest } from '../core/chat-request';
import type { EmbeddingsCall, EmbeddingVector, ForwardedEmbeddings } from '../core/embeddings';
import type { ForwardedChat } from '../core/forwarded-chat';
import type { ChatCompletion, ChatCompletionChunk } from '../core/openai-types';
import type { AccountConfig, EndpointConfig, ProviderConfig } from '../config/schema';
import { CancelSource } from '../core/cancellation';
import type { ProviderError } from './errors';
import type { RateLimitInfo } from '../core/rate-limit';
import type { Affinity, PromptCacheRoute } from '../core/prompt-cache';

/** One place a request can be sent: provider + account + regional endpoint + model. */
export interface Route {
  /** `provider/account/region/model`: what `x-gateway-route` reports. */
  readonly key: string;
  readonly provider: ProviderConfig;
  readonly account: AccountConfig;
  readonly endpoint: EndpointConfig;
  /** The provider's model id. */
  readonly model: string;
  /** The model name the client asked for. */
  readonly logicalModel: string;
  /** The target's `structuredOutput` override (Bedrock and Anthropic), when set. */
  readonly structuredOutput?: 'native' | 'tool';
  /** What the target does with cache markers (providers/prompt-cache-support.ts); absent: they are dropped. */
  readonly promptCache?: PromptCacheRoute;
  /** `targets[].promptCache: false`: the target refuses cache markers, also in a native Messages body. */
  readonly cacheMarkersOff?: true;
}

export interface CallOptions {
  /** Aborts the upstream call: the client left, the deadline passed or a timeout fired. */
  readonly signal: AbortSignal;
  /**
   * The same cancellation as `signal`, cheaper: the gateway passes the attempt's own and
   * makes `signal` only when an adapter reads it. Adapters over undici use this one.
   */
  readonly cancel?: CancelSource;
  readonly requestId: string;
  /** Headers to propagate upstream (trace context). */
  readonly forwardHeaders?: Readonly<Record<string, string>>;
  /** TCP/TLS connect timeout for this attempt (models[].timeouts.connectMs). */
  readonly connectTimeoutMs?: number;
  /** A retry after a transient failure: a new connection, not a pooled one that may have failed too. */
  readonly freshConnection?: boolean;
}

/** What an upstream gateway (a spoke) said its answer cost; a stream's is known at its end. */
export interface ReportedCost {
  usd?: number;
}

export interface UpstreamMeta {
  rateLimit?: RateLimitInfo;
  /** When the upstream is itself a gateway that reports costs (a spoke asked to). */
  reportedCost?: ReportedCost;
  /** When the upstream is itself a gateway (a spoke), the route it reported. */
  upstreamRoute?: string;
  /** Attempts the upstream gateway made, when it reported them. */
  upstreamAttempts?: number;
  /** What the upstream gateway (a spoke) did with the request's session. */
  upstreamAffinity?: Affinity;
}

/** What the gateway left out for this target or did on the way, for the request's log line. */
export interface Notes {
  notes?: string[];
}

export interface CompletionResult extends UpstreamMeta, Notes {
  completion: ChatCompletion;
  /**
   * The completion's JSON text as the upstream sent it, when `completion` is exactly
   * that (OpenAI-compatible servers): sent to the client without encoding it again.
   */
  body?: string;
}

/**
 * A started stream. `stream()` resolves only once the upstream accepted the request
 * (status and headers seen), so errors before the first byte are ordinary rejections.
 * The chunks end with one usage chunk (`choices: []`, `usage` set), always.
 */
export interface StreamResult extends UpstreamMeta, Notes {
  chunks: AsyncIterable<ChatCompletionChunk>;
}

/** What one provider call of an embeddings batch answered: its vectors, or (a `whole` call) the client's answer itself. */
export interface EmbeddingsResult extends UpstreamMeta {
  /** One per input of the call, in its order; absent only when `body` is given. */
  vectors?: EmbeddingVector[];
  promptTokens: number;
  /** The provider model that answered. */
  model: string;
  /**
   * For a call marked `whole`: the answer's JSON as the upstream sent it, when it is
   * exactly the client's answer in the encoding the client asked for (an OpenAI-style
   * server): sent on as it came, its vectors neither decoded nor encoded again.
   */
  body?: AnswerBody;
}

/** The answer of a spoke to a forwarded embeddings request: its body as it came, and its usage. */
export interface ForwardedEmbeddingsResult extends UpstreamMeta {
  body: AnswerBody;
  promptTokens: number | undefined;
  /** How many batches the spoke split the request into, when it said. */
  upstreamBatches?: number;
}

/** The embeddings side of a provider kind that has one. */
export interface EmbeddingsAdapter {
  /** Most inputs one call of this route takes (the request is split into batches of at most this many). */
  batchLimit(route: Route): number;
  /**
   * Why this route cannot serve the request at all (token ids to a target that takes only
   * text, a dimension the model does not have), a `refused` ProviderError naming the
   * parameter; undefined when it can. Checked before anything is sent.
   */
  refusal(route: Route, call: EmbeddingsCall): ProviderError | undefined;
  embed(route: Route, call: EmbeddingsCall, opts: CallOptions): Promise<EmbeddingsResult>;
  /** The client's JSON sent as it came, for upstreams that validate it (the proxy's spokes). */
  forward?(route: Route, request: ForwardedEmbeddings, opts: CallOptions): Promise<ForwardedEmbeddingsResult>;
}

export interface ProviderAdapter {
  /** Embeddings, for the kinds that serve them (`models[].api: embeddings`). */
  readonly embeddings?: EmbeddingsAdapter;
  complete(route: Route, req: ChatRequest, opts: CallOptions): Promise<CompletionResult>;
  stream(route: Route, req: ChatRequest, opts: CallOptions): Promise<StreamResult>;
  /**
   * `complete` and `stream` with the client's JSON sent as it came, for adapters whose
   * upstream validates it (the proxy's spokes: api/forwarded-chat.ts).
   */
  forward?(route: Route, chat: ForwardedChat, opts: CallOptions): Promise<CompletionResult>;
  forwardStream?(route: Route, chat: ForwardedChat, opts: CallOptions): Promise<StreamResult>;
  /** Whether the target continues a trailing assistant message (prefill) rather than answering anew. */
  supportsPrefill?(route: Route): boolean;
  /** Releases pooled connections and clients. */
  close?(): Promise<void>;
}

export function routeKey(providerId: string, accountId: string, region: string, model: string): string {
  return `${providerId}/${accountId}/${region}/${model}`;
}

/** `provider/account/region`: what active health checks and connection pools are keyed by. */
export function endpointKey(route: Route): string {
  return `${route.provider.id}/${route.account.id}/${route.endpoint.region}`;
}

/** What undici takes as a request's signal: the attempt's cancellation when given. */
export type UpstreamSignal = AbortSignal | CancelSource;

export function upstreamSignal(opts: CallOptions): UpstreamSignal {
  return opts.cancel ?? opts.signal;
}

/** Calls `listener` once when `signal` aborts (at once if it has); returns the unsubscribe. */
export function onUpstreamAbort(signal: UpstreamSignal, listener: (reason: unknown) => void): () => void {
  if (signal instanceof CancelSource) return signal.onAbort(listener);
  if (signal.aborted) {
    listener(signal.reason);
    return () => undefined;
  }
  const fire = () => listener(signal.reason);
  signal.addEventListener('abort', fire, { once: true });
  return () => signal.removeEventListener('abort', fire);
}
