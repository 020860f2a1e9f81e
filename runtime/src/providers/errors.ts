/**
 * Every upstream failure becomes a ProviderError with one failure class; each class has
 * its own answer in the failover rules (ARCHITECTURE.md). Classifiers live with their
 * adapters; nothing else looks at provider status codes.
 */
import type { FailureClass } from '../core/attempt';
import type { Usage } from '../core/openai-types';
import type { RateLimitInfo } from '../core/rate-limit';

export interface ProviderErrorInit {
  status?: number;
  /** The provider's own error code or exception name, when it gave one. */
  code?: string;
  /** From Retry-After / retry-after-ms / rate-limit reset headers. */
  retryAfterMs?: number;
  /** The client parameter at fault (refused requests). */
  param?: string;
  /** What the rate-limit headers of a 429 said: with tokens left, the refusal was of this request's size. */
  rateLimit?: RateLimitInfo;
  /** Tokens the provider spent on an answer that was then rejected (invalid_output): still counted against the route's quota. */
  usedTokens?: number;
  /** The usage of that rejected answer, when it reported one: what it cost. */
  usage?: Usage;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly failure: FailureClass;
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  readonly param?: string;
  readonly rateLimit?: RateLimitInfo;
  readonly usedTokens?: number;
  readonly usage?: Usage;

  constructor(failure: FailureClass, message: string, init: ProviderErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.failure = failure;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
    this.param = init.param;
    this.rateLimit = init.rateLimit;
    this.usedTokens = init.usedTokens;
    this.usage = init.usage;
  }

  /** Whether another attempt (same or other route) may succeed. */
  get retryable(): boolean {
    return this.failure !== 'refused' && this.failure !== 'context_length';
  }
}

/** The code of a gateway's own error event in a stream: from a spoke, its message already says what broke, and goes on as it is. */
export const STREAM_INTERRUPTED = 'stream_interrupted';

/** What a client's stream error event says of `err`, in either API: a spoke's own words once, else the failure class and what broke. */
export function brokenStreamMessage(err: unknown): string {
  if (!isProviderError(err)) return `The stream failed: ${(err as Error)?.message ?? String(err)}`;
  return err.code === STREAM_INTERRUPTED ? err.message : `The upstream stream failed (${err.failure}): ${err.message}`;
}

/**
 * A classified upstream failure, as every classifier words it. A verdict on the request
 * itself (refused, context_length) keeps the upstream's own words, since the client gets it
 * as it was said (api/failure-response.ts); any other failure is prefixed with `label` for
 * the attempt listing.
 */
export function upstreamFailure(failure: FailureClass, label: string, message: string, init: ProviderErrorInit): ProviderError {
  const verdict = failure === 'refused' || failure === 'context_length';
  return new ProviderError(failure, verdict ? message : `${label}: ${message}`, init);
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}

/** Network-level failures (reset, refused, DNS, TLS) are transient on every provider. */
export function classifyNetworkError(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code ?? e?.name ?? 'ERROR';
  const detail = e?.cause?.message ?? e?.message ?? String(err);
  return new ProviderError('transient', `${what}: ${code}: ${detail}`, { code, cause: err });
}
