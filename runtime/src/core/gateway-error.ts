/**
 * What the gateway tells a client that its request failed: status, type, code, param and
 * message, in the OpenAI error shape `{"error":{"message","type","code","param"}}`.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'rate_limit_error' | 'api_error' | 'timeout_error';

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

export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new GatewayError(400, 'invalid_request_error', message, code, param);

export const notFound = (message: string, code = 'model_not_found', param: string | null = 'model') => new GatewayError(404, 'not_found_error', message, code, param);

export const requestTooLarge = (maxBytes: number) => new GatewayError(413, 'invalid_request_error', `The request body is larger than ${maxBytes} bytes.`, 'request_too_large');

/** A compressed request body: read as JSON it would only be garbage, so it is refused by name. */
export const unsupportedContentEncoding = (encoding: string) =>
  new GatewayError(
    415,
    'invalid_request_error',
    `Content-Encoding "${encoding.length > 40 ? `${encoding.slice(0, 40)}…` : encoding}" is not supported: send the request body uncompressed.`,
    'unsupported_content_encoding',
  );

/** Whether a request's Content-Encoding (a header's value) is one the API cannot read: any but none or identity. */
export const isEncoded = (encoding: string | undefined): encoding is string => encoding !== undefined && encoding !== '' && encoding.toLowerCase() !== 'identity';

/** A known path asked with another method: 405 naming the method to use, which `Allow` lists (HEAD with GET, as HEAD is served wherever GET is). */
export const methodNotAllowed = (method: string, path: string, use: 'GET' | 'POST') =>
  new GatewayError(405, 'invalid_request_error', `Method ${method} is not allowed on ${path}; use ${use}.`, 'method_not_allowed', null, { allow: use === 'GET' ? 'GET, HEAD' : 'POST' });

/** A `Retry-After` value: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
