/** What the client is told when no route answered: each failure class has its status. */
import type { Role } from '../config/schema';
import type { DeadlinePassed } from '../core/cancellation';
import { INTERNAL_ERROR, PASSED_OVER, TOKENS_OVER_ROUTE_LIMIT, tooLargeMessage, type AttemptRecord } from '../core/attempt';
import type { AllRoutesFailed } from '../routing/executor';
import { scrubSecrets } from '../core/redact';
import { GatewayError, retryAfterSeconds } from '../core/gateway-error';
import { CAPACITY_RESERVED, type Priority } from '../core/priority';
import type { ProviderError } from '../providers/errors';

/**
 * The provider's verdict on the request goes back as it was said. Auth to the provider
 * and a provider model it does not know are the gateway's own configuration, so 502.
 */
function refusedStatus(status: number | undefined): 400 | 413 | 502 {
  if (status === 401 || status === 403 || status === 404) return 502;
  return status === 413 ? 413 : 400;
}

/** Whether `e` is the upstream's verdict that the client's request is wrong: the client gets it as it was said (400, 413). */
export function refusesRequest(e: ProviderError): boolean {
  return e.failure === 'context_length' || (e.failure === 'refused' && refusedStatus(e.status) !== 502);
}

/** The client went away before an answer: nobody reads this, but logs and metrics do (nginx's 499). */
export function clientClosed(): GatewayError {
  return new GatewayError(499 as 400, 'invalid_request_error', 'The client closed the request before the answer.', 'client_closed');
}

export function deadlineExceeded(passed: DeadlinePassed): GatewayError {
  return new GatewayError(504, 'timeout_error', passed.message, 'deadline_exceeded');
}

/** Out of capacity rather than broken: throttled, spent, cooling down or without headroom. */
const OUT_OF_QUOTA = new Set<AttemptRecord['outcome']>(['throttled', 'quota_exhausted', 'cooldown', 'no-headroom']);

/** `who`: the request's capacity class and tenant, which a `capacity_reserved` refusal names. */
export function failureToError(err: AllRoutesFailed, role: Role, who?: { priority: Priority; tenant?: string }): GatewayError {
  const last = err.last;
  // Provider messages can quote what they were sent; nothing key-like goes back to clients.
  const listing = scrubSecrets(err.message);
  if (err.attempts.some((a) => a.outcome === 'too-large') && err.attempts.every((a) => a.outcome === 'too-large' || a.outcome === 'unsupported')) {
    // Bad input rather than a busy gateway: no retry can succeed, and nobody else's capacity is touched.
    return new GatewayError(400, 'invalid_request_error', tooLargeMessage(listing), TOKENS_OVER_ROUTE_LIMIT, null);
  }
  if (err.attempts.some((a) => a.outcome === 'internal') && err.attempts.every((a) => a.outcome === 'internal' || PASSED_OVER.has(a.outcome))) {
    // Our fault, not the providers': a 500 as for any internal error, the details in the request's log line only.
    return new GatewayError(500, 'api_error', 'Internal gateway error: every route tried failed in the gateway itself (the log line of this request id lists them).', INTERNAL_ERROR);
  }
  if (last?.failure === 'refused') {
    const status = refusedStatus(last.status);
    const type = status === 502 ? 'api_error' : 'invalid_request_error';
    return new GatewayError(status, type, scrubSecrets(last.message), last.code ?? 'provider_refused', last.param ?? null);
  }
  if (last?.failure === 'invalid_output') {
    // Every route that answered gave output the request's schema rejects: the model's fault, not the route's.
    const failed = err.attempts.filter((a) => a.outcome === 'invalid_output').map((a) => `${a.route}: ${a.message ?? 'invalid output'}`);
    return new GatewayError(
      502,
      'api_error',
      scrubSecrets(`No route produced output that matches response_format.json_schema: ${failed.join('; ')}`),
      'invalid_structured_output',
      'response_format',
    );
  }
  if (last?.failure === 'context_length') {
    return new GatewayError(400, 'invalid_request_error', scrubSecrets(last.message), 'context_length_exceeded', 'messages');
  }
  if (err.attempts.some((a) => a.outcome === 'reserved') && err.attempts.every((a) => OUT_OF_QUOTA.has(a.outcome) || PASSED_OVER.has(a.outcome))) {
    // The class's share is in use on every route that could serve: the rest is kept for higher classes.
    const seconds = soonestRetryAfter(err.attempts.filter((a) => a.outcome === 'reserved' || OUT_OF_QUOTA.has(a.outcome)));
    const whose = !who ? "this request's class" : who.tenant === undefined ? `the ${who.priority} class` : `the ${who.priority} class (tenant "${who.tenant}")`;
    return new GatewayError(
      429,
      'rate_limit_error',
      `The capacity ${whose} may use is taken on every route; the rest is reserved for higher-priority traffic${seconds ? `. Retry after ${seconds} s` : ''}: ${listing}`,
      CAPACITY_RESERVED,
      null,
      seconds !== undefined ? { 'retry-after': String(seconds) } : {},
    );
  }
  const retryAfter = soonestRetryAfter(err.attempts);
  const headers: Record<string, string> = retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {};
  if (err.attempts.length > 0 && err.attempts.every((a) => OUT_OF_QUOTA.has(a.outcome))) {
    // A spoke tells the proxy "this account is out of quota" with a 429 so it moves on at once.
    const status = role === 'spoke' ? 429 : 503;
    if (status === 429) Object.assign(headers, roomLeftHeaders(err.attempts));
    return new GatewayError(status, status === 429 ? 'rate_limit_error' : 'api_error', `Every route is out of quota: ${listing}`, 'upstream_quota_exhausted', null, headers);
  }
  if (!last) return new GatewayError(503, 'api_error', `No route could serve the request: ${listing}`, 'no_route_available', null, headers);
  if (err.attempts.every((a) => a.outcome === 'silent' || PASSED_OVER.has(a.outcome))) {
    return new GatewayError(504, 'timeout_error', `Every route timed out: ${listing}`, 'upstream_timeout', null, headers);
  }
  // 503 when the providers said they are unavailable; 502 when one answered badly.
  const unavailable = err.attempts.every((a) => a.status === 503 || a.status === 529 || OUT_OF_QUOTA.has(a.outcome) || PASSED_OVER.has(a.outcome));
  return new GatewayError(unavailable ? 503 : 502, 'api_error', `Every route failed: ${listing}`, 'upstream_unavailable', null, headers);
}

/**
 * A spoke's routes with room for smaller requests, said as OpenAI does (rate-limit headers
 * on its 429): the proxy keeps only requests this large off the spoke, not everyone's.
 */
function roomLeftHeaders(attempts: readonly AttemptRecord[]): Record<string, string> {
  let left = 0;
  let resetMs: number | undefined;
  for (const a of attempts) {
    if (a.tokensLeft !== undefined) left = Math.max(left, a.tokensLeft);
    if (a.retryAfterMs !== undefined) resetMs = Math.min(resetMs ?? Infinity, a.retryAfterMs);
  }
  if (left === 0 || resetMs === undefined) return {};
  return { 'x-ratelimit-remaining-tokens': String(left), 'x-ratelimit-reset-tokens': `${Math.ceil(resetMs)}ms` };
}

/** The soonest any route may serve again, in whole seconds. */
function soonestRetryAfter(attempts: readonly AttemptRecord[]): number | undefined {
  let ms: number | undefined;
  for (const a of attempts) if (a.retryAfterMs !== undefined) ms = Math.min(ms ?? Infinity, a.retryAfterMs);
  return ms === undefined ? undefined : retryAfterSeconds(ms);
}
