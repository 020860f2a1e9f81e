/**
 * Turns what an OpenAI-style server (OpenAI, DeepSeek, vLLM, Ollama) says when it fails
 * into one ProviderError with a failure class. Nothing else looks at their status codes.
 */
import type { FailureClass } from '../../core/attempt';
import { ProviderError, STREAM_INTERRUPTED, upstreamFailure } from '../errors';
import type { RateLimitInfo } from '../../core/rate-limit';
import { parseGoDuration, parseOpenAIRateLimit, parseRetryAfter } from '../rate-limit-headers';

type Headers = Record<string, string | string[] | undefined>;

/** The fields every OpenAI-style error body carries, whichever server wrote it. */
interface UpstreamError {
  message?: string;
  type?: string;
  /** OpenAI: a string such as `rate_limit_exceeded`; vLLM: the HTTP status as an integer. */
  code?: string | number;
  param?: string;
}

const CONTEXT_LENGTH_CODES = new Set(['context_length_exceeded', 'string_above_max_length']);
const CONTENT_FILTER_CODES = new Set(['content_filter', 'content_policy_violation']);
/** How OpenAI, vLLM and DeepSeek word it when the prompt does not fit the model. */
const CONTEXT_LENGTH_TEXT = /maximum context length|context length exceeded|context window|prompt is too long/i;
const QUOTA_TEXT = /exceeded your current quota|insufficient (?:quota|balance)/i;
const SNIPPET_CHARS = 200;

/**
 * `status` and `headers` of the upstream answer, `bodyText` its body. Messages quote the
 * upstream; the caller keeps credentials out of them (providers/upstream-call.ts).
 */
export function classifyOpenAIError(status: number, bodyText: string, headers: Headers = {}): ProviderError {
  const parsed = parseErrorBody(bodyText);
  const fromHeaders = parseRetryAfter(headers) ?? resetOfExhaustedLimit(headers);
  const rateLimit = status === 429 ? parseOpenAIRateLimit(headers) : undefined;
  if (!parsed) return classifyUnreadable(status, bodyText, fromHeaders, rateLimit);
  return classifyParsed(status, parsed, fromHeaders ?? retryAfterFromText(parsed.message ?? ''), undefined, rateLimit);
}

/**
 * An error object inside a 200 stream (vLLM `data: {"error":{...}}`, or its older
 * top-level `{"object":"error",...}`). vLLM's integer `code` is the HTTP status it meant.
 */
export function classifyOpenAIStreamError(payload: unknown): ProviderError {
  const err = errorFields(payload) ?? { message: 'upstream sent an error event without details' };
  const status = typeof err.code === 'number' && err.code >= 400 && err.code < 600 ? err.code : 500;
  return classifyParsed(status, err, retryAfterFromText(err.message ?? ''), 'in stream');
}

function classifyParsed(status: number, err: UpstreamError, retryAfterMs: number | undefined, where = `${status}`, rateLimit?: RateLimitInfo): ProviderError {
  // vLLM's integer code only repeats the status; the string codes are OpenAI's verdicts.
  const code = typeof err.code === 'string' ? err.code : undefined;
  const type = typeof err.type === 'string' ? err.type : undefined;
  const message = err.message || `upstream answered ${status} without a message`;
  const init = { status, code: code ?? type, param: typeof err.param === 'string' ? err.param : undefined, retryAfterMs, rateLimit };
  const failed = (f: FailureClass, label: string) => upstreamFailure(f, `${label} (${where}${init.code ? ` ${init.code}` : ''})`, message, init);

  // A spoke's stream that broke: its words, not wrapped in ours once more.
  if (code === STREAM_INTERRUPTED && where === 'in stream') return new ProviderError('transient', message, init);
  // A spoke whose every route answered outside the strict schema: the next spoke may do better.
  if (code === 'invalid_structured_output') return new ProviderError('invalid_output', message, init);
  if (code === 'insufficient_quota' || type === 'insufficient_quota' || status === 402 || (status === 429 && QUOTA_TEXT.test(message))) {
    return failed('quota_exhausted', 'provider quota exhausted');
  }
  if (status === 429 || code === 'rate_limit_exceeded') {
    return failed('throttled', 'throttled by provider');
  }
  if ((code && CONTEXT_LENGTH_CODES.has(code)) || (status < 500 && CONTEXT_LENGTH_TEXT.test(message))) {
    return failed('context_length', 'context length exceeded');
  }
  if ((code && CONTENT_FILTER_CODES.has(code)) || (type && CONTENT_FILTER_CODES.has(type))) {
    return failed('refused', 'filtered by provider');
  }
  if (status >= 500 || status === 408) return failed('transient', 'upstream error');
  if (status >= 400) return failed('refused', 'refused by provider');
  return failed('transient', 'unexpected upstream answer');
}

