/**
 * The attempt loop with the failover rules of ARCHITECTURE.md. Each failure class has
 * its answer: throttled -> cooldown and an equivalent route at once; quota spent -> park
 * the route for long; transient -> the next route, the only route gets one jittered
 * retry; silent -> never this route again in this request; too long -> only a fallback
 * with a larger context; refused -> stop. Equivalent routes come before model fallbacks,
 * switching needs no backoff, and a retry budget caps extra attempts.
 */
import type { RouteStatsRegistry } from '../health/route-stats';
import type { AttemptRecord } from '../core/attempt';
import { isProviderError, ProviderError } from '../providers/errors';
import { endpointKey, type Route, type UpstreamMeta } from '../providers/types';
import type { QuotaStore, Reservation } from '../quota/store';
import type { Clock, Random } from '../core/clock';
import { limitsFor } from './limits';
import { fullJitterBackoff, type RetryBudget } from './retry';
import { linkedSource, sleepUnlessCancelled, type CancelSource, type Cancellation } from '../core/cancellation';
import type { ModelRoutes } from './route-table';
import type { EventBus } from '../observability/events';
import type { EndpointHealth, RouteSelector } from './selector';
import type { AttemptTimeouts } from './timeouts';

/** Every candidate failed or was skipped; `last` is the most telling failure. */
export class AllRoutesFailed extends Error {
  override readonly name = 'AllRoutesFailed';
  constructor(
    readonly attempts: AttemptRecord[],
    readonly last: ProviderError | undefined,
  ) {
    super(attempts.map(describeAttempt).join('; ') || 'no route is configured for this model');
  }
}

function describeAttempt(a: AttemptRecord): string {
  return `${a.route}: ${a.outcome}${a.status ? ` ${a.status}` : ''}${a.message ? ` (${a.message})` : ''}`;
}

export interface Answered<T> {
  value: T;
  route: Route;
  attempts: AttemptRecord[];
  /** Counts the real tokens once the answer is complete (or 0 when it failed later). */
  settle(actualTokens: number): void;
}

export interface RoutedRequest {
  /** The logical model's routes. */
  routes: ModelRoutes;
  stream: boolean;
  /** Prompt estimate plus the request's max output: what admission reserves. */
  estimatedTokens: number;
  /** Epoch ms by which the request must be answered. */
  deadline: number;
  /** The client left or the deadline passed: stop. */
  cancel: Cancellation;
  timeouts: AttemptTimeouts;
  /** Routes this request must not use (a continuation after a failed stream). */
  exclude?: ReadonlySet<string>;
  /** Why a route cannot take this request at all (e.g. its image URLs), or undefined: such routes are passed over. */
  cannotServe?: (route: Route) => string | undefined;
}

/**
 * Starts one attempt; resolves when the route has answered (stream: first chunk).
 * `attempt` is the attempt's own cancellation, cancelled with the request or when the
 * attempt times out; a stream keeps it for its whole life and aborts it on a stall.
 */
export type AttemptFn<T> = (route: Route, attempt: CancelSource) => Promise<T>;

export interface ExecutorDeps {
  selector: RouteSelector;
  stats: RouteStatsRegistry;
  quota: QuotaStore;
  budget: RetryBudget;
  clock: Clock;
  random: Random;
  /** Longest Retry-After the gateway waits out on the only route (within the deadline). */
  maxWaitMs?: number;
  endpoints?: EndpointHealth;
  events?: EventBus;
}

const PARK_MS = 5 * 60_000;
const MAX_THROTTLE_GUESS_MS = 60_000;

export class AttemptExecutor {
  /** Per route: consecutive throttling episodes, and when the current one began and ends. */
  private readonly throttleStreak = new Map<string, { streak: number; since: number; until: number }>();
  constructor(private readonly deps: ExecutorDeps) {}

