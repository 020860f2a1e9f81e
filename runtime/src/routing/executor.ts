/**
 * The attempt loop with the failover rules of ARCHITECTURE.md. Each failure class has
 * its answer: throttled -> cooldown and an equivalent route at once, or (a target's only
 * route, a short Retry-After) wait for it; quota spent -> park the route for long;
 * transient -> the next equivalent route, a target's only route gets one jittered retry on
 * a fresh connection; silent -> never this route again in this request; too long -> only
 * a target of another model whose window may be larger; refused -> stop. Equivalent routes
 * come before model fallbacks, a retry budget caps extra attempts, attempt timeouts are
 * learnt per route (adaptive-timeout.ts) and slow streams are hedged (hedge.ts).
 */
import type { RouteStatsRegistry } from '../health/route-stats';
import { HedgeLost, INTERNAL_ERROR, TOKENS_OVER_ROUTE_LIMIT, tooLargeRoutes, type AttemptRecord } from '../core/attempt';
import { isProviderError, ProviderError } from '../providers/errors';
import { endpointKey, type Route, type UpstreamMeta } from '../providers/types';
import type { Admission, QuotaStore, ReserveOptions, Reservation } from '../quota/store';
import { CAPACITY_RESERVED } from '../core/priority';
import { refusedForSize } from '../core/rate-limit';
import type { Clock, Random } from '../core/clock';
import { limitsFor } from './limits';
import { fullJitterBackoff, type RetryBudget } from './retry';
import { sleepUnlessCancelled, type Cancellation } from '../core/cancellation';
import type { EventBus } from '../observability/events';
import type { EndpointHealth, RouteSelector } from './selector';
import { attemptLimit, fixedLimit, hedgeDelay } from './adaptive-timeout';
import { Candidates, ContextWindows, targetOf } from './candidates';
import { targetHedges } from './failover-policy';
import { AttemptBranch, HedgeBudgets, race } from './hedge';
import { ThrottleEpisodes } from './throttle-episodes';
import { AllRoutesFailed, type Answered, type AttemptFn, type RoutedRequest } from './routed-request';
import { timedAttempt } from './timed-attempt';
import { preferFirst } from './affinity';

export { AllRoutesFailed, type Answered, type AttemptFn, type RoutedRequest } from './routed-request';

export interface ExecutorDeps {
  selector: RouteSelector;
  stats: RouteStatsRegistry;
  quota: QuotaStore;
  budget: RetryBudget;
  clock: Clock;
  random: Random;
  endpoints?: EndpointHealth;
  events?: EventBus;
  /** Waits `ms` unless cancelled (tests on a manual clock move the clock instead). */
  sleep?: (ms: number, cancel: Cancellation) => Promise<void>;
  /** An attempt failed in our own code: for the log, with its stack (the attempt records only its message). */
  onInternalError?: (err: unknown, route: string, requestId: string | undefined) => void;
}

const PARK_MS = 5 * 60_000;
/** A retry or a wait must leave the request at least this much of its deadline. */
const DEADLINE_MARGIN_MS = 1000;

/** What one try of a route came to, when it did not answer. */
interface Failed {
  error?: ProviderError;
  /** The route may serve again after this long (throttled, out of headroom). */
  waitMs?: number;
  stop?: boolean;
  exclude?: boolean;
}

type Outcome<T> = { answer: Answered<T> } | Failed;

/** One request's walk through its routes. */
interface Run<T> {
  readonly req: RoutedRequest;
  readonly attempt: AttemptFn<T>;
  readonly attempts: AttemptRecord[];
  readonly excluded: Set<string>;
  readonly windows: ContextWindows;
  /** Holder name of a probe slot this request claims while waiting for a cooldown. */
  readonly id: string;
  cursor: Candidates;
  /** Attempts sent so far: every one after the first is a retry. */
  sent: number;
}

let runs = 0;

