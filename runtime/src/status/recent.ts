/**
 * What the status page lists under "recent": the last failovers, ejections, cooldowns and
 * failed requests, kept in a small ring buffer fed by the gateway's event bus, plus
 * running totals since start. Cheap per event: the hot path only counts and, rarely, pushes.
 */
import { hedgeOutcome, PASSED_OVER, type AttemptRecord, type FailureClass } from '../core/attempt';
import type { EventBus, GatewayEvent, RequestEvent } from '../observability/events';
import { brokenAfterStart } from '../observability/labels';

export type RecentKind = 'failover' | 'ejection' | 'cooldown' | 'error';

export interface RecentEntry {
  /** ISO time of the event. */
  at: string;
  kind: RecentKind;
  /** The route the entry is about (ejections, cooldowns; failovers: the route that answered). */
  route?: string;
  model?: string;
  /** Ejections and cooldowns: when the route may serve again (ISO). */
  until?: string;
  text: string;
}

export interface StatusTotals {
  requests: number;
  /** Requests answered with an error status of 500 or more (upstream trouble, not bad input), or streams that broke after their 200 and could not be continued. */
  failed: number;
  /** Requests answered after a failed attempt on another route (or a stream continued elsewhere). */
  failovers: number;
  ejections: number;
  cooldowns: number;
  /** Streams hedged on a second route, and how many of those hedges answered first. */
  hedges: number;
  hedgesWon: number;
  /** Session affinity: requests of a session served where it was last (hit), first seen (new), moved. */
  sessions: { hit: number; new: number; moved: number };
  /** Prompt tokens in, and of them what providers' prompt caches read and wrote. */
  promptTokens: { input: number; cacheRead: number; cacheWrite: number };
}

/** Attempt outcomes that mean a request was really sent and failed (not a route passed over). */
const FAILED: ReadonlySet<AttemptRecord['outcome']> = new Set<FailureClass>(['throttled', 'quota_exhausted', 'transient', 'silent', 'context_length', 'refused', 'invalid_output']);

export class RecentEvents {
  private readonly ring: RecentEntry[] = [];
  private next = 0;
  readonly totals: StatusTotals = {
    requests: 0,
    failed: 0,
    failovers: 0,
    ejections: 0,
    cooldowns: 0,
    hedges: 0,
    hedgesWon: 0,
    sessions: { hit: 0, new: 0, moved: 0 },
    promptTokens: { input: 0, cacheRead: 0, cacheWrite: 0 },
  };
  private readonly unsubscribe: () => void;

  constructor(
    events: EventBus,
    private readonly now: () => number,
    private readonly size = 50,
  ) {
    this.unsubscribe = events.subscribe((e) => this.observe(e));
  }

  /** Newest first. */
  entries(): RecentEntry[] {
    const n = this.ring.length;
    const out: RecentEntry[] = [];
    for (let i = 1; i <= n; i++) out.push(this.ring[(this.next - i + n) % n]);
    return out;
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(e: GatewayEvent): void {
    switch (e.type) {
      case 'ejection':
        this.totals.ejections++;
        this.push({ kind: 'ejection', route: e.route, until: new Date(e.until).toISOString(), text: e.reason });
        return;
      case 'cooldown':
        this.totals.cooldowns++;
        this.push({ kind: 'cooldown', route: e.route, until: new Date(e.until).toISOString(), text: e.reason });
        return;
      case 'request':
        this.onRequest(e);
    }
  }

  private onRequest(e: RequestEvent): void {
    this.totals.requests++;
    if (e.affinity) this.totals.sessions[e.affinity]++;
    if (e.usage) {
      const t = this.totals.promptTokens;
      t.input += e.usage.prompt_tokens;
      t.cacheRead += e.usage.prompt_tokens_details?.cached_tokens ?? 0;
      t.cacheWrite += e.usage.prompt_tokens_details?.cache_write_tokens ?? 0;
    }
    const hedge = hedgeOutcome(e.attempts);
    if (hedge) {
      this.totals.hedges++;
      if (hedge === 'won') this.totals.hedgesWon++;
    }
    const failed = e.attempts.filter((a) => FAILED.has(a.outcome));
    if (brokenAfterStart(e)) {
      // Not a failover that served: the client got part of an answer and an error event.
      this.totals.failed++;
      const breaks = e.continuations > 0 ? ` after ${e.continuations} continuation${e.continuations > 1 ? 's' : ''}` : '';
      this.push({ kind: 'error', route: e.route, model: e.model, text: `${e.model}: stream started on ${e.route ?? 'a route'} ended early (${e.errorCode})${breaks}` });
      return;
    }
    if (e.status >= 500) {
      this.totals.failed++;
      const tried = failed.map(describe).join(', ');
      // Routes not asked (cooling down, ejected ...) are why the failures above were the last word.
      const skipped = e.attempts
        .filter((a) => PASSED_OVER.has(a.outcome))
        .map(describe)
        .join(', ');
      const text = `${e.model}: answered ${e.status} ${e.errorCode ?? ''}`.trimEnd() + (tried ? ` after ${tried}` : '') + (skipped ? `; passed over ${skipped}` : '');
      this.push({ kind: 'error', model: e.model, text });
      return;
    }
    if (e.status >= 400 || (failed.length === 0 && e.continuations === 0)) return;
    this.totals.failovers++;
    const from = failed.map(describe);
    if (e.breaks) for (const b of e.breaks) from.push(`${b.route} (${b.outcome} mid-stream)`);
    else if (e.continuations > 0) from.push(`${e.continuations} stream break${e.continuations > 1 ? 's' : ''}`);
    this.push({ kind: 'failover', route: e.route, model: e.model, text: `${e.model}: ${from.join(', ')} → served by ${e.route ?? 'another route'}` });
  }

  private push(entry: Omit<RecentEntry, 'at'>): void {
    const full = { at: new Date(this.now()).toISOString(), ...entry };
    if (this.ring.length < this.size) this.ring.push(full);
    else this.ring[this.next] = full;
    this.next = (this.next + 1) % this.size;
  }
}

function describe(a: AttemptRecord): string {
  return `${a.route} (${a.outcome}${a.status ? ` ${a.status}` : ''})`;
}