  async run<T extends UpstreamMeta>(req: RoutedRequest, attempt: AttemptFn<T>): Promise<Answered<T>> {
    const { clock, budget } = this.deps;
    budget.onRequest();
    const attempts: AttemptRecord[] = [];
    const excluded = new Set<string>(req.exclude);
    let last: ProviderError | undefined;
    let waited = false;
    const sent = { count: 0 };
    /** Routes passed over only for a cooldown: after a wait they may serve again. */
    let waitable: Set<string> | undefined;
    let shortestWait: number | undefined;
    const noteWait = (ms: number | undefined) => {
      if (ms !== undefined && ms > 0) shortestWait = Math.min(shortestWait ?? Infinity, ms);
    };

    for (;;) {
      const { groups, skipped } = this.deps.selector.select(req.routes, req.stream);
      let tooLongFor: number | undefined; // context size that was too small, when known
      shortestWait = undefined;
      for (const s of skipped) {
        if (!excluded.has(s.route)) {
          const retryAfterMs = s.until === undefined ? undefined : Math.max(0, s.until - clock.now());
          attempts.push({ route: s.route, outcome: s.reason, ms: 0, retryAfterMs, message: s.until ? `until ${new Date(s.until).toISOString()}` : undefined });
        }
        if (s.reason === 'cooldown' && s.until) noteWait(s.until - clock.now());
      }

      for (const group of groups) {
        const target = group[0];
        if (tooLongFor !== undefined) {
          const size = req.routes.model.targets.find((t) => t.provider === target.provider.id && t.model === target.model)?.contextTokens;
          if (size === undefined || size <= tooLongFor) continue;
        }
        for (let i = 0; i < group.length; i++) {
          const route = group[i];
          if (excluded.has(route.key)) continue;
          const unsupported = req.cannotServe?.(route);
          if (unsupported !== undefined) {
            attempts.push({ route: route.key, outcome: 'unsupported', ms: 0, message: unsupported });
            excluded.add(route.key);
            continue;
          }
          if (req.cancel.aborted) throw req.cancel.reason;
          const outcome = await this.tryRoute(route, req, attempt, attempts, () => onlyRouteLeft(groups, route, excluded), sent);
          if ('answer' in outcome) return outcome.answer;
          if (outcome.error) last = outcome.error;
          if (outcome.waitMs !== undefined) {
            noteWait(outcome.waitMs);
            (waitable ??= new Set()).add(route.key);
          }
          if (outcome.stop) throw new AllRoutesFailed(attempts, last);
          if (outcome.exclude) excluded.add(route.key);
          if (outcome.tooLong) {
            const size = req.routes.model.targets.find((t) => t.provider === route.provider.id && t.model === route.model)?.contextTokens;
            tooLongFor = size ?? Infinity;
            break; // never the same model again
          }
        }
      }

      // Only throttled routes left: wait out a short Retry-After when it fits the deadline.
      const remaining = req.deadline - clock.now();
      const maxWait = this.deps.maxWaitMs ?? 10_000;
      if (!waited && shortestWait !== undefined && shortestWait <= maxWait && shortestWait < remaining - 1000 && last?.failure !== 'context_length') {
        waited = true;
        await sleepUnlessCancelled(shortestWait, req.cancel);
        for (const k of waitable ?? []) excluded.delete(k);
        continue;
      }
      throw new AllRoutesFailed(attempts, last);
    }
  }

