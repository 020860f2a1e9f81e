/** The in-memory QuotaStore: exact sliding windows for one process. */
import type { Clock } from '../core/clock';
import type { RateLimitInfo } from '../core/rate-limit';
import { classLimits } from './capacity-class';
import { UsageBuckets } from './usage-buckets';
import { MemoryLeases, type LeaseStore } from './leases';
import { PROBE_TIMEOUT_MS, RECOVERY_MS, withTokensLeft, type Admission, type Headroom, type QuotaLimits, type QuotaStore, type ReserveOptions, type Reservation } from './store';

const WINDOW_MS = 60_000;

interface Entry {
  id: number;
  at: number;
  tokens: number;
}

/** What a provider's headers said: at most this much more until `until`. */
interface ProviderCap {
  requests?: number;
  requestsUntil: number;
  tokens?: number;
  tokensUntil: number;
}

/** Reservations on unlimited routes carry this id: they have no window entry. */
const UNLIMITED = 0;

class RouteWindow {
  readonly unlimited = new UsageBuckets();
  /** Reservations by id, oldest first (a Map keeps insertion order and drops its head cheaply). */
  readonly entries = new Map<number, Entry>();
  tokens = 0;
  cooldownUntil = 0;
  cooldownReason = '';
  /** After the cooldown: who holds the probe slot, and until when. */
  probeHolder = '';
  probeUntil = 0;
  cap: ProviderCap = { requestsUntil: 0, tokensUntil: 0 };

  /** After a cooldown: undefined when no probe is due, a denial while another request probes, else the holder ('' for none) to probe as. */
  probeFor(now: number, holder: string | undefined): { deny: number } | { token: string } | undefined {
    if (this.cooldownUntil === 0) return undefined;
    if (now >= this.cooldownUntil + RECOVERY_MS) {
      this.cooldownUntil = 0;
      return undefined;
    }
    if (this.probeUntil > now && this.probeHolder !== holder) return { deny: Math.min(1000, this.probeUntil - now) };
    return { token: holder ?? '' };
  }

  /** Whether the window holds nothing a later call would see: dropping it changes no answer. */
  idle(now: number): boolean {
    this.trim(now);
    const free = this.unlimited.totals(now);
    return (
      this.entries.size === 0 &&
      free.requests === 0 &&
      free.tokens === 0 &&
      (this.cooldownUntil === 0 || now >= this.cooldownUntil + RECOVERY_MS) &&
      this.probeUntil <= now &&
      this.cap.requestsUntil <= now &&
      this.cap.tokensUntil <= now
    );
  }

  trim(now: number): void {
    for (const e of this.entries.values()) {
      if (e.at > now - WINDOW_MS) break;
      this.tokens -= e.tokens;
      this.entries.delete(e.id);
    }
  }

  /** Whether a request of `tokens` fits the limits now. */
  fits(limits: QuotaLimits, tokens: number): boolean {
    return (limits.rpm === undefined || this.entries.size + 1 <= limits.rpm) && (limits.tpm === undefined || this.tokens + tokens <= limits.tpm);
  }

  /** Ms until a request of `tokens` fits; undefined when it fits now. */
  waitFor(now: number, limits: QuotaLimits, tokens: number): { ms: number; reason: 'rpm' | 'tpm' } | undefined {
    if (limits.rpm !== undefined && this.entries.size + 1 > limits.rpm) {
      // A limit of 0 (a class's share of a small rpm rounds down to it) never fits: there is no entry to wait for.
      if (limits.rpm === 0) return { ms: WINDOW_MS, reason: 'rpm' };
      // The request fits once the entry rpm places from the newest has left the window.
      let skip = this.entries.size - limits.rpm;
      for (const e of this.entries.values()) if (skip-- === 0) return { ms: e.at + WINDOW_MS - now, reason: 'rpm' };
    }
    if (limits.tpm !== undefined && this.tokens + tokens > limits.tpm) {
      if (tokens > limits.tpm) return { ms: WINDOW_MS, reason: 'tpm' };
      let freed = 0;
      for (const e of this.entries.values()) {
        freed += e.tokens;
        if (this.tokens - freed + tokens <= limits.tpm) return { ms: e.at + WINDOW_MS - now, reason: 'tpm' };
      }
      return { ms: WINDOW_MS, reason: 'tpm' };
    }
    return undefined;
  }
}

