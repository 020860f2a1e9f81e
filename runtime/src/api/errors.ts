/** How a failed request is answered: a GatewayError as it is, anything else as a 500. */
import { GatewayError, type OpenAIErrorBody } from '../core/gateway-error';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error as the client gets it: status, headers and the OpenAI-shaped JSON body. */
export interface ErrorReply {
  status: ContentfulStatusCode;
  headers: Record<string, string>;
  body: OpenAIErrorBody;
}

/**
 * A GatewayError as it is; anything else as a 500 that names only the request id (what
 * went wrong goes to `logInternal`, for the operator who finds the log line by that id).
 */
export function errorReply(err: unknown, requestId: string, logInternal: (err: unknown) => void): ErrorReply {
  const e = err instanceof GatewayError ? err : internalError(err, requestId, logInternal);
  return { status: e.status, headers: { ...e.headers, ...retryAdvice(e.headers), 'x-request-id': requestId }, body: e.toJSON() };
}

/** The longest Retry-After the OpenAI SDKs honour; the Anthropic SDK sleeps any (a budget's until the day ends). */
const LONGEST_CLIENT_WAIT_S = 60;

/** `x-should-retry: false` (the SDKs' own override) when the wait is longer: the client hears now, instead of hanging or retrying blind. */
function retryAdvice(headers: Readonly<Record<string, string>>): Record<string, string> {
  const seconds = Number(headers['retry-after']);
  return seconds > LONGEST_CLIENT_WAIT_S ? { 'x-should-retry': 'false' } : {};
}

function internalError(err: unknown, requestId: string, logInternal: (err: unknown) => void): GatewayError {
  logInternal(err);
  return new GatewayError(500, 'api_error', `Internal gateway error (request ${requestId}).`, 'internal_error');
}
