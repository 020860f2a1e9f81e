/**
 * Turns what the Anthropic Messages API says when it fails (an HTTP error, or an `error`
 * event inside a 200 stream) into one ProviderError with a failure class.
 */
import type { FailureClass } from '../../core/attempt';
import { ProviderError, STREAM_INTERRUPTED, upstreamFailure } from '../errors';
import type { RateLimitInfo } from '../../core/rate-limit';
import { parseAnthropicRateLimit, parseOpenAIRateLimit, parseRetryAfter } from '../rate-limit-headers';

type Headers = Record<string, string | string[] | undefined>;

/** The `error` member of `{"type":"error","error":{"type","message"}}`. */
export interface AnthropicErrorDetail {
  type: string;
  message: string;
  /** A gateway's own code (`error.details.error_code`): what a spoke says beyond Anthropic's type. */
  errorCode?: string;
}

/** Gateway codes whose failure class is not the one their Anthropic type gives. */
const GATEWAY_CODE_FAILURES: Readonly<Record<string, FailureClass>> = {
  context_length_exceeded: 'context_length',
  invalid_structured_output: 'invalid_output',
};

/** How Anthropic words a prompt that does not fit: "prompt is too long: 208310 tokens > 200000 maximum". */
const CONTEXT_LENGTH_TEXT = /prompt is too long|exceed(?:s|ed)? (?:the )?context (?:limit|window)|context window|context length/i;
/** "Your credit balance is too low to access the Anthropic API": money, not this request. */
const CREDIT_TEXT = /credit balance is too low/i;
const MAX_MESSAGE_CHARS = 500;

/** `status`, `body` and `headers` of a non-2xx answer (the caller keeps credentials out of the message). */
export function classifyAnthropicError(status: number, body: string, headers: Headers = {}): ProviderError {
  return classifyAnswer(status, body, headers, false);
}

/**
 * A spoke gateway's error answer: Anthropic's shape with the gateway's code in
 * `error.details.error_code`, which becomes the error's code, so the proxy acts on it as on
 * chat (a spoke's `capacity_reserved` is no failure of its route) and passes it on.
 */
export function classifyGatewayHopError(status: number, body: string, headers: Headers = {}): ProviderError {
  return classifyAnswer(status, body, headers, true);
}

function classifyAnswer(status: number, body: string, headers: Headers, hop: boolean): ProviderError {
  const detail = parseErrorBody(body);
  const retryAfterMs = status === 429 ? (parseRetryAfter(headers) ?? resetOfExhaustedLimit(headers)) : undefined;
  // A spoke says its room left as it does on chat (OpenAI's headers), Anthropic in its own.
  const rateLimit = status !== 429 ? undefined : hop ? parseOpenAIRateLimit(headers) : parseAnthropicRateLimit(headers);
  const requestId = first(headers, 'request-id');
  if (!detail) {
    const what = body.trim() === '' ? 'an empty body' : 'a body that is not JSON';
    // The status alone says "rate limited"; any other unreadable answer is a broken hop on this route.
    if (status === 429) return new ProviderError('throttled', `Anthropic answered 429 with ${what}`, { status, retryAfterMs, rateLimit });
    return new ProviderError('transient', `Anthropic answered ${status} with ${what}${idNote(requestId)}`, { status });
  }
  return classifyAnthropicErrorType(detail, { status, retryAfterMs, rateLimit, requestId, hop });
}

/** An `event: error` inside a 200 stream: its data's `error` member. */
export function classifyAnthropicStreamError(error: unknown): ProviderError {
  const detail = errorDetailOf({ error }) ?? { type: 'api_error', message: 'stream error event without details' };
  // A spoke's stream that broke: its words, not wrapped in ours once more; its type still says how.
  if (detail.errorCode === STREAM_INTERRUPTED) return new ProviderError(failureOf(detail, undefined), detail.message, { status: statusOfType(detail.type), code: STREAM_INTERRUPTED });
  return classifyAnthropicErrorType(detail, {});
}

interface ClassifyContext {
  status?: number;
  retryAfterMs?: number;
  rateLimit?: RateLimitInfo;
  requestId?: string;
  /** The answer is a spoke gateway's: its own code (`detail.errorCode`) counts. */
  hop?: boolean;
}