export class MemoryQuotaStore implements QuotaStore {
  private readonly routes = new Map<string, RouteWindow>();
  private readonly concurrency = new MemoryLeases();
  private nextId = 1;
  /** When idle windows are next dropped (route keys come and go with spoke addresses and reloads). */
  private sweepAt = 0;

  constructor(private readonly clock: Clock) {}

  /** Windows kept now (idle ones are dropped at most once a minute, when a new key arrives). */
  get size(): number {
    return this.routes.size;
  }

  leases(): LeaseStore {
    return this.concurrency;
  }

  private window(key: string): RouteWindow {
    let w = this.routes.get(key);
    if (!w) {
      // Only a new key grows the map, so the sweep runs here: known keys pay nothing for it.
      const now = this.clock.now();
      if (now >= this.sweepAt) this.sweep(now);
      this.routes.set(key, (w = new RouteWindow()));
    }
    return w;
  }

  private sweep(now: number): void {
    this.sweepAt = now + WINDOW_MS;
    for (const [key, w] of this.routes) if (w.idle(now)) this.routes.delete(key);
  }

  reserve(key: string, limits: QuotaLimits, tokens: number, opts?: ReserveOptions): Promise<Admission> {
    return Promise.resolve(this.reserveNow(key, limits, tokens, opts));
  }

  reserveNow(key: string, limits: QuotaLimits, tokens: number, opts?: ReserveOptions): Admission {
    const now = this.clock.now();
    const w = this.window(key);
    if (w.cooldownUntil > now) return { ok: false, reason: 'cooldown', retryAfterMs: w.cooldownUntil - now };
    const probe = w.probeFor(now, opts?.probe);
    if (probe && 'deny' in probe) return { ok: false, reason: 'cooldown', retryAfterMs: probe.deny };
    const admission = this.admitNow(w, key, now, limits, tokens, opts?.share);
    if (probe && admission.ok) {
      w.probeHolder = probe.token || `#${this.nextId++}`;
      w.probeUntil = now + PROBE_TIMEOUT_MS;
      admission.probe = w.probeHolder;
    }
    return admission;
  }

  private admitNow(w: RouteWindow, key: string, now: number, limits: QuotaLimits, tokens: number, share: number | undefined): Admission {
    w.trim(now);
    const applied = share === undefined ? limits : classLimits(limits, share);
    const wait = w.waitFor(now, applied, tokens);
    if (wait) {
      // Room left under the whole limit: it is kept for a higher class.
      const reason = share !== undefined && w.fits(limits, tokens) ? 'reserved' : wait.reason;
      return withTokensLeft({ ok: false, reason, retryAfterMs: Math.max(1, wait.ms) }, applied.tpm, w.tokens);
    }
    const cap = w.cap;
    if (cap.requestsUntil > now && cap.requests !== undefined && cap.requests < 1) {
      return { ok: false, reason: 'provider-limit', retryAfterMs: cap.requestsUntil - now };
    }
    if (cap.tokensUntil > now && cap.tokens !== undefined && cap.tokens < tokens) {
      return { ok: false, reason: 'provider-limit', retryAfterMs: cap.tokensUntil - now };
    }
    if (cap.requestsUntil > now && cap.requests !== undefined) cap.requests -= 1;
    if (cap.tokensUntil > now && cap.tokens !== undefined) cap.tokens -= tokens;
    if (limits.rpm === undefined && limits.tpm === undefined) {
      w.unlimited.add(now, 1, tokens);
      return { ok: true, reservation: { key, id: UNLIMITED, tokens } };
    }
    const entry = { id: this.nextId++, at: now, tokens };
    w.entries.set(entry.id, entry);
    w.tokens += tokens;
    return { ok: true, reservation: { key, id: entry.id, tokens } };
  }

