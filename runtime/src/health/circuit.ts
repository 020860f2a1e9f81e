/**
 * Passive outlier ejection for one route: consecutive failures (or a high failure rate)
 * open the circuit for an ejection time that grows each time; while open, one probe at a
 * time may go through (half-open), and one success closes it at once.
 */
import type { Clock } from '../core/clock';

export interface CircuitPolicy {
  /** Consecutive failures that eject the route. */
  consecutiveFailures: number;
  /** Failure rate over the last `window` outcomes that ejects (with at least `minRequests`). */
  failureRate: number;
  window: number;
  minRequests: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** A probe that has not reported back by then frees the probe slot. */
  probeTimeoutMs: number;
}

export const DEFAULT_CIRCUIT: CircuitPolicy = {
  consecutiveFailures: 3,
  failureRate: 0.5,
  window: 20,
  minRequests: 10,
  baseEjectionMs: 1000,
  // Probes are real requests: a recovered route gets its traffic back within this, at the latest.
  maxEjectionMs: 10_000,
  probeTimeoutMs: 30_000,
};

export type CircuitState = 'closed' | 'open' | 'half-open';

export class Circuit {
  private consecutive = 0;
  private readonly outcomes: boolean[] = [];
  private ejections = 0;
  private openUntil = 0;
  private probeSince: number | undefined;
  private lastEjectedAt: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly policy: CircuitPolicy = DEFAULT_CIRCUIT,
  ) {}

  state(): CircuitState {
    if (this.openUntil === 0) return 'closed';
    return this.clock.now() < this.openUntil ? 'open' : 'half-open';
  }

  /** When an open circuit lets its next probe through. */
  reopensAt(): number {
    return this.openUntil;
  }

  /** Whether a request may go now; in half-open, takes the single probe slot. */
  tryAcquire(): boolean {
    const s = this.state();
    if (s === 'closed') return true;
    if (s === 'open') return false;
    const now = this.clock.now();
    if (this.probeSince !== undefined && now - this.probeSince < this.policy.probeTimeoutMs) return false;
    this.probeSince = now;
    return true;
  }

  /** Whether a request could go now, without taking the probe slot. */
  available(): boolean {
    const s = this.state();
    if (s !== 'half-open') return s === 'closed';
    return this.probeSince === undefined || this.clock.now() - this.probeSince >= this.policy.probeTimeoutMs;
  }

  /**
   * A success. While ejected, only the probe's own success (an attempt started once the
   * probe slot was taken) closes the circuit: a request from before the ejection proves nothing.
   */
  onSuccess(startedAt = this.clock.now()): void {
    this.consecutive = 0;
    this.record(true);
    if (this.openUntil === 0) return;
    if (this.probeSince !== undefined && startedAt >= this.probeSince) {
      this.openUntil = 0;
      this.outcomes.length = 0;
      this.probeSince = undefined;
    }
  }

  /**
   * A failure that says the route is unwell (transient, silent); `hard` ejects at once.
   * While ejected, only the probe's failure re-ejects (for longer); failures of requests
   * that were already in flight when the route was ejected change nothing.
   */
  onFailure(startedAt = this.clock.now(), hard = false): void {
    this.consecutive++;
    this.record(false);
    const now = this.clock.now();
    if (this.openUntil !== 0) {
      if (this.probeSince !== undefined && startedAt >= this.probeSince) {
        this.probeSince = undefined;
        this.eject(now);
      }
      return;
    }
    const failures = this.outcomes.filter((ok) => !ok).length;
    const rateTrip = this.outcomes.length >= this.policy.minRequests && failures / this.outcomes.length >= this.policy.failureRate;
    if (hard || this.consecutive >= this.policy.consecutiveFailures || rateTrip) this.eject(now);
  }

  /** A probe that ended without a verdict on the route (client gone, a 429): frees the slot. */
  onAbandon(startedAt = this.clock.now()): void {
    if (this.probeSince !== undefined && startedAt >= this.probeSince) this.probeSince = undefined;
  }

  private eject(now: number): void {
    // Ejections that come back within a few minutes grow; a long healthy spell resets them.
    if (this.lastEjectedAt !== undefined && now - this.lastEjectedAt > 5 * 60_000) this.ejections = 0;
    const ms = Math.min(this.policy.maxEjectionMs, this.policy.baseEjectionMs * 2 ** this.ejections);
    this.ejections++;
    this.lastEjectedAt = now;
    this.openUntil = now + ms;
  }

  private record(ok: boolean): void {
    this.outcomes.push(ok);
    if (this.outcomes.length > this.policy.window) this.outcomes.shift();
  }
}