  private async tryRoute<T extends UpstreamMeta>(
    route: Route,
    req: RoutedRequest,
    attempt: AttemptFn<T>,
    attempts: AttemptRecord[],
    onlyRouteLeft: () => boolean,
    sent: { count: number },
  ): Promise<{ answer: Answered<T> } | { error?: ProviderError; waitMs?: number; stop?: boolean; exclude?: boolean; tooLong?: boolean }> {
    const { clock, quota, stats, budget, random } = this.deps;
    const s = stats.get(route.key);
    const limits = limitsFor(route);

    for (let retry = 0; ; retry++) {
      // Cheap local check first: an ejected route needs no quota round trip.
      if (!s.circuit.available()) {
        attempts.push({ route: route.key, outcome: 'ejected', ms: 0 });
        return { exclude: true };
      }
      const admission = await quota.reserve(route.key, limits, req.estimatedTokens);
      if (!admission.ok) {
        const outcome = admission.reason === 'cooldown' ? 'cooldown' : 'no-headroom';
        attempts.push({ route: route.key, outcome, ms: 0, retryAfterMs: admission.retryAfterMs, message: `${admission.reason}, retry in ${admission.retryAfterMs} ms` });
        return { waitMs: admission.retryAfterMs, exclude: true };
      }
      // Every attempt after a request's first is a retry, and retries have a budget.
      if (sent.count > 0) {
        if (!budget.tryRetry()) {
          await quota.release(admission.reservation);
          attempts.push({ route: route.key, outcome: 'budget', ms: 0, message: 'retry budget exhausted' });
          return { stop: true };
        }
      }
      if (!s.circuit.tryAcquire()) {
        await quota.release(admission.reservation);
        attempts.push({ route: route.key, outcome: 'ejected', ms: 0 });
        return { exclude: true };
      }

      const started = clock.now();
      sent.count++;
      s.inflight++;
      let result: { ok: true; value: T } | { ok: false; error: ProviderError };
      try {
        result = { ok: true, value: await this.withAttemptTimeout(route, req, attempt) };
      } catch (err) {
        if (req.cancel.aborted) {
          s.circuit.onAbandon(started);
          await quota.release(admission.reservation);
          attempts.push({ route: route.key, outcome: 'aborted', ms: clock.now() - started });
          throw req.cancel.reason;
        }
        result = { ok: false, error: isProviderError(err) ? err : new ProviderError('transient', (err as Error)?.message ?? String(err), { cause: err }) };
      } finally {
        s.inflight--;
      }
      const ms = clock.now() - started;

      if (result.ok) {
        s.circuit.onSuccess(started);
        s.successes++;
        (req.stream ? s.firstChunkMs : s.completeMs).add(ms);
        this.throttleStreak.delete(route.key);
        if (result.value.rateLimit) await quota.observe(route.key, result.value.rateLimit);
        attempts.push({ route: route.key, outcome: 'ok', ms });
        return { answer: { value: result.value, route, attempts, settle: settler(quota, admission.reservation) } };
      }

      const e = result.error;
      attempts.push({ route: route.key, outcome: e.failure, status: e.status, message: e.message, ms, retryAfterMs: e.retryAfterMs });
      s.failures++;
      s.lastFailure = { at: clock.now(), what: `${e.failure}: ${e.message}` };
      switch (e.failure) {
        case 'throttled': {
          await quota.release(admission.reservation);
          s.circuit.onAbandon(started); // a probe that met a 429 proves nothing either way
          const wait = this.throttleWait(route.key, started, e.retryAfterMs);
          await this.coolDown(route, clock.now() + wait, 'throttled');
          return { error: e, waitMs: wait, exclude: true };
        }
        case 'quota_exhausted':
          await quota.release(admission.reservation);
          s.circuit.onAbandon(started);
          await this.coolDown(route, clock.now() + Math.max(e.retryAfterMs ?? 0, PARK_MS), 'quota exhausted');
          return { error: e, exclude: true };
        case 'silent':
          await quota.release(admission.reservation);
          this.routeFailed(route, e, started);
          return { error: e, exclude: true };
        case 'context_length':
          await quota.release(admission.reservation);
          s.circuit.onSuccess(started); // the route answered: it is healthy
          return { error: e, tooLong: true };
        case 'invalid_output':
          // The model answered (and spent tokens) but not in the required shape: the route is healthy, try the next.
          await quota.reconcile(admission.reservation, e.usedTokens ?? 0);
          s.circuit.onSuccess(started);
          return { error: e, exclude: true };
        case 'refused':
          await quota.release(admission.reservation);
          if (isMisconfigured(e)) {
            // Our key or model access on this account is wrong, not the request: eject the
            // route and let an equivalent one serve.
            this.routeFailed(route, e, started, true);
            return { error: e, exclude: true };
          }
          s.circuit.onSuccess(started); // the route answered: it is healthy
          return { error: e, stop: true };
        case 'transient': {
          await quota.release(admission.reservation);
          this.routeFailed(route, e, started);
          // No HTTP status: the endpoint may be gone; an active check confirms it at once.
          if (e.status === undefined) this.deps.endpoints?.suspect(endpointKey(route));
          // The only route left gets one quick jittered retry, if the deadline allows.
          const backoff = fullJitterBackoff(retry, random);
          if (retry === 0 && onlyRouteLeft() && s.circuit.available() && clock.now() + backoff < req.deadline - 1000) {
            await sleepUnlessCancelled(backoff, req.cancel);
            continue;
          }
          return { error: e, exclude: true };
        }
      }
    }
  }

