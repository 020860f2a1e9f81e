/**
 * Errors on the Anthropic routes, in Anthropic's shape:
 * `{"type":"error","error":{"type","message","details":{"error_code"}},"request_id"}`
 * with the `request-id` header Anthropic sends, so the Anthropic SDKs raise their own
 * error classes. The gateway's error code (e.g. `upstream_quota_exhausted`) is in
 * `error.details.error_code`, where the SDKs read a stable code (`APIError.errorCode`).
 */
import { GatewayError } from '../core/gateway-error';
import type { ApiReply } from './call';
import { errorReply } from './errors';

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string; details?: { error_code: string } };
  request_id: string;
}

/** The Anthropic error type of a gateway error (the SDKs choose their class by status). */
export function anthropicErrorType(e: GatewayError): string {
  switch (e.status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 503:
      // Every route busy or out of capacity: what Anthropic calls being overloaded.
      return e.code === 'upstream_unavailable' || e.code === 'upstream_quota_exhausted' || e.code === 'no_route_available' ? 'overloaded_error' : 'api_error';
    default:
      // Anthropic's own rule: invalid_request_error "may also be used for other 4XX status codes".
      return e.status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

export function anthropicErrorBody(e: GatewayError, requestId: string): AnthropicErrorBody {
  const error: AnthropicErrorBody['error'] = { type: anthropicErrorType(e), message: e.message };
  if (e.code) error.details = { error_code: e.code };
  return { type: 'error', error, request_id: requestId };
}

/** A failed request's answer on an Anthropic route (anything not a GatewayError is a 500 naming only the request id). */
export function anthropicErrorReply(err: unknown, requestId: string, logInternal: (err: unknown) => void): Extract<ApiReply, { kind: 'json' }> {
  const reply = errorReply(err, requestId, logInternal);
  const e = err instanceof GatewayError ? err : new GatewayError(reply.status, reply.body.error.type, reply.body.error.message, reply.body.error.code);
  const headers = { ...reply.headers, 'request-id': requestId, 'content-type': 'application/json' };
  return { kind: 'json', status: reply.status, headers, body: JSON.stringify(anthropicErrorBody(e, requestId)) };
}
