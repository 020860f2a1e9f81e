/**
 * Active health checks where a provider has a free endpoint: `GET /v1/models` on
 * OpenAI-compatible servers (vLLM, Ollama, DeepSeek) and a spoke's `/healthz` from the
 * proxy. An endpoint is down after a failed probe and up after a good one. A connection
 * failure seen by a real request triggers a probe at once, so a dead endpoint is taken
 * out within one probe round trip and stays out, without real requests as probes.
 */
import type { HttpClient } from '../providers/http';
import type { Clock } from '../core/clock';

export interface ProbeTarget {
  /** provider/account/region */
  key: string;
  url: string;
  headers?: Record<string, string>;
  /** `spoke`: the body is our own /healthz and tells which models the spoke can serve. */
  kind: 'models' | 'spoke';
}

export interface ProberOptions {
  intervalMs: number;
  /** Probe interval while an endpoint is down: recovery is seen this fast. */
  downIntervalMs: number;
  timeoutMs: number;
}

export const DEFAULT_PROBER: ProberOptions = { intervalMs: 5_000, downIntervalMs: 500, timeoutMs: 2_000 };

interface EndpointState {
  target: ProbeTarget;
  down: boolean;
  lastProbe: number;
  lastError?: string;
  inFlight: boolean;
  /** Spokes: logical models with at least one route that can serve. */
  models?: Set<string>;
  timer?: NodeJS.Timeout;
}

export class EndpointProber {
  private readonly states = new Map<string, EndpointState>();
  private stopped = true;

  constructor(
    targets: readonly ProbeTarget[],
    private readonly http: HttpClient,
    private readonly clock: Clock,
    private readonly opts: ProberOptions = DEFAULT_PROBER,
    /** Told when an endpoint goes down (with why) or comes back. */
    private readonly onChange?: (key: string, down: boolean, error?: string) => void,
  ) {
    this.setTargets(targets);
  }

  start(): void {
    this.stopped = false;
    for (const s of this.states.values()) this.schedule(s, 0);
  }

  /** Follows a changed set of endpoints (spoke addresses): keeps what stays, probes what is new. */
  setTargets(targets: readonly ProbeTarget[]): void {
    const keep = new Set(targets.map((t) => t.key));
    for (const [key, s] of this.states) {
      if (!keep.has(key)) {
        clearTimeout(s.timer);
        this.states.delete(key);
      }
    }
    for (const t of targets) {
      if (this.states.has(t.key)) continue;
      const s: EndpointState = { target: t, down: false, lastProbe: 0, inFlight: false };
      this.states.set(t.key, s);
      if (!this.stopped) this.schedule(s, 0);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.states.values()) clearTimeout(s.timer);
  }

  isDown(key: string): boolean {
    return this.states.get(key)?.down === true;
  }

  /** For spokes: whether it said it can serve `model` (undefined when not known). */
  serves(key: string, model: string): boolean | undefined {
    const m = this.states.get(key)?.models;
    return m ? m.has(model) : undefined;
  }

  describe(key: string): { down: boolean; lastError?: string } | undefined {
    const s = this.states.get(key);
    return s && { down: s.down, lastError: s.lastError };
  }

  /** When the next probe of `key` will have answered: the one out now, or the next one scheduled. */
  recheckAt(key: string): number | undefined {
    const s = this.states.get(key);
    if (!s || this.stopped) return undefined;
    return s.lastProbe + (s.inFlight ? this.opts.timeoutMs : s.down ? this.opts.downIntervalMs : this.opts.intervalMs);
  }

  /** A real request failed to connect: check the endpoint now. */
  suspect(key: string): void {
    const s = this.states.get(key);
    if (s && !s.inFlight && !this.stopped) void this.probe(s);
  }

  private schedule(s: EndpointState, ms: number): void {
    if (this.stopped) return;
    clearTimeout(s.timer);
    s.timer = setTimeout(() => void this.probe(s), ms);
    s.timer.unref();
  }

  async probe(s: EndpointState): Promise<void> {
    if (s.inFlight) return;
    s.inFlight = true;
    s.lastProbe = this.clock.now();
    const wasDown = s.down;
    try {
      const res = await this.http.get(s.target.url, s.target.headers, this.opts.timeoutMs);
      const text = await res.body.text();
      if (s.target.kind === 'spoke') s.models = servingModels(text);
      // Any answer below 500 shows a live server (a 401 on /models is an auth matter, not health);
      // a spoke's 503 says nothing behind it can serve.
      if (res.statusCode < 500) {
        s.down = false;
        s.lastError = undefined;
      } else {
        s.down = true;
        s.lastError = `GET ${s.target.url}: ${res.statusCode}`;
      }
    } catch (err) {
      s.down = true;
      const e = err as { code?: string; cause?: { code?: string }; message?: string };
      s.lastError = `GET ${s.target.url}: ${e.code ?? e.cause?.code ?? e.message}`;
    } finally {
      s.inFlight = false;
      // An endpoint removed while its probe was out (spoke addresses changed) is forgotten.
      if (this.states.get(s.target.key) === s) {
        if (s.down !== wasDown) this.onChange?.(s.target.key, s.down, s.lastError);
        this.schedule(s, s.down ? this.opts.downIntervalMs : this.opts.intervalMs);
      }
    }
  }
}

/** The models a spoke's /healthz body says it can serve now. */
function servingModels(text: string): Set<string> | undefined {
  try {
    const body = JSON.parse(text) as { routes?: Array<{ model?: string; state?: string }> };
    if (!Array.isArray(body.routes)) return undefined;
    return new Set(body.routes.filter((r) => r.state === 'healthy' || r.state === 'half-open').map((r) => String(r.model)));
  } catch {
    return undefined;
  }
}
