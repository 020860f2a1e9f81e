/** Pooled keep-alive HTTP for the HTTP-speaking adapters (undici), shared per process. */
import { Agent, type Dispatcher } from 'undici';
import { classifyNetworkError } from './errors';
import type { UpstreamSignal } from './types';

export interface HttpOptions {
  connectTimeoutMs?: number;
}

export function createAgent(opts: HttpOptions = {}): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connections: 256,
    pipelining: 1,
    connect: { timeout: opts.connectTimeoutMs ?? 5_000 },
    // Timeouts per attempt are the router's job (first byte, idle); no hidden ones here.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/**
 * Keep-alive agents of one adapter, one per connect timeout in use (undici sets the
 * connect timeout per agent, and models may each ask for their own).
 */
export class AgentPool {
  private readonly agents = new Map<number, Agent>();

  constructor(private readonly defaultConnectMs = 5_000) {}

  get(connectMs = this.defaultConnectMs): Agent {
    let agent = this.agents.get(connectMs);
    if (!agent) this.agents.set(connectMs, (agent = createAgent({ connectTimeoutMs: connectMs })));
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }
}

export type UpstreamResponse = Dispatcher.ResponseData;

/** Origin and path of each upstream URL, parsed once: URL parsing per request showed in the profile. */
const targets = new Map<string, { origin: string; path: string }>();
const MAX_TARGETS = 4096; // URLs come from config and spoke addresses; a bound all the same

function targetOf(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(url, t);
  }
  return t;
}

export async function post(
  dispatcher: Dispatcher,
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: UpstreamSignal,
  what: string,
): Promise<UpstreamResponse> {
  try {
    const { origin, path } = targetOf(url);
    return await dispatcher.request({ origin, path, method: 'POST', body, headers, signal });
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
    size += (part as Buffer).length;
    if (size > limit) {
      res.body.destroy();
      throw new Error(`upstream body over ${limit} bytes`);
    }
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

export function header(res: UpstreamResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
