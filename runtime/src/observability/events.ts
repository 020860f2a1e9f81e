/**
 * What happens in the gateway, as events: the one seam between request handling and
 * everything that watches it (logs, metrics, the status page). Emitters never wait on
 * observers, and an observer that throws cannot break a request.
 */
import type { Usage } from '../api/openai-types';
import type { Role } from '../config/schema';
import type { AttemptRecord } from '../routing/executor';

/** One client request, reported once when its answer has ended (streams: at the last byte). */
export interface RequestEvent {
  type: 'request';
  requestId: string;
  role: Role;
  tenant?: string;
  model: string;
  stream: boolean;
  status: number;
  /** OpenAI error code when it failed (e.g. `upstream_unavailable`). */
  errorCode?: string;
  /** The route that answered (`provider/account/region/model`). */
  route?: string;
  /** Every attempt, including routes passed over, in order. */
  attempts: readonly AttemptRecord[];
  /** Streams continued on another route after a break. */
  continuations: number;
  usage?: Usage;
  /** Streams: time to the first byte sent to the client. */
  ttftMs?: number;
  latencyMs: number;
  /** The client's W3C `traceparent` as received (the log line carries its trace id). */
  traceparent?: string;
  /** Prompt and answer text, only when the config asks for content logging. */
  content?: { prompt: unknown; answer?: string };
}

/** A route's circuit opened (passive ejection) or an endpoint failed its health check. */
export interface EjectionEvent {
  type: 'ejection';
  route: string;
  until: number;
  reason: string;
}

/** An account+model was told to wait (429, quota spent). */
export interface CooldownEvent {
  type: 'cooldown';
  route: string;
  until: number;
  reason: string;
}

/** A new config was offered: applied, or rejected (the running config stays). */
export interface ConfigEvent {
  type: 'config';
  ok: boolean;
  source: string;
  error?: string;
}

export type GatewayEvent = RequestEvent | EjectionEvent | CooldownEvent | ConfigEvent;

export type GatewayObserver = (event: GatewayEvent) => void;

export interface EventBusOptions {
  /**
   * `emitAfterReply` waits for the end of the current event-loop turn, so that the answer
   * is written before it is logged and counted (off the request's latency). Off where the
   * process may freeze as soon as the answer is out (Lambda): there it emits at once.
   */
  deferAfterReply?: boolean;
}

export class EventBus {
  private readonly observers: GatewayObserver[] = [];
  private readonly defer: boolean;
  private queued: GatewayEvent[] = [];

  constructor(opts: EventBusOptions = {}) {
    this.defer = opts.deferAfterReply ?? false;
  }

  subscribe(observer: GatewayObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** An event about an answer being sent now: emitted once this event-loop turn's I/O is done. */
  emitAfterReply(event: GatewayEvent): void {
    if (!this.defer) return this.emit(event);
    if (this.queued.push(event) === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const events = this.queued;
    this.queued = [];
    for (const e of events) this.emit(e);
  };

  emit(event: GatewayEvent): void {
    for (const o of this.observers) {
      try {
        o(event);
      } catch {
        // Observing must never fail a request.
      }
    }
  }
}
