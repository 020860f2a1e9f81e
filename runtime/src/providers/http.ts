/**
 * The HTTP the adapters and health checks speak, behind one seam: undici's keep-alive
 * pools on the Node server (providers/undici-http.ts), Node's own http in the Lambda
 * proxy (providers/node-http.ts, so its bundle carries no second HTTP client).
 * The entry point picks one and hands it to the gateway.
 */
import { classifyNetworkError } from './errors';
import type { UpstreamSignal } from './types';

/** An answer's body: read whole, iterated (SSE), or dropped. */
export interface UpstreamBody extends AsyncIterable<Uint8Array | string> {
  text(): Promise<string>;
  /** Reads and drops the rest (at most `limit` bytes), so the connection can be reused. */
  dump(opts?: { limit?: number }): Promise<void>;
  /** Gives up on the rest: the connection is closed. */
  destroy(err?: Error): void;
}

/** Lower-case names. */
export type UpstreamHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamResponse {
  statusCode: number;
  headers: UpstreamHeaders;
  body: UpstreamBody;
}

/** An answer read whole. */
export interface WholeAnswer {
  readonly statusCode: number;
  readonly headers: UpstreamHeaders;
  /** The body; "" for an error answer whose body broke off or outgrew `AnswerLimits.errorBytes`. */
  readonly text: string;
  /**
   * The body's bytes in the parts the client read them in, where it holds them before
   * decoding (undici): an answer passed on as it came is then neither joined, decoded
   * nor encoded again.
   */
  readonly parts?: readonly Uint8Array[];
}

/** How much of a body `postForText` reads: a 2xx one beyond `okBytes` fails, another's is given up. */
export interface AnswerLimits {
  okBytes: number;
  errorBytes: number;
}

/** A 2xx answer's body broke off or outgrew its limit after the status and headers came. */
export class AnswerCut extends Error {
  override readonly name = 'AnswerCut';
  constructor(cause: unknown) {
    super(`the answer's body was cut: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface HttpClient {
  /**
   * POSTs `body`; resolves once the status and headers are in, rejects with the network
   * error. `fresh`: on a new connection (a retry after a failure), closed after the answer.
   */
  post(url: string, body: string, headers: Record<string, string>, signal: UpstreamSignal, connectTimeoutMs?: number, fresh?: boolean): Promise<UpstreamResponse>;
  /**
   * POSTs `body` and reads the whole answer, for answers read whole (JSON): on undici
   * without a body stream, which cost more than the rest of the call. Rejects with the
   * network error before the headers, with `AnswerCut` when a 2xx body fails after them.
   */
  postForText(url: string, body: string, headers: Record<string, string>, signal: UpstreamSignal, limits: AnswerLimits, connectTimeoutMs?: number, fresh?: boolean): Promise<WholeAnswer>;
  /** A GET for health checks, given up after `timeoutMs`. */
  get(url: string, headers: Record<string, string> | undefined, timeoutMs: number): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

/** `http.post`, with a network failure classified for the router (and the abort's reason kept). */
export async function post(
  http: HttpClient,
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: UpstreamSignal,
  what: string,
  connectTimeoutMs?: number,
  fresh?: boolean,
): Promise<UpstreamResponse> {
  try {
    return await http.post(url, body, headers, signal, connectTimeoutMs, fresh);
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    throw classifyNetworkError(err, what);
  }
}

/**
 * `http.postForText`, with failures classified as `post` classifies them: `${what}:
 * request failed` before the answer, `${what}: reading the answer failed` for a 2xx body
 * cut after its headers (and the abort's reason kept).
 */
export async function postWhole(
  http: HttpClient,
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: UpstreamSignal,
  limits: AnswerLimits,
  what: string,
  connectTimeoutMs?: number,
  fresh?: boolean,
): Promise<WholeAnswer> {
  try {
    return await http.postForText(url, body, headers, signal, limits, connectTimeoutMs, fresh);
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    if (err instanceof AnswerCut) throw classifyNetworkError(err.cause, `${what}: reading the answer failed`);
    throw classifyNetworkError(err, `${what}: request failed`);
  }
}

/** A 2xx status: the answer itself, not an error. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** `postForText` over `post`: the body read by `readText`, with the same limits and failures. */
export async function readWhole(res: UpstreamResponse, limits: AnswerLimits): Promise<WholeAnswer> {
  const ok = isSuccess(res.statusCode);
  let text: string;
  try {
    text = await readText(res, ok ? limits.okBytes : limits.errorBytes);
  } catch (err) {
    if (ok) throw new AnswerCut(err);
    text = '';
  }
  return { statusCode: res.statusCode, headers: res.headers, text };
}

/** Reads a whole (error or JSON) body as text; bounded so garbage cannot exhaust memory. */
export async function readText(res: UpstreamResponse, limit = 8 * 1024 * 1024): Promise<string> {
  // A declared length within the limit: the body parser holds the server to it.
  const length = Number(header(res, 'content-length'));
  if (length <= limit) return res.body.text();
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of res.body) {
    const chunk = typeof part === 'string' ? Buffer.from(part) : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    size += chunk.length;
    if (size > limit) {
      res.body.destroy();
      throw new Error(`upstream body over ${limit} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

export function header(res: { headers: UpstreamHeaders }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