export class AttemptExecutor {
  private readonly throttling: ThrottleEpisodes;
  private readonly hedges: HedgeBudgets;
  private readonly sleep: (ms: number, cancel: Cancellation) => Promise<void>;

  constructor(private readonly deps: ExecutorDeps) {
    this.hedges = new HedgeBudgets(deps.clock);
    this.throttling = new ThrottleEpisodes(deps.clock);
    this.sleep = deps.sleep ?? sleepUnlessCancelled;
  }

  async run<T extends UpstreamMeta>(req: RoutedRequest, attempt: AttemptFn<T>): Promise<Answered<T>> {
    const { clock, budget } = this.deps;
    budget.onRequest();
    const hedging = req.routes.policy.hedging;
    if (req.stream && hedging.share > 0) this.hedges.onRequest(req.routes.model.name, hedging.share);
    const excluded = new Set<string>(req.exclude);
    const windows = new ContextWindows(req.routes.model);
    const run: Run<T> = { req, attempt, attempts: [], excluded, windows, id: `run-${++runs}`, cursor: new Candidates([], excluded, windows), sent: 0 };
    let last: ProviderError | undefined;
    let waited = false;
    /** Routes passed over only for a cooldown: after a wait they may serve again. */
    let waitable: Set<string> | undefined;
    let soonest: number | undefined;
    const noteWait = (ms: number | undefined) => {
      if (ms !== undefined && ms > 0) soonest = Math.min(soonest ?? Infinity, clock.now() + ms);
    };

    for (;;) {
      const { groups, skipped } = this.deps.selector.select(req.routes, req.stream);
      soonest = undefined;
      for (const s of skipped) {
        if (!excluded.has(s.route)) {
          const retryAfterMs = s.until === undefined ? undefined : Math.max(0, s.until - clock.now());
          run.attempts.push({ route: s.route, outcome: s.reason, ms: 0, retryAfterMs, message: s.until ? `until ${new Date(s.until).toISOString()}` : undefined });
        }
        if (s.reason === 'cooldown' && s.until) noteWait(s.until - clock.now());
      }

      if (req.cannotServe) passOverUnsupported(groups, req.cannotServe, excluded, run.attempts);
      run.cursor = new Candidates(req.prefer ? preferFirst(groups, req.prefer, excluded) : groups, excluded, windows);
      for (let route = run.cursor.next(); route; route = run.cursor.next()) {
        if (req.cancel.aborted) throw req.cancel.reason;
        for (const [r, outcome] of await this.tryHedged(route, run)) {
          if ('answer' in outcome) return outcome.answer;
          if (outcome.error) last = outcome.error;
          if (outcome.waitMs !== undefined) {
            noteWait(outcome.waitMs);
            (waitable ??= new Set()).add(r.key);
          }
          if (outcome.stop) throw new AllRoutesFailed(run.attempts, last);
          if (outcome.exclude) excluded.add(r.key);
        }
      }

      // Only throttled routes left (or routes without room for the request's class): wait out
      // a short Retry-After (capacity.waitMs for a class's share) when it fits the deadline.
      const maxWait = Math.max(req.routes.policy.maxRetryAfterMs, req.capacity?.waitMs ?? 0);
      if (!waited && soonest !== undefined && soonest - clock.now() <= maxWait && soonest < req.deadline - DEADLINE_MARGIN_MS && !windows.any) {
        waited = true;
        await this.waitUntil(soonest, req.cancel);
        for (const k of waitable ?? []) excluded.delete(k);
        continue;
      }
      throw new AllRoutesFailed(run.attempts, last);
    }
  }

