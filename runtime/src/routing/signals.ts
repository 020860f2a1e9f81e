/**
 * Cancellation for the hot path. A request is cancelled when its client leaves or its
 * deadline passes, and each attempt when the request is or its own timeout fires. On
 * Node 20 an AbortController costs ~1 KB and a transferable signal, and an abort
 * listener on it an EventTarget registration; `AbortSignal.any`/`timeout` add weak
 * references and a finalization registry. So cancellation here is an EventEmitter with
 * `aborted` and `reason`, which undici takes as a request signal as it is, and a
 * standard AbortSignal is made only for the APIs that need one (the AWS SDK).
 */
import { EventEmitter } from 'node:events';

export type AbortListener = (reason: unknown) => void;

/** What the routing core reads of a request's cancellation. */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Calls `listener` once on cancellation (at once if already cancelled); returns the unsubscribe. */
  onAbort(listener: AbortListener): () => void;
}

const NOOP = (): void => undefined;

/** A cancellation that is cancelled on demand; emits 'abort' (undici listens to that). */
export class CancelSource extends EventEmitter implements Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private controller: AbortController | undefined;

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.emit('abort', reason);
  }

  onAbort(listener: AbortListener): () => void {
    if (this.aborted) {
      listener(this.reason);
      return NOOP;
    }
    this.once('abort', listener);
    return () => this.off('abort', listener);
  }

  /** A standard AbortSignal that follows this one, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}

/** A CancelSource cancelled with `parent`; `unlink` once the child's work is done. */
export function linkedSource(parent: Cancellation): { source: CancelSource; unlink: () => void } {
  const source = new CancelSource();
  const unlink = parent.onAbort((reason) => source.abort(reason));
  return { source, unlink };
}

/** Waits `ms`; rejects with the reason if `cancel` fires first. */
export function sleepUnlessCancelled(ms: number, cancel: Cancellation): Promise<void> {
  return new Promise((resolve, reject) => {
    let unlink = NOOP;
    const timer = setTimeout(() => {
      unlink();
      resolve();
    }, ms);
    unlink = cancel.onAbort((reason) => {
      clearTimeout(timer);
      reject(reason);
    });
  });
}

/** The part of Node's ServerResponse the lifetime listens to. */
export interface NodeResponse {
  readonly writableFinished: boolean;
  once(event: 'close', listener: () => void): unknown;
}

/** A request's cancellation: the client left, the deadline passed, or the answer was abandoned. */
export class RequestLifetime extends CancelSource {
  private readonly timer: NodeJS.Timeout;
  deadlinePassed = false;
  clientLeft = false;

  /**
   * `client` is the request's signal (Lambda), or on Node the response itself: its
   * 'close' before the end says the client left, without the abort controller a request
   * signal costs.
   */
  constructor(client: AbortSignal | NodeResponse, deadlineMs: number) {
    super();
    if (!(client instanceof AbortSignal)) {
      client.once('close', () => {
        if (!client.writableFinished) this.clientGone(new Error('Client connection prematurely closed.'));
      });
    } else if (client.aborted) this.clientGone(client.reason);
    else client.addEventListener('abort', () => this.clientGone(client.reason), { once: true });
    this.timer = setTimeout(() => {
      this.deadlinePassed = true;
      this.abort(new DOMException(`the request deadline of ${deadlineMs} ms passed`, 'TimeoutError'));
    }, deadlineMs);
  }

  /** The client stopped reading the answer. */
  clientGone(reason: unknown): void {
    if (this.aborted) return;
    this.clientLeft = true;
    this.abort(reason);
  }

  /** The answer is complete (or failed): the deadline no longer matters. */
  end(): void {
    clearTimeout(this.timer);
  }
}
