/** Detects an upstream stream that went quiet: the failure class `silent`, and the upstream call aborted. */
import { ProviderError } from '../providers/errors';
import type { StartedStream } from './started-stream';

/**
 * The next chunk, or a `silent` failure when none comes within the idle timeout: one
 * timer per stream, re-armed per chunk (not a timer and a promise race per chunk). The
 * timer only counts while a chunk is awaited; a slow client reading the last one is not
 * the upstream's stall. On a stall it aborts the upstream call, and the read fails with
 * the `silent` error.
 */
export class IdleWatchdog<T> {
  private readonly timer: NodeJS.Timeout;
  private waiting = false;
  private stalled: ProviderError | undefined;

  constructor(
    private readonly stream: StartedStream<T>,
    private readonly idleMs: number,
  ) {
    this.timer = setTimeout(() => this.fire(), idleMs);
  }

  async next(): Promise<IteratorResult<T>> {
    this.timer.refresh();
    this.waiting = true;
    try {
      return await this.stream.rest.next();
    } catch (err) {
      throw this.stalled ?? err; // whatever shape the adapter gives its aborted read
    } finally {
      this.waiting = false;
    }
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private fire(): void {
    if (!this.waiting) {
      this.timer.refresh(); // the consumer held the last chunk; the upstream owes nothing yet
      return;
    }
    this.stalled = new ProviderError('silent', `no chunk within ${this.idleMs} ms`);
    this.stream.abort(this.stalled);
  }
}