  /**
   * Tries `route`; a stream that may be hedged and has no first chunk by its hedge delay
   * starts again on the next candidate, and the first to answer wins. Outcomes in the
   * order they came, an answer last.
   */
  private async tryHedged<T extends UpstreamMeta>(route: Route, run: Run<T>): Promise<Array<[Route, Outcome<T>]>> {
    const { req } = run;
    const model = req.routes.model;
    const share = req.routes.policy.hedging.share;
    // No other route to race (the usual single-route model): no hedge machinery at all. The
    // candidates only shrink while this attempt waits, so none will appear by the hedge delay.
    if (!req.stream || share <= 0 || !run.cursor.peek() || !targetHedges(targetOf(model, route))) return [[route, await this.tryRoute(route, run)]];

    let due!: () => void;
    const hedgeDue = new Promise<undefined>((resolve) => (due = () => resolve(undefined)));
    const main = new AttemptBranch(false, due);
    const mainDone = this.tryRoute(route, run, main);
    const first = await Promise.race([mainDone, hedgeDue]);
    if (first !== undefined) return [[route, first]];

    const next = run.cursor.peek();
    // The hedge is an extra attempt: it needs the model's hedge budget and the retry budget.
    if (!next || !targetHedges(targetOf(model, next)) || !this.hedges.tryHedge(model.name, share) || !this.deps.budget.tryRetry()) {
      return [[route, await mainDone]];
    }
    run.cursor.next();
    main.raced = true;
    const hedge = new AttemptBranch(true);
    return race<Outcome<T>>(
      [
        [route, main, mainDone],
        [next, hedge, this.tryRoute(next, run, hedge)],
      ],
      {
        answered: (o) => 'answer' in o,
        // The first route's verdict on the request (refused) ends the race too.
        ends: (o, branch) => 'stop' in o && o.stop === true && !branch.hedge,
        // Both answered at once: the loser's answer is closed, its record says so.
        discard: (o) => {
          if (!('answer' in o)) return;
          o.answer.settle(0);
          const record = run.attempts.find((a) => a.route === o.answer.route.key && a.outcome === 'ok');
          if (record) record.outcome = 'cancelled';
        },
      },
    );
  }

