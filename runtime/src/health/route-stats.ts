/** What the gateway has observed of each route: its circuit and its latency. */
import type { Clock } from '../core/clock';
import { Circuit, DEFAULT_CIRCUIT, type CircuitPolicy } from './circuit';
import { LatencyHistogram } from './latency-histogram';

/** Exponentially weighted moving average; `undefined` until the first sample. */
export class Ewma {
  value: number | undefined;
  constructor(private readonly alpha = 0.3) {}
  add(sample: number): void {
    this.value = this.value === undefined ? sample : this.value + this.alpha * (sample - this.value);
  }
}

export class RouteStats {
  readonly circuit: Circuit;
  /** Time to the first streamed chunk. */
  readonly firstChunkMs = new Ewma();
  /** Time of a whole non-streamed answer. */
  readonly completeMs = new Ewma();
  /** The distributions behind adaptive timeouts and hedging (routing/adaptive-timeout.ts): streams and whole answers apart. */
  readonly firstChunkDistribution: LatencyHistogram;
  readonly completeDistribution: LatencyHistogram;
  inflight = 0;
  successes = 0;
  failures = 0;
  lastFailure: { at: number; what: string } | undefined;

  constructor(clock: Clock, policy: CircuitPolicy) {
    this.circuit = new Circuit(clock, policy);
    this.firstChunkDistribution = new LatencyHistogram(clock);
    this.completeDistribution = new LatencyHistogram(clock);
  }

  /** Time to the first chunk (streams) or to the whole answer, as a distribution. */
  distribution(stream: boolean): LatencyHistogram {
    return stream ? this.firstChunkDistribution : this.completeDistribution;
  }

  latency(stream: boolean): number | undefined {
    return (stream ? this.firstChunkMs.value : this.completeMs.value) ?? (stream ? this.completeMs.value : this.firstChunkMs.value);
  }
}

export class RouteStatsRegistry {
  private readonly stats = new Map<string, RouteStats>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: CircuitPolicy = DEFAULT_CIRCUIT,
  ) {}

  get(key: string): RouteStats {
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = new RouteStats(this.clock, this.policy)));
    return s;
  }

  /** Keeps the stats of routes that still exist after a config reload. */
  retain(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const k of this.stats.keys()) if (!keep.has(k)) this.stats.delete(k);
  }
}
