/** The gateway's HTTP on the Node server: undici keep-alive agents, one per connect timeout. */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, Client, type Dispatcher } from 'undici';
import { AnswerCut, isSuccess, type AnswerLimits, type HttpClient, type WholeAnswer } from './http';
import type { UpstreamSignal } from './types';
import { CancellableHandler, StreamAnswerHandler } from './undici-stream';

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

/**
 * A whole answer collected from undici's dispatcher. `request()` wraps every answer in a
 * Readable body and an async resource, a cost a JSON answer read whole does not need
 * (bench/analysis.md, section 6).
 */
class WholeAnswerHandler extends CancellableHandler implements Dispatcher.DispatchHandler {
  private parts: Buffer[] = [];
  private size = 0;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};

  constructor(
    signal: UpstreamSignal,
    private readonly limits: AnswerLimits,
    private readonly resolve: (answer: WholeAnswer) => void,
    reject: (err: unknown) => void,
  ) {
    super(signal, reject);
  }

  private get ok(): boolean {
    return isSuccess(this.statusCode);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // informational (103 Early Hints): the answer comes after it
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    const limit = this.ok ? this.limits.okBytes : this.limits.errorBytes;
    // Garbage cannot exhaust memory: the connection is given up (as readText does).
    if (this.size > limit) controller.abort(new Error(`upstream body over ${limit} bytes`));
    else this.parts.push(chunk);
  }

  onResponseEnd(): void {
    this.unlink();
    this.resolve(new CollectedAnswer(this.statusCode, this.headers, this.parts));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.unlink();
    if (this.statusCode === 0) this.reject(err);
    else if (this.ok) this.reject(new AnswerCut(err));
    // An error answer is read for its message only: without it, its status still says enough.
    else this.resolve({ statusCode: this.statusCode, headers: this.headers, text: '' });
  }
}

/** A whole answer's bytes, joined and decoded only when read as text (a body passed on as it came never is). */
class CollectedAnswer implements WholeAnswer {
  private decoded: string | undefined;

  constructor(
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
    readonly parts: readonly Buffer[],
  ) {}

  get text(): string {
    const parts = this.parts;
    return (this.decoded ??= (parts.length === 1 ? parts[0] : Buffer.concat(parts)).toString('utf8'));
  }
}

/**
 * A client of its own for one request: a new connection (a retry after a failure must not
 * meet the pooled socket that failed), closed once its answer has been read.
 */
function freshClient(origin: string, connectMs = DEFAULT_CONNECT_MS): Client {
  return new Client(origin, { pipelining: 1, connect: { timeout: connectMs }, headersTimeout: 0, bodyTimeout: 0 });
}

/** close() waits for the request in flight (its body read or dropped), then frees the socket. */
function closeWhenDone(client: Client): void {
  void client.close().catch(() => undefined);
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
    post(url, body, headers, signal, connectTimeoutMs, fresh) {
      if (signal.aborted) return Promise.reject(signal.reason); // nothing sent
      const { origin, path } = targetOf(url);
      return new Promise((resolve, reject) => {
        const handler = new StreamAnswerHandler(signal, resolve, reject);
        if (!fresh) return void agentFor(connectTimeoutMs).dispatch({ origin, path, method: 'POST', body, headers }, handler);
        const client = freshClient(origin, connectTimeoutMs);
        client.dispatch({ path, method: 'POST', body, headers }, handler);
        closeWhenDone(client);
      });
    },
    postForText(url, body, headers, signal, limits, connectTimeoutMs, fresh) {
      if (signal.aborted) return Promise.reject(signal.reason); // nothing sent
      const { origin, path } = targetOf(url);
      return new Promise((resolve, reject) => {
        const handler = new WholeAnswerHandler(signal, limits, resolve, reject);
        if (!fresh) return void agentFor(connectTimeoutMs).dispatch({ origin, path, method: 'POST', body, headers }, handler);
        const client = freshClient(origin, connectTimeoutMs);
        client.dispatch({ path, method: 'POST', body, headers }, handler);
        closeWhenDone(client);
      });
    },
    get(url, headers, timeoutMs) {
      const { origin, path } = targetOf(url);
      // A fresh connection per probe: it checks that the endpoint takes connections at all,
      // and a dead one says so (ECONNREFUSED), not a stale pooled socket.
      return probes.request({ origin, path, method: 'GET', headers, reset: true, signal: AbortSignal.timeout(timeoutMs) });
    },
    async close() {
      await Promise.all([...agents.values(), probes].map((a) => a.close()));
      agents.clear();
    },
  };
}