  private async tryRoute<T extends UpstreamMeta>(route: Route, run: Run<T>, branch?: AttemptBranch): Promise<Outcome<T>> {
    const { clock, quota, stats, budget, random } = this.deps;
    const { req, attempts } = run;
    const policy = req.routes.policy;
    const s = stats.get(route.key);
    const limits = limitsFor(route);
    /** The probe slot this request claimed while waiting for the route's cooldown. */
    let probeHolder: string | undefined;
    let fresh = false;

    if (limits.tpm !== undefined && req.estimatedTokens > limits.tpm) {
      // Not out of quota: it never fits, so no wait or cooldown comes of it (all such routes: a 400).
      attempts.push({ route: route.key, outcome: 'too-large', ms: 0, message: `needs an estimated ${req.estimatedTokens} tokens, over its limit of ${limits.tpm} a minute` });
      return { exclude: true };
    }
    for (let retry = 0; ; retry++) {
      if (branch?.lost) return {};
      // Cheap local check first: an ejected route needs no quota round trip.
      if (!s.circuit.available()) {
        attempts.push({ route: route.key, outcome: 'ejected', ms: 0 });
        return { exclude: true };
      }
      const admission = await quota.reserve(route.key, limits, req.estimatedTokens, reserveOptions(req, probeHolder));
      if (!admission.ok) {
        // A probe slot claimed for after the wait cannot be used now (a later 429 made the cooldown longer): give it back, or the route stays shut to everyone.
        if (probeHolder !== undefined) giveBackProbe(quota, route, probeHolder);
        // Below critical, a route without room for the class is its share gone, whoever used it.
        const reserved = admission.reason === 'reserved' || (req.capacity !== undefined && (admission.reason === 'rpm' || admission.reason === 'tpm'));
        const outcome = admission.reason === 'cooldown' ? 'cooldown' : reserved ? 'reserved' : 'no-headroom';
        const record: AttemptRecord = { route: route.key, outcome, ms: 0, retryAfterMs: admission.retryAfterMs, message: `${admission.reason}, retry in ${admission.retryAfterMs} ms` };
        if (admission.tokensLeft !== undefined) record.tokensLeft = admission.tokensLeft;
        attempts.push(record);
        return { waitMs: reserved ? classWait(req, admission.retryAfterMs) : admission.retryAfterMs, exclude: true };
      }
      const probeDone = (ok: boolean) => endProbe(quota, route, admission, ok);
      if (branch?.lost) {
        await quota.release(admission.reservation);
        probeDone(false);
        return {};
      }
      // Every attempt after a request's first is a retry, and retries have a budget (a hedge took its own).
      if (run.sent > 0 && !branch?.hedge) {
        if (!budget.tryRetry()) {
          await quota.release(admission.reservation);
          probeDone(false);
          attempts.push({ route: route.key, outcome: 'budget', ms: 0, message: 'retry budget exhausted' });
          return { stop: true };
        }
      }
      if (!s.circuit.tryAcquire()) {
        await quota.release(admission.reservation);
        probeDone(false);
        attempts.push({ route: route.key, outcome: 'ejected', ms: 0 });
        return { exclude: true };
      }

      const limit = attemptLimit(s, req.stream, req.timeouts, policy.adaptive);
      const started = clock.now();
      const mark = (a: AttemptRecord): AttemptRecord => {
        if (branch?.hedge) a.hedge = true;
        if (retry > 0) a.retry = true;
        return a;
      };
      run.sent++;
      s.inflight++;
      let result: { ok: true; value: T } | { ok: false; error: ProviderError };
      try {
        const hedgeAfter = branch?.hedgeable ? hedgeDelay(s, policy, limit) : undefined;
        result = { ok: true, value: await timedAttempt(clock, route, req, run.attempt, { limit, fresh, branch, hedgeAfter }) };
      } catch (err) {
        /** The attempt ended with no verdict on the route: nothing counts for or against it. */
        const abandon = async (record: Pick<AttemptRecord, 'outcome' | 'message'>, ms = clock.now() - started) => {
          s.circuit.onAbandon(started);
          await quota.release(admission.reservation);
          probeDone(false);
          attempts.push(mark({ route: route.key, ...record, ms }));
        };
        if (req.cancel.aborted) {
          await abandon({ outcome: 'aborted' });
          throw req.cancel.reason;
        }
        if (err instanceof HedgeLost) {
          const ms = clock.now() - started;
          // It had not answered after `ms`: counted as such, or hedging would hide the route's slow tail.
          s.distribution(req.stream).add(ms);
          await abandon({ outcome: 'cancelled' }, ms);
          return {};
        }
        if (!isProviderError(err)) {
          // Not what a provider said but a fault of ours on this request's shape: the route is not to
          // blame (no ejection, no cooldown), or one odd request would shut it for everyone.
          const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          await abandon({ outcome: 'internal', message });
          this.deps.onInternalError?.(err, route.key, req.requestId);
          return { error: new ProviderError('transient', message, { code: INTERNAL_ERROR, cause: err }), exclude: true };
        }
        result = { ok: false, error: err };
      } finally {
        s.inflight--;
      }
      const ms = clock.now() - started;

      if (result.ok) {
        s.circuit.onSuccess(started);
        s.successes++;
        (req.stream ? s.firstChunkMs : s.completeMs).add(ms);
        s.distribution(req.stream).add(ms);
        this.throttling.ended(route.key);
        probeDone(true);
        if (result.value.rateLimit) await quota.observe(route.key, result.value.rateLimit);
        attempts.push(mark({ route: route.key, outcome: 'ok', ms }));
        return { answer: { value: result.value, route, attempts, settle: settler(quota, admission.reservation) } };
      }

      const e = result.error;
      if (e.code === CAPACITY_RESERVED) {
        // A spoke keeps its capacity for a higher class: not a failure of the route, no cooldown.
        await quota.release(admission.reservation);
        s.circuit.onAbandon(started);
        probeDone(false);
        attempts.push(mark({ route: route.key, outcome: 'reserved', status: e.status, message: e.message, ms, retryAfterMs: e.retryAfterMs }));
        return { error: e, waitMs: e.retryAfterMs === undefined ? undefined : classWait(req, e.retryAfterMs), exclude: true };
      }
      if (e.code === TOKENS_OVER_ROUTE_LIMIT) {
        // A spoke whose routes are all too small for this request: healthy, and another spoke may be larger.
        await quota.release(admission.reservation);
        s.circuit.onSuccess(started);
        probeDone(true);
        attempts.push(mark({ route: route.key, outcome: 'too-large', status: e.status, message: tooLargeRoutes(e.message), ms }));
        return { error: e, exclude: true };
      }
      attempts.push(mark({ route: route.key, outcome: e.failure, status: e.status, message: e.message, ms, retryAfterMs: e.retryAfterMs }));
      // A verdict on the request (its 400, a prompt too long) says nothing against the route.
      if ((e.failure !== 'refused' || isMisconfigured(e)) && e.failure !== 'context_length') {
        s.failures++;
        s.lastFailure = { at: clock.now(), what: `${e.failure}: ${e.message}` };
      }
      // A model that answered in the wrong shape spent its tokens; any other failure, none that count.
      if (e.failure === 'invalid_output') await quota.reconcile(admission.reservation, e.usedTokens ?? 0);
      else await quota.release(admission.reservation);
      /** Whether this route may be tried again in this request, before any other: one retry, no race on, no equivalent route, time left. */
      const mayRetry = (afterMs: number) => retry === 0 && !branch?.raced && !run.cursor.equivalentLeft(route) && clock.now() + afterMs < req.deadline - DEADLINE_MARGIN_MS;
      switch (e.failure) {
        case 'throttled': {
          s.circuit.onAbandon(started); // a probe that met a 429 proves nothing either way
          probeDone(false);
          if (e.rateLimit && refusedForSize(e.rateLimit, req.estimatedTokens)) {
            // Room is left, only not this much: this request goes elsewhere, and the route stays
            // open to smaller ones (a cooldown would shut it to everyone). No cap is kept from it:
            // a spoke says its room only when it refuses, and would be held to a stale figure.
            return { error: e, waitMs: e.retryAfterMs, exclude: true };
          }
          const wait = this.throttling.wait(route.key, started, e.retryAfterMs);
          const until = clock.now() + wait;
          await this.coolDown(route, until, 'throttled');
          // The provider said when: a short wait keeps the model the client asked for. Everyone
          // else keeps off the route until then, and this request goes first after it.
          if (e.retryAfterMs !== undefined && wait <= policy.maxRetryAfterMs && mayRetry(wait) && (await quota.claimProbe(route.key, run.id, until))) {
            await this.waitUntil(until, req.cancel).catch((err: unknown) => {
              giveBackProbe(quota, route, run.id); // cancelled while waiting: the slot is not ours to keep
              throw err;
            });
            probeHolder = run.id;
            fresh = false;
            continue;
          }
          return { error: e, waitMs: wait, exclude: true };
        }
        case 'quota_exhausted':
          s.circuit.onAbandon(started);
          probeDone(false);
          await this.coolDown(route, clock.now() + Math.max(e.retryAfterMs ?? 0, PARK_MS), 'quota exhausted');
          return { error: e, exclude: true };
        case 'silent':
          // Timed out at a learnt limit: the route may have become slower; count it so the limit can grow.
          if (limit < fixedLimit(req.timeouts, req.stream)) s.distribution(req.stream).add(limit);
          probeDone(false);
          this.routeFailed(route, e, started);
          return { error: e, exclude: true };
        case 'context_length':
          s.circuit.onSuccess(started); // the route answered: it is healthy
          probeDone(true);
          run.windows.tooLong(route); // never the same model again
          return { error: e };
        case 'invalid_output':
          // The model answered (and spent tokens) but not in the required shape: the route is healthy, try the next.
          s.circuit.onSuccess(started);
          probeDone(true);
          return { error: e, exclude: true };
        case 'refused':
          if (isMisconfigured(e)) {
            // Our key or model access on this account is wrong, not the request: eject the
            // route and let an equivalent one serve.
            probeDone(false);
            this.routeFailed(route, e, started, true);
            return { error: e, exclude: true };
          }
          s.circuit.onSuccess(started); // the route answered: it is healthy
          probeDone(true);
          return { error: e, stop: true };
        case 'transient': {
          probeDone(false);
          this.routeFailed(route, e, started);
          // No HTTP status: the endpoint may be gone; an active check confirms it at once.
          if (e.status === undefined) this.deps.endpoints?.suspect(endpointKey(route));
          // A target's only route gets one quick jittered retry on a fresh connection, before a
          // fallback (a degradation for the client); with sameRouteRetry off, only the very last route.
          const backoff = fullJitterBackoff(retry, random);
          if (mayRetry(backoff) && s.circuit.available() && (policy.sameRouteRetry || run.cursor.peek() === undefined)) {
            await this.sleep(backoff, req.cancel);
            fresh = true;
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
    this.deps.events?.emit({ type: 'stream-break', route: route.key, failure: e.failure });
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

  private async coolDown(route: Route, until: number, reason: string): Promise<void> {
    // 429s of requests already in flight extend nothing: one event per cooldown.
    const current = this.deps.quota.peek(route.key, limitsFor(route)).cooldownUntil;
    await this.deps.quota.cooldown(route.key, until, reason);
    if (current === undefined || until > current + 1000) this.deps.events?.emit({ type: 'cooldown', route: route.key, until, reason });
  }

  /** Waits until the clock has reached `until`: a timer may fire a little before its time, so what is left is waited again. */
  private async waitUntil(until: number, cancel: Cancellation): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const left = until - this.deps.clock.now();
      if (left <= 0) return;
      await this.sleep(i === 0 ? left : left + 1, cancel);
    }
  }
}

/** A class's share frees only as the window moves: the request waits for it only as long as its class may. */
function classWait(req: RoutedRequest, retryAfterMs: number): number | undefined {
  return retryAfterMs <= (req.capacity?.waitMs ?? 0) ? retryAfterMs : undefined;
}

/** The class's share and the probe slot claimed, when there is either (else nothing to allocate). */
function reserveOptions(req: RoutedRequest, probe: string | undefined): ReserveOptions | undefined {
  const share = req.capacity?.share;
  return share === undefined && probe === undefined ? undefined : { probe, share };
}

/** Routes that cannot take this request at all (e.g. its image URLs) are passed over, each recorded once with why. */
function passOverUnsupported(groups: ReadonlyArray<readonly Route[]>, cannotServe: (route: Route) => string | undefined, excluded: Set<string>, attempts: AttemptRecord[]): void {
  for (const group of groups) {
    for (const route of group) {
      if (excluded.has(route.key)) continue;
      const why = cannotServe(route);
      if (why === undefined) continue;
      attempts.push({ route: route.key, outcome: 'unsupported', ms: 0, message: why });
      excluded.add(route.key);
    }
  }
}

/**
 * A provider's 401/403/404 speaks of this account's key or model access (gateway
 * configuration), not of the client's request: another account may well serve it.
 */
function isMisconfigured(e: ProviderError): boolean {
  return e.status === 401 || e.status === 403 || e.status === 404;
}

/** Tells the store how the probe after a cooldown went (admissions that were no probe: nothing). */
function endProbe(quota: QuotaStore, route: Route, admission: Admission, ok: boolean): void {
  if (admission.ok && admission.probe !== undefined) void quota.endProbe(route.key, admission.probe, ok).catch(() => undefined);
}

/** Frees a probe slot this request claimed and will not use. */
function giveBackProbe(quota: QuotaStore, route: Route, holder: string): void {
  void quota.endProbe(route.key, holder, false).catch(() => undefined);
}

function settler(quota: QuotaStore, res: Reservation): (tokens: number) => void {
  let done = false;
  return (tokens) => {
    if (done) return;
    done = true;
    void quota.reconcile(res, tokens);
  };
}
