/**
 * Bedrock failures (AWS SDK v3 exceptions, in-stream exceptions, network errors) to one
 * FailureClass each. Exception names decide first: ModelNotReadyException is a 429 that
 * is not throttling.
 */
import type { FailureClass } from '../../core/attempt';
import { classifyNetworkError, ProviderError } from '../errors';
import { parseRetryAfter } from '../rate-limit-headers';

const CLASS_BY_NAME: Readonly<Record<string, FailureClass>> = {
  ThrottlingException: 'throttled',
  ServiceQuotaExceededException: 'quota_exhausted',
  ModelNotReadyException: 'transient',
  InternalServerException: 'transient',
  ServiceUnavailableException: 'transient',
  ModelErrorException: 'transient',
  ModelStreamErrorException: 'transient',
  ModelTimeoutException: 'transient',
  ValidationException: 'refused',
  AccessDeniedException: 'refused',
  ResourceNotFoundException: 'refused',
  // Signing and credential problems (SigV4 or API key) are the gateway's, not the client's; no retry helps.
  UnrecognizedClientException: 'refused',
  InvalidSignatureException: 'refused',
  MissingAuthenticationTokenException: 'refused',
  ExpiredTokenException: 'refused',
};

/** The status Bedrock uses for each exception, for in-stream ones that carry no HTTP status. */
const STATUS_BY_NAME: Readonly<Record<string, number>> = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

/** How Bedrock (and the models behind it) say that the prompt does not fit. */
const CONTEXT_TOO_LONG =
  /input is too long|too long for (the )?(requested )?model|prompt is too long|context (window|length)|maximum context|too many (input )?tokens|exceeds? the model'?s? (maximum )?(input|context)/i;

/** Socket-level failures: the request may never have reached Bedrock. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  cause?: { code?: string };
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

export function classifyBedrockError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e: SdkErrorShape = typeof err === 'object' && err !== null ? err : { message: String(err) };
  const name = e.name ?? 'Error';
  const code = e.code ?? e.cause?.code;
  if (code && NETWORK_CODES.has(code)) return classifyNetworkError(err, 'Bedrock');
  const raw = e.message || name;
  // The SDK appends a hint about `$response` to answers it could not parse; the hint helps nobody here.
  const message = raw.replace(/\s*Deserialization error:[\s\S]*$/, '');
  const unparseable = message !== raw || name === 'SyntaxError';

  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode ?? STATUS_BY_NAME[name];
  const retryAfterMs = e.$response?.headers ? parseRetryAfter(e.$response.headers) : undefined;
  const init = { status, code: unparseable ? 'unparseable' : name, cause: err, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };

  let failure = unparseable ? 'transient' : (CLASS_BY_NAME[name] ?? classByStatus(status));
  if (failure === 'refused' && name === 'ValidationException' && CONTEXT_TOO_LONG.test(message)) failure = 'context_length';
  // Refusals go back to the client: the provider's own words, nothing added.
  if (failure === 'refused' || failure === 'context_length') return new ProviderError(failure, message, init);
  return new ProviderError(failure, `Bedrock ${name}: ${message}`, init);
}

/**
 * Unknown exception names fall back on the status. No status at all means the answer never
 * parsed (garbage, a proxy's HTML page, a cut stream) or the connection failed: transient.
 */
function classByStatus(status: number | undefined): FailureClass {
  if (status === undefined) return 'transient';
  if (status === 429) return 'throttled';
  if (status === 408 || status >= 500) return 'transient';
  if (status >= 400) return 'refused';
  // A 2xx or 3xx that still failed: the body was not what Converse promises.
  return 'transient';
}
