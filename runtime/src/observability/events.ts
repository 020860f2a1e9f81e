/**
 * What happens in the gateway, as events: the one seam between request handling and
 * everything that watches it (logs, metrics, the status page). Emitters never wait on
 * observers, and an observer that throws cannot break a request.
 */
import type { Usage } from '../core/openai-types';
import type { Role } from '../config/schema';
import type { AttemptRecord, FailureClass } from '../core/attempt';
import type { ModelApi } from '../core/embeddings';
import type { Priority } from '../core/priority';
import type { Refusal } from '../core/refusal';

/** What a request event says its endpoint was: a model's api, or one of the Anthropic routes (chat models). */
export type RequestApi = ModelApi | 'messages' | 'count_tokens';
import type { Affinity } from '../core/prompt-cache';

/** One client request, reported once when its answer has ended (streams: at the last byte). */
export interface RequestEvent {
  type: 'request';
  requestId: string;
  role: Role;
  tenant?: string;
  /** The endpoint's kind: chat (absent), embeddings, or the Anthropic routes (`messages`, `count_tokens`). */
  api?: RequestApi;
  /** The request's capacity class, when classes are configured or the tenant has one. */
  priority?: Priority;
  model: string;
  stream: boolean;
  status: number;
  /** OpenAI error code when it failed (e.g. `upstream_unavailable`). */
  errorCode?: string;
  /** Refused before any provider was asked, and why (the tenant's limits, budget or capacity class). */
  refusal?: Refusal;
  /** The route that answered (`provider/account/region/model`). */
  route?: string;
  /** Every attempt, including routes passed over, in order. */
  attempts: readonly AttemptRecord[];
  /** Streams continued on another route after a break. */
  continuations: number;
  /** Streams: each break after the first byte, in order (the route, how it failed): the routes `attempts` show as started `ok`. */
  breaks?: StreamBreak[];
  /** Embeddings: the provider batches the inputs were split into. */
  batches?: number;
  usage?: Usage;
  /** What the answer cost in USD, when its route has a price (or its spoke reported one). */
  costUsd?: number;
  /** `proxy`: a spoke reported this cost to the proxy, which counts it; it is in no spend total here. */
  costCountedBy?: 'proxy';
  /** Session affinity: what happened to the request's session (requests with a session only). */
  affinity?: Affinity;
  /** Streams: time to the first byte sent to the client. */
  ttftMs?: number;
  latencyMs: number;
  /** The client's W3C `traceparent` as received (the log line carries its trace id). */
  traceparent?: string;
  /** Prompt and answer text, only when the config asks for content logging. */
  content?: { prompt: unknown; answer?: string };
  /** What the gateway left out or did on the way (beta flags a target does not take, thinking dropped for a non-Claude target ...). */
  notes?: string[];
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

/** One break of a stream after its first byte. */
export interface StreamBreak {
  route: string;
  outcome: FailureClass;
  message?: string;
}

/** A stream broke or went quiet after its first byte on a route (continued elsewhere when it could be). */
export interface StreamBreakEvent {
  type: 'stream-break';
  route: string;
  /** How it failed: `silent`, `transient` ... */
  failure: FailureClass;
}

/** A new config was offered: applied, or rejected (the running config stays). */
export interface ConfigEvent {
  type: 'config';
  ok: boolean;
  source: string;
  error?: string;
}

/** A tenant's spend crossed one of its budget's alert thresholds (once per period and threshold). */
export interface BudgetAlertEvent {
  type: 'budget-alert';
  tenant: string;
  period: 'day' | 'month';
  /** `YYYY-MM-DD` or `YYYY-MM` (UTC). */
  periodId: string;
  /** The share of the cap crossed (budget.alertAt). */
  threshold: number;
  capUsd: number;
  spentUsd: number;
}

export type GatewayEvent = RequestEvent | EjectionEvent | CooldownEvent | StreamBreakEvent | ConfigEvent | BudgetAlertEvent;

export type GatewayObserver = (event: GatewayEvent) => void;

export interface EventBusOptions {
  /**
   * Request events wait and reach the observers in batches, at most `batchMs` after
   * their answer went out: logging and counting a request then runs neither between its
   * answer and the client's next request nor beside the next hop's work, and runs hot,
   * many events in a row (bench/analysis.md). Off where the process may freeze as soon
   * as the answer is out (Lambda): there events are handed over at once.
   */
  deferAfterReply?: boolean;
  /** How long a request event may wait for its batch (default 20 ms). */
  batchMs?: number;
}

/** A batch this large goes out at the end of the turn without waiting for its time. */
const MAX_BATCH = 256;

export class EventBus {
  private readonly observers: GatewayObserver[] = [];
  private defer: boolean;
  private readonly batchMs: number;
  private queued: GatewayEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: EventBusOptions = {}) {
    this.defer = opts.deferAfterReply ?? false;
    this.batchMs = opts.batchMs ?? 20;
  }

  subscribe(observer: GatewayObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /** An event about an answer being sent now: handed to the observers with its batch. */
  emitAfterReply(event: GatewayEvent): void {
    if (!this.defer) return this.emit(event);
    const size = this.queued.push(event);
    if (size === 1) {
      // unref: a batch never keeps the process alive; close() flushes what is left.
      this.timer = setTimeout(this.flush, this.batchMs);
      this.timer.unref();
    } else if (size === MAX_BATCH) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(this.flush);
    }
  }

  /**
   * Hands every waiting event to the observers now: before what they keep is read
   * (/metrics, /status) and when the gateway closes, so that nothing answered is missing.
   */
  readonly flush = (): void => {
    if (this.queued.length === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const events = this.queued;
    this.queued = [];
    for (const e of events) this.deliver(e);
  };

  /**
   * From now on every event is handed over at once, what waits first: the gateway is
   * closing, and the requests its shutdown cuts off must not wait for a batch that the
   * end of observing (or of the process) would drop.
   */
  deliverAtOnce(): void {
    this.defer = false;
    this.flush();
  }

  /** An event handed over at once; waiting request events go first, so observers see the order they happened in. */
  emit(event: GatewayEvent): void {
    this.flush();
    this.deliver(event);
  }

  private deliver(event: GatewayEvent): void {
    for (const o of this.observers) {
      try {
        o(event);
      } catch {
        // Observing must never fail a request.
      }
    }
  }
}
