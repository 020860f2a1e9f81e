/**
 * Cancellation for the hot path. A request is cancelled when its client leaves or its
 * deadline passes, and each attempt when the request is or its own timeout fires. An
 * AbortController is a heavy object with a transferable signal, and an abort listener
 * on it an EventTarget registration; `AbortSignal.any`/`timeout` add weak references
 * and a finalization registry. So cancellation here is an EventEmitter with
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

/** Why a request was cancelled when its deadline (server.requestTimeoutMs, or a shorter one it was given: `why`) passed. */
export class DeadlinePassed extends Error {
  override readonly name = 'DeadlinePassed';
  constructor(
    readonly deadlineMs: number,
    why?: string,
  ) {
    super(`The request exceeded the gateway deadline of ${deadlineMs} ms${why ? ` (${why})` : ''}.`);
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
