/** When a client request ends early: its client left or its deadline passed. */
import { CancelSource, DeadlinePassed } from '../core/cancellation';

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
  constructor(client: AbortSignal | NodeResponse, deadlineMs: number, why?: string) {
    super();
    if (!(client instanceof AbortSignal)) {
      client.once('close', () => {
        if (!client.writableFinished) this.clientGone(new Error('Client connection prematurely closed.'));
      });
    } else if (client.aborted) this.clientGone(client.reason);
    else client.addEventListener('abort', () => this.clientGone(client.reason), { once: true });
    this.timer = setTimeout(() => {
      this.deadlinePassed = true;
      this.abort(new DeadlinePassed(deadlineMs, why));
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
