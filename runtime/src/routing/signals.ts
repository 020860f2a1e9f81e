/**
 * Cancellation for the hot path. A request is cancelled when its client leaves or its
 * deadline passes; each attempt then needs a real AbortSignal (undici, the AWS SDK), but
 * the request itself does not: on Node 20 an AbortController costs ~1 KB and a
 * transferable signal, and `AbortSignal.any`/`timeout` add weak references and a
 * finalization registry. So the request's cancellation is a plain listener list, and
 * only attempts own an AbortController, linked to it.
 */

export type AbortListener = (reason: unknown) => void;

/** What the routing core reads of a request's cancellation. */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Calls `listener` once on cancellation (at once if already cancelled); returns the unsubscribe. */
  onAbort(listener: AbortListener): () => void;
}

const NOOP = (): void => undefined;

/** A cancellation that is cancelled on demand. */
export class CancelSource implements Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private listeners: AbortListener[] | undefined;

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l(reason);
  }

  onAbort(listener: AbortListener): () => void {
    if (this.aborted) {
      listener(this.reason);
      return NOOP;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }
}

/** An AbortController aborted with `parent`; `unlink` when the child's work is done. */
export function linkedController(parent: Cancellation): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  const unlink = parent.onAbort((reason) => controller.abort(reason));
  return { controller, unlink };
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
