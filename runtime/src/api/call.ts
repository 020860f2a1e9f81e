/**
 * An API request as a handler sees it, whatever carried it: Hono's context (Lambda,
 * app.fetch) or the Node server's own request (entry/api-listener.ts, which answers the
 * API's POST routes without a web Request, a Hono context and a web Response per request).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AnswerBody } from '../core/answer-body';

export interface ApiCall {
  readonly requestId: string;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  /** The request's headers for tenant keys (only read when tenants are configured). */
  headers(): Pick<Headers, 'get'>;
  /** The platform's request context (Lambda: API Gateway's authorizer identity). */
  readonly env: unknown;
  text(): Promise<string>;
  /** Node server: the response that streams are written to, which also tells when the client leaves. */
  readonly outgoing?: ServerResponse;
  /** Aborted when the client leaves (read only where there is no `outgoing`). */
  readonly signal: AbortSignal;
  /** The platform's own limit on the request, when it has one (Lambda: the function's time left): a deadline shorter than server.requestTimeoutMs. */
  timeLeft?(): TimeLeft | undefined;
}

/** Time the request has before its platform ends it, and what ends it (quoted in the 504). */
export interface TimeLeft {
  readonly ms: number;
  readonly why: string;
}

/** The handler's answer: a JSON body (text, or an upstream's bytes as they came), a web stream (no Node response to write to), or already written. */
export type ApiReply =
  | { readonly kind: 'json'; readonly status: number; readonly headers: Record<string, string>; readonly body: AnswerBody }
  | { readonly kind: 'stream'; readonly response: Response }
  | { readonly kind: 'sent' };

export const SENT: ApiReply = { kind: 'sent' };

/** A failure as a route answers it (the OpenAI shape unless the route has its own). */
export type ErrorRenderer = (err: unknown, requestId: string, logInternal: (err: unknown) => void) => Extract<ApiReply, { kind: 'json' }>;

/** One POST route of the API; a failure is thrown, for the transport to answer. */
export interface ApiHandler {
  (call: ApiCall): Promise<ApiReply>;
  /** The route's own error shape (the Anthropic routes answer in Anthropic's). */
  readonly renderError?: ErrorRenderer;
}

/** The client's own request id when it is sane (as Hono's request-id middleware checks), else ours. */
export function requestIdOf(given: string | undefined, env: unknown): string {
  if (given && given.length <= 255 && !/[^\w\-=]/.test(given)) return given;
  // Behind API Gateway, its request id ties our logs to its access logs.
  return (env as { requestContext?: { requestId?: string } } | undefined)?.requestContext?.requestId ?? randomUUID();
}