  /** A started stream broke or stalled: the route is judged as if the attempt had failed. */
  onStreamFailure(route: Route, e: ProviderError): void {
    const s = this.deps.stats.get(route.key);
    s.failures++;
    s.lastFailure = { at: this.deps.clock.now(), what: `${e.failure} mid-stream: ${e.message}` };
    // The stream started before any ejection that is in force now: it is not the probe.
    if (e.failure === 'transient' || e.failure === 'silent') this.routeFailed(route, e, Number.NEGATIVE_INFINITY);
    if (e.failure === 'transient' && e.status === undefined) this.deps.endpoints?.suspect(endpointKey(route));
    if (e.failure === 'throttled') void this.coolDown(route, this.deps.clock.now() + (e.retryAfterMs ?? 1000), 'throttled');
  }

  /** A failure that speaks of the route's health; reports the ejection when its circuit opens. */
  private routeFailed(route: Route, e: ProviderError, startedAt: number, hard = false): void {
    const circuit = this.deps.stats.get(route.key).circuit;
    const wasOpen = circuit.state() === 'open';
    circuit.onFailure(startedAt, hard);
    if (!wasOpen && circuit.state() === 'open') {
      this.deps.events?.emit({ type: 'ejection', route: route.key, until: circuit.reopensAt(), reason: `${e.failure}: ${e.message}` });
    }
  }

  /**
   * How long a throttled route waits: Retry-After when given, else an exponential guess
   * that grows once per throttling episode; 429s of requests sent before the current
   * cooldown began are the same episode, not a reason to wait longer.
   */
  private throttleWait(key: string, startedAt: number, retryAfterMs: number | undefined): number {
    const now = this.deps.clock.now();
    const episode = this.throttleStreak.get(key);
    if (episode && startedAt < episode.since) return retryAfterMs ?? Math.max(0, episode.until - now);
    const streak = (episode?.streak ?? 0) + 1;
    const wait = retryAfterMs ?? Math.min(MAX_THROTTLE_GUESS_MS, 1000 * 2 ** (streak - 1));
    this.throttleStreak.set(key, { streak, since: now, until: now + wait });
    return wait;
  }

  private async coolDown(route: Route, until: number, reason: string): Promise<void> {
    // 429s of requests already in flight extend nothing: one event per cooldown.
    const current = this.deps.quota.peek(route.key, limitsFor(route)).cooldownUntil;
    await this.deps.quota.cooldown(route.key, until, reason);
    if (current === undefined || until > current + 1000) this.deps.events?.emit({ type: 'cooldown', route: route.key, until, reason });
  }

  /**
   * Runs the attempt with its own cancellation, linked to the request's. Stream: the
   * first chunk must come within the first-byte timeout; non-streamed: the whole answer
   * within the complete timeout. Past it, the route is silent.
   */
  private async withAttemptTimeout<T>(route: Route, req: RoutedRequest, attempt: AttemptFn<T>): Promise<T> {
    const limit = req.stream ? req.timeouts.firstByteMs : req.timeouts.completeMs;
    const { source, unlink } = linkedSource(req.cancel);
    // When the request's deadline comes first, it decides (a 504), not the attempt timeout.
    const handle =
      limit < req.deadline - this.deps.clock.now()
        ? setTimeout(() => source.abort(new ProviderError('silent', `no ${req.stream ? 'first chunk' : 'answer'} within ${limit} ms`)), limit)
        : undefined;
    try {
      const value = await attempt(route, source);
      // A started stream stays linked to the request for its whole life.
      if (!req.stream) unlink();
      return value;
    } catch (err) {
      unlink();
      if (source.aborted && !req.cancel.aborted) throw source.reason;
      throw err;
    } finally {
      clearTimeout(handle);
    }
  }
}

/** Whether `route` is the last one of the selection this request may still try. */
function onlyRouteLeft(groups: ReadonlyArray<readonly Route[]>, route: Route, excluded: ReadonlySet<string>): boolean {
  return !groups.some((g) => g.some((r) => r !== route && !excluded.has(r.key)));
}

/**
 * A provider's 401/403/404 speaks of this account's key or model access (gateway
 * configuration), not of the client's request: another account may well serve it.
 */
function isMisconfigured(e: ProviderError): boolean {
  return e.status === 401 || e.status === 403 || e.status === 404;
}

function settler(quota: QuotaStore, res: Reservation): (tokens: number) => void {
  let done = false;
  return (tokens) => {
    if (done) return;
    done = true;
    void quota.reconcile(res, tokens);
  };
}
