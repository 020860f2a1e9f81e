/** Reading what providers say about their limits: Retry-After and rate-limit headers. */
import type { RateLimitInfo } from '../core/rate-limit';

type Headers = Record<string, string | string[] | undefined>;

function first(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Go-style durations as OpenAI sends them: `12ms`, `1s`, `6m0s`, `2m59.56s`, `1h2m`. */
export function parseGoDuration(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of v.matchAll(re)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    consumed += m[0].length;
  }
  return consumed === v.trim().length && consumed > 0 ? Math.round(total) : undefined;
}

/** `retry-after-ms` (float ms), then `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(h: Headers, now = Date.now()): number | undefined {
  const ms = num(first(h, 'retry-after-ms'));
  if (ms !== undefined && ms >= 0) return Math.ceil(ms);
  const ra = first(h, 'retry-after');
  if (ra === undefined) return undefined;
  const secs = num(ra);
  if (secs !== undefined) return secs >= 0 ? Math.ceil(secs * 1000) : undefined;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function parseOpenAIRateLimit(h: Headers): RateLimitInfo | undefined {
  const info: RateLimitInfo = {
    limitRequests: num(first(h, 'x-ratelimit-limit-requests')),
    remainingRequests: num(first(h, 'x-ratelimit-remaining-requests')),
    resetRequestsMs: parseGoDuration(first(h, 'x-ratelimit-reset-requests')),
    limitTokens: num(first(h, 'x-ratelimit-limit-tokens')),
    remainingTokens: num(first(h, 'x-ratelimit-remaining-tokens')),
    resetTokensMs: parseGoDuration(first(h, 'x-ratelimit-reset-tokens')),
  };
  return compact(info);
}

/** Anthropic resets are RFC 3339 timestamps. */
export function parseAnthropicRateLimit(h: Headers, now = Date.now()): RateLimitInfo | undefined {
  const reset = (name: string) => {
    const v = first(h, name);
    const at = v ? Date.parse(v) : NaN;
    return Number.isNaN(at) ? undefined : Math.max(0, at - now);
  };
  return compact({
    limitRequests: num(first(h, 'anthropic-ratelimit-requests-limit')),
    remainingRequests: num(first(h, 'anthropic-ratelimit-requests-remaining')),
    resetRequestsMs: reset('anthropic-ratelimit-requests-reset'),
    limitTokens: num(first(h, 'anthropic-ratelimit-tokens-limit')),
    remainingTokens: num(first(h, 'anthropic-ratelimit-tokens-remaining')),
    resetTokensMs: reset('anthropic-ratelimit-tokens-reset'),
  });
}

/** Undefined when the provider said nothing (the usual case for self-hosted servers). */
function compact(info: RateLimitInfo): RateLimitInfo | undefined {
  for (const k in info) if (info[k as keyof RateLimitInfo] !== undefined) return info;
  return undefined;
}