  /** Counts a request admitted elsewhere (the shared store), whatever the limits: a mirror. */
  recordNow(key: string, tokens: number): Reservation {
    const w = this.window(key);
    const entry = { id: this.nextId++, at: this.clock.now(), tokens };
    w.entries.set(entry.id, entry);
    w.tokens += tokens;
    return { key, id: entry.id, tokens };
  }

  reconcile(res: Reservation, actualTokens: number): Promise<void> {
    this.adjust(res, actualTokens);
    return Promise.resolve();
  }

  release(res: Reservation): Promise<void> {
    this.adjust(res, 0);
    return Promise.resolve();
  }

  cancel(res: Reservation): Promise<void> {
    const w = this.routes.get(res.key);
    if (res.id === UNLIMITED) w?.unlimited.add(this.clock.now(), -1, -res.tokens);
    const e = w?.entries.get(res.id);
    if (w && e) {
      w.tokens -= e.tokens;
      w.entries.delete(res.id);
    }
    return Promise.resolve();
  }

  private adjust(res: Reservation, tokens: number): void {
    const w = this.routes.get(res.key);
    if (res.id === UNLIMITED) {
      w?.unlimited.add(this.clock.now(), 0, tokens - res.tokens);
      return;
    }
    const e = w?.entries.get(res.id);
    if (!w || !e) return; // already out of the window
    w.tokens += tokens - e.tokens;
    e.tokens = tokens;
  }

  cooldown(key: string, untilMs: number, reason: string): Promise<void> {
    const w = this.window(key);
    if (untilMs > w.cooldownUntil) {
      w.cooldownUntil = untilMs;
      w.cooldownReason = reason;
    }
    return Promise.resolve();
  }

  claimProbe(key: string, holder: string, untilMs: number): Promise<boolean> {
    const w = this.window(key);
    if (w.probeUntil > this.clock.now() && w.probeHolder !== holder) return Promise.resolve(false);
    w.probeHolder = holder;
    w.probeUntil = untilMs + PROBE_TIMEOUT_MS;
    return Promise.resolve(true);
  }

  endProbe(key: string, probe: string, ok: boolean): Promise<void> {
    const w = this.routes.get(key);
    if (!w || w.probeHolder !== probe) return Promise.resolve();
    w.probeUntil = 0;
    w.probeHolder = '';
    // A success opens the route, unless a newer cooldown began meanwhile.
    if (ok && w.cooldownUntil <= this.clock.now()) w.cooldownUntil = 0;
    return Promise.resolve();
  }

  observe(key: string, info: RateLimitInfo): Promise<void> {
    const now = this.clock.now();
    const cap = this.window(key).cap;
    if (info.remainingRequests !== undefined) {
      cap.requests = info.remainingRequests;
      cap.requestsUntil = now + (info.resetRequestsMs ?? 1000);
    }
    if (info.remainingTokens !== undefined) {
      cap.tokens = info.remainingTokens;
      cap.tokensUntil = now + (info.resetTokensMs ?? 1000);
    }
    return Promise.resolve();
  }

  peek(key: string, limits: QuotaLimits): Headroom {
    const now = this.clock.now();
    const w = this.routes.get(key);
    if (!w) return { fraction: 1, requestsUsed: 0, tokensUsed: 0 };
    w.trim(now);
    let fraction = 1;
    if (limits.rpm) fraction = Math.min(fraction, 1 - w.entries.size / limits.rpm);
    if (limits.tpm) fraction = Math.min(fraction, 1 - w.tokens / limits.tpm);
    const free = w.unlimited.totals(now);
    const h: Headroom = { fraction: Math.max(0, fraction), requestsUsed: w.entries.size + free.requests, tokensUsed: w.tokens + free.tokens };
    if (w.cooldownUntil > now) {
      h.cooldownUntil = w.cooldownUntil;
      h.cooldownReason = w.cooldownReason;
    }
    return h;
  }
}
