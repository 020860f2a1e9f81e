/** A clock a test moves by hand. */
import type { Clock } from '../../runtime/src/core/clock';

export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/** The real clock moved to another moment: time still passes, from where the test puts it. */
export class ShiftedClock implements Clock {
  constructor(private offset = 0) {}
  now(): number {
    return Date.now() + this.offset;
  }
  /** Moves the clock so that it reads `iso` now. */
  set(iso: string): void {
    this.offset = Date.parse(iso) - Date.now();
  }
}
