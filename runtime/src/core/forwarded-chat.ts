/**
 * A chat request the proxy forwards as the client sent it, for its spoke to validate.
 * Only the fields the proxy acts on were checked (api/forwarded-chat.ts): it is not a
 * ChatRequest, and nothing else of it may be read as one.
 */
export interface ForwardedChat {
  readonly forwarded: true;
  /** The client's JSON, as it came. */
  readonly body: string;
  readonly model: string;
  readonly stream: boolean;
  /** `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** The output cap the client asked for, whichever field it used. */
  readonly maxOutputTokens: number | undefined;
  /** The thinking budget its `reasoning_effort` may add to the output on a Claude target (absent: none). */
  readonly thinkingTokens?: number;
  /** The body's `messages`, unchecked: for content logging and the session's prefix hash only. */
  readonly messages: unknown;
  /** The body's `tools`, unchecked: for the session's prefix hash only. */
  readonly tools?: unknown;
  /** `prompt_cache_key`: names the session (session affinity). */
  readonly promptCacheKey?: string;
  /** Its image URLs: their characters in the body and the tokens the images are estimated at (absent: none). */
  readonly images?: { readonly chars: number; readonly tokens: number };
  /** A stream whose answer the spoke holds until it validated it (`response_format` strict): it arrives at once, at the end. */
  readonly heldStream?: boolean;
}
