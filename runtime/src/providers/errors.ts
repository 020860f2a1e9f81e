/**
 * Every upstream failure becomes a ProviderError with one failure class; each class has
 * its own answer in the failover rules (ARCHITECTURE.md). Classifiers live with their
 * adapters; nothing else looks at provider status codes.
 */

export type FailureClass =
  /** 429, ThrottlingException, remaining 0: cool the account+model down, go elsewhere. */
  | 'throttled'
  /** insufficient_quota, ServiceQuotaExceededException: park the account+model for long. */
  | 'quota_exhausted'
  /** 5xx, 529, ModelNotReady, reset/refused, garbage from upstream: go elsewhere, maybe one quick retry. */
  | 'transient'
  /** No headers within the first-byte timeout or no chunk within the idle timeout. */
  | 'silent'
  /** context_length_exceeded: never this model again; a larger fallback or a 400. */
  | 'context_length'
  /** Content filter, validation, auth to the provider: no retry, no fallback. */
  | 'refused';

export interface ProviderErrorInit {
  status?: number;
  /** The provider's own error code or exception name, when it gave one. */
  code?: string;
  /** From Retry-After / retry-after-ms / rate-limit reset headers. */
  retryAfterMs?: number;
  /** The client parameter at fault (refused requests). */
  param?: string;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly failure: FailureClass;
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;
  readonly param?: string;

  constructor(failure: FailureClass, message: string, init: ProviderErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.failure = failure;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
    this.param = init.param;
  }

  /** Whether another attempt (same or other route) may succeed. */
  get retryable(): boolean {
    return this.failure !== 'refused' && this.failure !== 'context_length';
  }
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
