/**
 * A streamed answer straight from undici's dispatcher: the body is a small queue the
 * adapter iterates, not the Readable (and its async iterator) that `request()` builds
 * around every answer; that machinery sat between the upstream's first chunk and the
 * client's (bench/analysis.md, section 0). Backpressure as a Readable gives it: past a
 * few queued chunks the socket is paused until the reader catches up.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { UpstreamBody, UpstreamResponse } from './http';
import { onUpstreamAbort, type UpstreamSignal } from './types';

/** Chunks queued before the socket is paused (SSE chunks are small: this is a few KB). */
const HIGH_WATER = 16;

type Waiter = { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (err: unknown) => void };

/** The body of one streamed answer: read once, in order, by one reader. */
export class StreamedBody implements UpstreamBody, AsyncIterator<Uint8Array> {
  private readonly queue: Buffer[] = [];
  private head = 0;
  private waiter: Waiter | undefined;
  /** The answer came to its end (or failed with `failure`). */
  private ended = false;
  private failure: Error | undefined;
  /** The reader gave up: nothing more is queued. */
  private dropped = false;

  constructor(private readonly controller: Dispatcher.DispatchController) {}

  /** undici: a chunk arrived. */
  push(chunk: Buffer): void {
    if (this.dropped) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    if (this.queue.length - this.head >= HIGH_WATER && !this.controller.paused) this.controller.pause();
  }

  /** undici: the answer ended, whole (`err` undefined) or broken. */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err === undefined || err instanceof Error ? err : new Error('the upstream answer was cancelled', { cause: err });
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    if (this.failure === undefined) w.resolve(DONE);
    else w.reject(this.failure);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head];
      this.queue[this.head++] = EMPTY;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
        if (this.controller.paused && !this.ended) this.controller.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return this.failure === undefined ? Promise.resolve(DONE) : Promise.reject(this.failure);
    if (this.dropped) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** A reader that stops early (break, error) gives the rest up: the connection is closed. */
  return(): Promise<IteratorResult<Uint8Array>> {
    this.destroy();
    return Promise.resolve(DONE);
  }

  async text(): Promise<string> {
    const parts: Buffer[] = [];
    for (let r = await this.next(); !r.done; r = await this.next()) parts.push(r.value as Buffer);
    return parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8');
  }

  /** Reads and drops the rest, so that the connection can be reused; past `limit` bytes it is closed instead. */
  async dump(opts?: { limit?: number }): Promise<void> {
    const limit = opts?.limit ?? Infinity;
    let size = 0;
    for (let r = await this.next(); !r.done; r = await this.next()) {
      size += r.value.byteLength;
      if (size > limit) return this.destroy();
    }
  }

  destroy(err?: Error): void {
    this.dropped = true;
    this.queue.length = 0;
    this.head = 0;
    if (!this.ended) this.controller.abort(err ?? new Error('the upstream answer was given up'));
    // A read still waiting ends with the rest given up.
    this.end(err);
  }
}

const DONE: IteratorResult<Uint8Array> = Object.freeze({ value: undefined, done: true });
const EMPTY = Buffer.alloc(0);

/**
 * A dispatch handler linked to its call's cancellation from the start: a call still
 * waiting for a connection is rejected with the reason at once, a started one is aborted
 * through undici's controller. Subclasses `unlink()` when their answer ends.
 */
export abstract class CancellableHandler {
  protected controller: Dispatcher.DispatchController | undefined;
  protected abortReason: unknown;
  protected readonly unlink: () => void;

  constructor(
    signal: UpstreamSignal,
    protected readonly reject: (err: unknown) => void,
  ) {
    this.unlink = onUpstreamAbort(signal, (reason) => {
      this.abortReason = reason ?? new Error('aborted');
      if (this.controller) this.controller.abort(this.abortReason as Error);
      else this.reject(this.abortReason);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason !== undefined) controller.abort(this.abortReason as Error);
  }
}

/**
 * Dispatches one request whose answer is streamed: resolves at the answer's headers with
 * a `StreamedBody`, rejects with the network error (or the abort's reason) before them.
 * The cancellation stays linked until the body ends.
 */
export class StreamAnswerHandler extends CancellableHandler implements Dispatcher.DispatchHandler {
  private body: StreamedBody | undefined;

  constructor(
    signal: UpstreamSignal,
    private readonly resolve: (answer: UpstreamResponse) => void,
    reject: (err: unknown) => void,
  ) {
    super(signal, reject);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // informational (103 Early Hints): the answer comes after it
    this.body = new StreamedBody(controller);
    this.resolve({ statusCode, headers, body: this.body });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body?.push(chunk);
  }

  onResponseEnd(): void {
    this.unlink();
    this.body?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.unlink();
    // Cancelled: the reader learns the cancellation's reason, as a Readable destroyed with it would say.
    const reason = this.abortReason ?? err;
    if (this.body) this.body.end(reason);
    else this.reject(reason);
  }
}
