/** The gateway's HTTP on the Node server: undici keep-alive agents, one per connect timeout. */
import { Agent } from 'undici';
import type { HttpClient, UpstreamResponse } from './http';

const DEFAULT_CONNECT_MS = 5_000;

function createAgent(connectTimeoutMs: number): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    // No cap on connections per origin: a stream holds its connection for its whole life,
    // and a cap queued streams silently behind it; the gateway's own limits bound the load.
    pipelining: 1,
    connect: { timeout: connectTimeoutMs },
    // Timeouts per attempt are the router's job (first byte, idle); no hidden ones here.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

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

export function createUndiciHttp(): HttpClient {
  // undici sets the connect timeout per agent, and models may each ask for their own.
  const agents = new Map<number, Agent>();
  const agentFor = (connectMs = DEFAULT_CONNECT_MS) => {
    let agent = agents.get(connectMs);
    if (!agent) agents.set(connectMs, (agent = createAgent(connectMs)));
    return agent;
  };
  const probes = new Agent({ connections: 4 });
  return {
    post(url, body, headers, signal, connectTimeoutMs) {
      const { origin, path } = targetOf(url);
      return agentFor(connectTimeoutMs).request({ origin, path, method: 'POST', body, headers, signal }) as Promise<UpstreamResponse>;
    },
    get(url, headers, timeoutMs) {
      const { origin, path } = targetOf(url);
      // A fresh connection per probe: it checks that the endpoint takes connections at all,
      // and a dead one says so (ECONNREFUSED), not a stale pooled socket.
      return probes.request({ origin, path, method: 'GET', headers, reset: true, signal: AbortSignal.timeout(timeoutMs) }) as Promise<UpstreamResponse>;
    },
    async close() {
      await Promise.all([...agents.values(), probes].map((a) => a.close()));
      agents.clear();
    },
  };
}