/** A body that is not an OpenAI error (HTML from a proxy, plain text, nothing). */
function classifyUnreadable(status: number, bodyText: string, retryAfterMs: number | undefined, rateLimit: RateLimitInfo | undefined): ProviderError {
  const kind = isJson(bodyText) ? 'an unrecognised JSON' : 'a non-JSON';
  const snippet = bodyText.trim() === '' ? 'an empty body' : `${kind} body: ${snippetOf(bodyText)}`;
  const init = { status, retryAfterMs, rateLimit };
  // The status alone is the verdict for these, whatever the body says.
  if (status === 429) return new ProviderError('throttled', `throttled by provider (429) with ${snippet}`, init);
  if (status === 402) return new ProviderError('quota_exhausted', `provider quota exhausted (402) with ${snippet}`, init);
  if (status >= 400 && status < 500 && status !== 408) {
    return new ProviderError('refused', `upstream answered ${status} with ${snippet}`, init);
  }
  return new ProviderError('transient', `upstream answered ${status} with ${snippet}`, init);
}

function parseErrorBody(text: string): UpstreamError | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return errorFields(JSON.parse(trimmed));
  } catch {
    return undefined;
  }
}

/** `{"error":{...}}` (OpenAI, new vLLM, DeepSeek), `{"error":"..."}` (Ollama native), `{"object":"error",...}` (old vLLM). */
function errorFields(doc: unknown): UpstreamError | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  if (typeof d.error === 'string') return { message: d.error };
  const e = (typeof d.error === 'object' && d.error !== null ? d.error : d.object === 'error' ? d : undefined) as Record<string, unknown> | undefined;
  if (!e) {
    // FastAPI (vLLM's server) answers unknown routes with {"detail": "..."}.
    const text = typeof d.message === 'string' ? d.message : typeof d.detail === 'string' ? d.detail : undefined;
    return text === undefined ? undefined : { message: text };
  }
  return {
    message: typeof e.message === 'string' ? e.message : undefined,
    type: typeof e.type === 'string' ? e.type : undefined,
    code: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
    param: typeof e.param === 'string' ? e.param : undefined,
  };
}

/** When no Retry-After came: the reset of whichever limit is at 0 (the longest, to be safe). */
function resetOfExhaustedLimit(h: Headers): number | undefined {
  const value = (name: string) => {
    const v = h[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const limits = ['requests', 'tokens'].map((kind) => ({
    exhausted: value(`x-ratelimit-remaining-${kind}`)?.trim() === '0',
    resetMs: parseGoDuration(value(`x-ratelimit-reset-${kind}`)),
  }));
  const known = limits.filter((l) => l.resetMs !== undefined);
  const pick = known.some((l) => l.exhausted) ? known.filter((l) => l.exhausted) : known;
  return pick.length === 0 ? undefined : Math.max(...pick.map((l) => l.resetMs!));
}

/** OpenAI's messages say "Please try again in 20s" / "in 120ms"; used when headers are absent. */
function retryAfterFromText(message: string): number | undefined {
  const m = /try again in (\d+(?:\.\d+)?)(ms|s)\b/i.exec(message);
  if (!m) return undefined;
  return Math.ceil(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function snippetOf(text: string): string {
  const flat = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return JSON.stringify(flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}...` : flat);
}
