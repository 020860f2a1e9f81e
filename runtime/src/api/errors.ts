/** Gateway errors in the OpenAI error shape: `{"error":{"message","type","code","param"}}`. */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error';

export interface OpenAIErrorBody {
  error: { message: string; type: ErrorType; code: string | null; param: string | null };
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly type: ErrorType,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new GatewayError(400, 'invalid_request_error', message, code, param);

export const notFound = (message: string, code = 'model_not_found', param: string | null = 'model') =>
  new GatewayError(404, 'not_found_error', message, code, param);

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
  return { status: e.status, headers: { ...e.headers, 'x-request-id': requestId }, body: e.toJSON() };
}

function internalError(err: unknown, requestId: string, logInternal: (err: unknown) => void): GatewayError {
  logInternal(err);
  return new GatewayError(500, 'api_error', `Internal gateway error (request ${requestId}).`, 'internal_error');
}

export const requestTooLarge = (maxBytes: number) =>
  new GatewayError(413, 'invalid_request_error', `The request body is larger than ${maxBytes} bytes.`, 'request_too_large');

/** A `Retry-After` value: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
