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

/** A request's own signal: aborted when the client leaves, when the deadline passes, or on demand. */
export class RequestLifetime {
  private readonly ctl = new AbortController();
  private readonly timer: NodeJS.Timeout;
  deadlinePassed = false;
  clientLeft = false;

  constructor(client: AbortSignal, deadlineMs: number) {
    const onClient = () => {
      this.clientLeft = true;
      this.ctl.abort(client.reason);
    };
    if (client.aborted) onClient();
    else client.addEventListener('abort', onClient, { once: true });
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
