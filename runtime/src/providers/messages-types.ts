/**
 * The Anthropic Messages API as targets serve it. Claude targets (the Anthropic API,
 * Claude on Bedrock, a spoke gateway) take it natively through their adapter's
 * `messages`; every other route is served through its OpenAI-shaped adapter and the
 * translators (providers/translated-messages.ts). Answers and events keep Anthropic's
 * shapes either way.
 */
import type { AnthropicVersion, CountTokensRequest, MessagesRequest } from '../core/messages-request';
import type { AnthropicMessage } from './translate/openai-anthropic';
import type { CallOptions, Notes, ProviderAdapter, Route, UpstreamMeta } from './types';

/** A request the proxy hands its spokes as the client sent it (only model, stream and max_tokens were read). */
export interface ForwardedMessages {
  readonly forwarded: true;
  /** The client's JSON, as it came. */
  readonly body: string;
  readonly model: string;
  readonly stream: boolean;
  readonly maxTokens: number | undefined;
}

/** What a target is asked: the body, and the client's API version and beta flags. */
export interface MessagesCall<R = MessagesRequest> {
  readonly request: R | ForwardedMessages;
  readonly version: AnthropicVersion;
  readonly betas: readonly string[];
}

export type CountTokensCall = MessagesCall<CountTokensRequest>;

/** One event of an Anthropic message stream (`message_start`, `content_block_delta` ...). */
export interface MessagesEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** The upstream's own JSON text of `data`: sent to the client as it is. */
  readonly raw?: string;
}

export interface MessageResult extends UpstreamMeta, Notes {
  message: AnthropicMessage;
  /** The answer's JSON text as the upstream sent it, when `message` is exactly that. */
  body?: string;
}

/**
 * A started stream of events (resolves once the upstream accepted the request). An
 * `error` event or a break is thrown as a ProviderError; the events end after
 * `message_stop`, or after the `message_delta` with the stop reason when that is missing.
 */
export interface MessagesStreamResult extends UpstreamMeta, Notes {
  chunks: AsyncIterable<MessagesEvent>;
}

export interface TokenCount extends UpstreamMeta {
  inputTokens: number;
  /** Counted by the provider, or (a spoke that had no counter) estimated. */
  source: 'provider' | 'estimate';
}

/** An adapter's native Messages API. */
export interface MessagesApi {
  /** Whether this route takes the Messages API natively (Claude on Bedrock yes, Nova no). */
  serves(route: Route): boolean;
  create(route: Route, call: MessagesCall, opts: CallOptions): Promise<MessageResult>;
  stream(route: Route, call: MessagesCall, opts: CallOptions): Promise<MessagesStreamResult>;
  /** The provider's own token counter (translated targets have none: the gateway estimates). */
  countTokens?(route: Route, call: CountTokensCall, opts: CallOptions): Promise<TokenCount>;
  /** Whether the target continues a trailing assistant turn (prefill) rather than answering anew. */
  prefill(route: Route): boolean;
  /** Why its routes cannot take `request` (a part the target refuses), named; such a route is passed over for one that can. */
  cannotTake?(request: MessagesRequest): string | undefined;
}

export function isForwarded<R>(request: R | ForwardedMessages): request is ForwardedMessages {
  return (request as ForwardedMessages).forwarded === true;
}

/** An adapter that also serves the Messages API natively (its routes' `serves` says which). */
export interface MessagesCapable {
  readonly messages: MessagesApi;
}

/** The adapter's native Messages API, when it has one. */
export function messagesApiOf(adapter: ProviderAdapter): MessagesApi | undefined {
  return (adapter as Partial<MessagesCapable>).messages;
}
