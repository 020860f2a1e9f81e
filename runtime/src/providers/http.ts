/**
 * The HTTP the adapters and health checks speak, behind one seam: undici's keep-alive
 * pools on the Node server (providers/undici-http.ts), the runtime's own fetch in the
 * Lambda proxy (providers/fetch-http.ts, so its bundle carries no second HTTP client).
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

export interface UpstreamResponse {
  statusCode: number;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

export interface HttpClient {
  /** POSTs `body`; resolves once the status and headers are in, rejects with the network error. */
  post(url: string, body: string, headers: Record<string, string>, signal: UpstreamSignal, connectTimeoutMs?: number): Promise<UpstreamResponse>;
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
): Promise<UpstreamResponse> {
  try {
    return await http.post(url, body, headers, signal, connectTimeoutMs);
  } catch (err) {
    if (signal.aborted) throw signal.reason ?? err;
    throw classifyNetworkError(err, what);
  }
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

export function header(res: UpstreamResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
