/**
 * The gateway's HTTP in the Lambda proxy: Node's own http and https modules, so the bundle
 * carries no HTTP client of its own. Keep-alive agents; a connect timeout per attempt (a
 * spoke address that takes no connection fails within `connectMs`, not at the first-byte
 * timeout); a fresh connection when asked (a retry after a failure, which after a frozen
 * Lambda environment is often a pooled socket the other side has closed).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { readWhole, type HttpClient, type UpstreamBody, type UpstreamResponse } from './http';
import { onUpstreamAbort, type UpstreamSignal } from './types';

const DEFAULT_CONNECT_MS = 5_000;
/** Idle pooled sockets are closed before a Node server's own 5 s keep-alive timeout would close them under us. */
const IDLE_SOCKET_MS = 4_000;

/** A connection that did not open in time, worded and coded as a network error. */
class ConnectTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`connect timed out after ${ms} ms`);
  }
}

interface Target {
  lib: typeof http | typeof https;
  options: http.RequestOptions;
}

/** Where a URL goes, parsed once per URL (URLs come from config and spoke addresses). */
const targets = new Map<string, Target>();
const MAX_TARGETS = 4096;

function targetOf(url: string): Target {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    t = {
      lib: secure ? https : http,
      options: { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (secure ? 443 : 80), path: `${u.pathname}${u.search}` },
    };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(url, t);
  }
  return t;
}

function upstreamResponse(res: http.IncomingMessage): UpstreamResponse {
  const body: UpstreamBody = {
    text: async () => {
      const parts: Buffer[] = [];
      for await (const part of res) parts.push(part as Buffer);
      return Buffer.concat(parts).toString('utf8');
    },
    dump: async ({ limit = Infinity } = {}) => {
      let size = 0;
      for await (const part of res) {
        size += (part as Buffer).length;
        if (size > limit) {
          res.destroy();
          return;
        }
      }
    },
    destroy: (err) => res.destroy(err),
    [Symbol.asyncIterator]: () => res[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
  };
  return { statusCode: res.statusCode ?? 0, headers: res.headers, body };
}

export function createNodeHttp(): HttpClient {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
    'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  };

  /** One request; resolves at the answer's headers. The abort stays linked until the body ends. */
  function send(method: string, url: string, body: string | undefined, headers: Record<string, string> | undefined, signal: UpstreamSignal, connectMs: number, fresh: boolean) {
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const { lib, options } = targetOf(url);
      const agent = fresh ? false : agents[options.protocol as 'http:' | 'https:'];
      const req = lib.request({ ...options, method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent });
      const unlink = onUpstreamAbort(signal, (reason) => req.destroy(reason instanceof Error ? reason : new Error(String(reason))));
      req.once('socket', (socket: Socket) => {
        if (!socket.connecting) return; // a pooled connection, already open
        const timer = setTimeout(() => req.destroy(new ConnectTimeout(connectMs)), connectMs);
        socket.once(lib === https ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      req.once('response', (res) => {
        res.once('close', unlink);
        resolve(upstreamResponse(res));
      });
      req.once('error', (err) => {
        unlink();
        reject(signal.aborted ? signal.reason : err);
      });
      req.end(body);
    });
  }

  return {
    post(url, body, headers, signal, connectTimeoutMs = DEFAULT_CONNECT_MS, fresh = false) {
      return send('POST', url, body, headers, signal, connectTimeoutMs, fresh);
    },
    async postForText(url, body, headers, signal, limits, connectTimeoutMs, fresh) {
      return readWhole(await this.post(url, body, headers, signal, connectTimeoutMs, fresh), limits);
    },
    async get(url, headers, timeoutMs) {
      // A health check on a connection of its own, given up after `timeoutMs` in all.
      return send('GET', url, undefined, headers, AbortSignal.timeout(timeoutMs), timeoutMs, true);
    },
    async close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