export function classifyAnthropicErrorType(detail: AnthropicErrorDetail, ctx: ClassifyContext): ProviderError {
  const { status, retryAfterMs } = ctx;
  const said = detail.message || `no message (${detail.type})`;
  const gatewayCode = ctx.hop ? detail.errorCode : undefined;
  const failure = (gatewayCode !== undefined ? GATEWAY_CODE_FAILURES[gatewayCode] : undefined) ?? failureOf(detail, status);
  const where = status === undefined ? 'in stream' : String(status);
  const label = `${gatewayCode !== undefined ? 'Upstream gateway' : 'Anthropic'} ${gatewayCode ?? detail.type} (${where})`;
  const throttled = failure === 'throttled';
  const init = {
    status: status ?? statusOfType(detail.type),
    code: gatewayCode ?? detail.type,
    retryAfterMs: throttled ? retryAfterMs : undefined,
    rateLimit: throttled ? ctx.rateLimit : undefined,
  };
  // A spoke's refusal is its verdict on the client's request, worded for the client: it goes on
  // unchanged, as a spoke's chat refusal does (openai/classify.ts). Its request-id is ours.
  if (ctx.hop) return upstreamFailure(failure, label, said, init);
  return new ProviderError(failure, `${label}: ${clip(said)}${idNote(ctx.requestId)}`, init);
}

function failureOf(detail: AnthropicErrorDetail, status: number | undefined): FailureClass {
  switch (detail.type) {
    case 'rate_limit_error':
      return 'throttled';
    case 'overloaded_error':
    case 'api_error':
    case 'timeout_error':
      return 'transient';
    case 'billing_error':
      return 'quota_exhausted';
    case 'invalid_request_error':
      if (CONTEXT_LENGTH_TEXT.test(detail.message)) return 'context_length';
      if (CREDIT_TEXT.test(detail.message)) return 'quota_exhausted';
      return 'refused';
    case 'authentication_error':
    case 'permission_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'refused';
    default:
      // A type this was not written for: the status decides.
      if (status === undefined || status >= 500 || status === 408) return 'transient';
      if (status === 429) return 'throttled';
      return status >= 400 ? 'refused' : 'transient';
  }
}

/** The status Anthropic gives each error type, for errors that arrive inside a stream. */
function statusOfType(type: string): number | undefined {
  const statuses: Record<string, number> = {
    invalid_request_error: 400,
    authentication_error: 401,
    billing_error: 402,
    permission_error: 403,
    not_found_error: 404,
    request_too_large: 413,
    rate_limit_error: 429,
    api_error: 500,
    timeout_error: 504,
    overloaded_error: 529,
  };
  return statuses[type];
}

function parseErrorBody(text: string): AnthropicErrorDetail | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return errorDetailOf(JSON.parse(trimmed));
  } catch {
    return undefined;
  }
}

function errorDetailOf(doc: unknown): AnthropicErrorDetail | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const e = (doc as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { type, message, details } = e as { type?: unknown; message?: unknown; details?: unknown };
  const detail: AnthropicErrorDetail = { type: typeof type === 'string' ? type : 'unknown_error', message: typeof message === 'string' ? message : '' };
  const code = typeof details === 'object' && details !== null ? (details as { error_code?: unknown }).error_code : undefined;
  if (typeof code === 'string' && code !== '') detail.errorCode = code;
  return detail;
}

/** Without Retry-After: the reset of whichever limit is at 0 (the longest, to be safe). */
function resetOfExhaustedLimit(h: Headers): number | undefined {
  const info = parseAnthropicRateLimit(h);
  if (!info) return undefined;
  const resets: number[] = [];
  if (info.remainingRequests === 0 && info.resetRequestsMs !== undefined) resets.push(info.resetRequestsMs);
  if (info.remainingTokens === 0 && info.resetTokensMs !== undefined) resets.push(info.resetTokensMs);
  return resets.length > 0 ? Math.max(...resets) : undefined;
}

function first(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function idNote(requestId: string | undefined): string {
  // Anthropic support asks for the request id; it holds no secret.
  return requestId ? ` (request-id ${requestId})` : '';
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS)}...` : s;
}
