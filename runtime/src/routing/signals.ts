/**
 * Abort plumbing for the hot path. `AbortSignal.any` and `AbortSignal.timeout` are slow
 * on Node 20 (weak references and a finalization registry per signal) and showed up in
 * the profile; a listener on the parent does the same job for signals that live no
 * longer than their request.
 */

/** Aborts `child` when `parent` aborts (at once if it already has). */
export function followAbort(parent: AbortSignal, child: AbortController): void {
  if (parent.aborted) child.abort(parent.reason);
  else parent.addEventListener('abort', () => child.abort(parent.reason), { once: true });
}

/** The part of Node's ServerResponse the lifetime listens to. */
export interface NodeResponse {
  readonly writableFinished: boolean;
  once(event: 'close', listener: () => void): unknown;
}

/** A request's own signal: aborted when the client leaves, when the deadline passes, or on demand. */
export class RequestLifetime {
  private readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout;
  deadlinePassed = false;
  clientLeft = false;

  /**
   * `client` is the request's signal, or on Node the response itself: its 'close' before
   * the end says the client left, without the abort controller a request signal costs.
   */
  constructor(client: AbortSignal | NodeResponse, deadlineMs: number) {
    const onClient = (reason: unknown) => {
      this.clientLeft = true;
      this.ctl.abort(reason);
    };
    if (!(client instanceof AbortSignal)) {
      client.once('close', () => {
        if (!client.writableFinished) onClient(new Error('Client connection prematurely closed.'));
      });
    } else if (client.aborted) onClient(client.reason);
    else client.addEventListener('abort', () => onClient(client.reason), { once: true });
    this.timer = setTimeout(() => {
      this.deadlinePassed = true;
      this.ctl.abort(new DOMException(`the request deadline of ${deadlineMs} ms passed`, 'TimeoutError'));
    }, deadlineMs);
  }

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  /** The client stopped reading the answer. */
  clientGone(reason: unknown): void {
    this.clientLeft = true;
    this.ctl.abort(reason);
  }

  /** The answer is complete (or failed): the deadline no longer matters. */
  end(): void {
    clearTimeout(this.timer);
  }
}
