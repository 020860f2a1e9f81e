/**
 * What each tenant spent per UTC day and month, and its budgets: hard caps enforced at
 * admission by holding the request's worst case, settled to the real cost after the
 * answer, with soft alerts once per period.
 *
 * - In memory (no `state.redis`): exact for this process.
 * - With Redis (the quota store's connection): a budgeted request costs one script call
 *   at admission and one at settle, atomic across instances; spend of tenants without a
 *   budget is added in batches (at most a second later), not per request.
 * - Redis unreachable: each instance admits within its share of what was left when it last
 *   saw the shared totals ((cap - spent) / live instances), counts what it spends locally,
 *   and adds it to Redis when Redis answers again. A budgeted settle that was sent and never
 *   answered may have run (Redis paused runs it when it wakes): it is sent again only while
 *   its hold is still there, which that settle would have freed; a batch is sent again under
 *   its number, which Redis adds only once.
 * Amounts are whole nano-dollars (1e-9 USD) throughout.
 */
import { randomUUID } from 'node:crypto';
import type { BudgetConfig, TenantConfig } from '../config/schema';
import type { Clock } from '../core/clock';
import { GatewayError, retryAfterSeconds } from '../core/gateway-error';
import type { BudgetAlertEvent, EventBus } from '../observability/events';
import type { SharedRedis } from '../quota/store';
import { periodsAt, type SpendPeriods } from './budget-periods';
import type { RedisSpend } from './spend-redis';

const NANO = 1e9;
/** How often spend counted locally is added to Redis. */
const FLUSH_MS = 1_000;
/** After the request deadline, a hold whose request never settled (its instance died) is dropped. */
const HOLD_MARGIN_MS = 60_000;
/** Another instance, its clock this far ahead, may drop a hold before its expiry by ours. */
const CLOCK_SKEW_MS = 10_000;
/** Retry-After when the budget is not spent but held by requests in flight: they settle soon. */
const HELD_RETRY_MS = 1_000;
/** A status snapshot waits for Redis as long as any Redis call, and never longer than this. */
const REFRESH_WAIT_MS = 1_000;
/**
 * A read of the shared totals this recent serves the next snapshots: open pages (each asks
 * every second, and soon after each gateway event) then cost Redis at most two reads a
 * second per instance, however many there are. This instance's own spend is in at once.
 */
const REFRESH_REUSE_MS = 500;

/**
 * Where a snapshot's spend comes from: `memory` (no shared store: this instance's own
 * spend, exact), `redis` (every instance's, read for it), `last-seen` (the shared store is
 * unreachable or slow: the totals as this instance last saw them, plus its own since).
 */
export type SpendSource = 'memory' | 'redis' | 'last-seen';

export type Period = 'day' | 'month';

/** A budgeted request's worst case, held from admission until it is settled. */
export interface BudgetHold {
  readonly tenant: string;
  /** Nano-dollars held. */
  readonly amount: number;
  /** The hold's id in Redis; undefined when held on this instance only. */
  readonly redisId?: string;
  /** When Redis drops the hold if its request never settles (epoch ms, this instance's clock). */
  readonly expiresAt?: number;
}

export interface TenantSpendStatus {
  tenant: string;
  today: { date: string; usd: number };
  month: { month: string; usd: number };
  budget?: { usdPerDay?: number; usdPerMonth?: number; alertAt: number[] };
  /** Worst cases held by requests in flight (as last seen). */
  inFlightUsd: number;
}

interface LocalSpend {
  day: string;
  month: string;
  amount: number;
  /** The batch it was sent in, once sent: sent again as the same batch, never added to. */
  op?: number;
}

/** A budgeted request's settle that was sent to Redis and never answered: it may have run. */
interface UnsettledSpend extends LocalSpend {
  holdId: string;
  /** The hold's expiry: before it, a hold that is gone was freed by that settle. */
  expiresAt: number;
  /** The Redis dataset of the hold. */
  generation?: string;
}

/** One tenant as this instance knows it. */
class TenantSpend {
  /** The shared totals last seen in Redis, for the periods named (none in memory). */
  seenDay = '';
  seenDayAmount = 0;
  seenMonth = '';
  seenMonthAmount = 0;
  /** Held in Redis, as last seen. */
  sharedHeld = 0;
  /** Spent here and not in Redis (yet): in memory, everything; with Redis, what waits for the next flush. */
  local: LocalSpend[] = [];
  /** What a flush is adding to Redis right now: still counted here until Redis has it. */
  writing: LocalSpend[] = [];
  /** Holds in Redis whose request settled while Redis could not be reached: freed by the next flush. */
  unfreed: string[] = [];
  /** Settles sent to Redis whose answer never came: the next flush adds each unless it ran (its hold is gone). */
  unsettled: UnsettledSpend[] = [];
  /** Spent here and added to Redis this month: added again if Redis loses its data. */
  mine: LocalSpend[] = [];
  /** Worst cases held on this instance (memory, or Redis unreachable). */
  held = 0;
  /** Alert thresholds already reported, per period. */
  alerted = { day: '', dayLevel: 0, month: '', monthLevel: 0 };

  spent(p: SpendPeriods, period: Period): number {
    let n = period === 'day' ? (this.seenDay === p.day ? this.seenDayAmount : 0) : this.seenMonth === p.month ? this.seenMonthAmount : 0;
    n += this.unshared(p, period);
    return n;
  }

  unshared(p: SpendPeriods, period: Period): number {
    let n = 0;
    for (const list of [this.local, this.writing, this.unsettled]) for (const e of list) if (period === 'day' ? e.day === p.day : e.month === p.month) n += e.amount;
    return n;
  }

  /** Something waits for Redis: spend counted here, or holds to free. */
  waiting(): boolean {
    return this.local.length > 0 || this.unfreed.length > 0 || this.unsettled.length > 0;
  }

  add(p: Pick<SpendPeriods, 'day' | 'month'>, amount: number, to: LocalSpend[] = this.local): void {
    const last = to.at(-1);
    if (last && last.day === p.day && last.op === undefined) last.amount += amount;
    else to.push({ day: p.day, month: p.month, amount });
  }

  /** Totals from Redis (they include everything flushed so far). */
  seen(p: SpendPeriods, day: number, month: number): void {
    this.seenDay = p.day;
    this.seenDayAmount = day;
    this.seenMonth = p.month;
    this.seenMonthAmount = month;
  }

  /** Drops what no period of `p` counts any more. */
  prune(p: SpendPeriods): void {
    if (this.local.some((e) => e.month !== p.month)) this.local = this.local.filter((e) => e.month === p.month);
    if (this.mine.some((e) => e.month !== p.month)) this.mine = this.mine.filter((e) => e.month === p.month);
    if (this.unsettled.some((e) => e.month !== p.month)) this.unsettled = this.unsettled.filter((e) => e.month === p.month);
  }

  /** Redis lost its data: what this instance had added goes again, with what waits. */
  readd(): void {
    for (const e of this.mine) this.add(e, e.amount);
    this.mine = [];
    this.seenDay = this.seenMonth = '';
  }
}

export interface SpendStoreOptions {
  clock: Clock;
  events: EventBus;
  /** The request deadline: a hold lives this long (and a margin) if its request never settles. */
  requestTimeoutMs: number;
  /** The quota store's Redis, when the config shares state. */
  shared?: SharedRedis;
  prefix?: string;
}

export class SpendStore {
  private readonly tenants = new Map<string, TenantSpend>();
  private readonly clock: Clock;
  private readonly events: EventBus;
  private readonly holdMs: number;
  private readonly shared?: SharedRedis;
  private readonly redis?: RedisSpend;
  private flushTimer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  /** This instance in the batches it adds to Redis, and the last batch's number. */
  private readonly instance = randomUUID();
  private lastOp = 0;
  /** A read of the shared totals under way: snapshots asked meanwhile share it. */
  private refreshing?: Promise<SpendSource>;
  /** When the last read of the shared totals that Redis answered was taken. */
  private readAt = Number.NEGATIVE_INFINITY;
  /** The Redis dataset this instance's spend was added to. */
  private generation?: string;

  constructor(opts: SpendStoreOptions) {
    this.clock = opts.clock;
    this.events = opts.events;
    this.holdMs = opts.requestTimeoutMs + HOLD_MARGIN_MS;
    this.shared = opts.shared;
    if (opts.shared) this.redis = new (require('./spend-redis') as typeof import('./spend-redis')).RedisSpend(opts.shared, opts.prefix);
  }

  /**
   * Holds the request's worst case against the tenant's budget, or throws the 429
   * `budget_exceeded` with Retry-After to the end of the period that is spent.
   */
  async reserve(tenant: TenantConfig, budget: BudgetConfig, worstUsd: number): Promise<BudgetHold> {
    const now = this.clock.now();
    const p = periodsAt(now);
    const worst = Math.ceil(worstUsd * NANO);
    const caps = { day: nanoCap(budget.usdPerDay), month: nanoCap(budget.usdPerMonth) };
    const st = this.state(tenant.id, p);
    if (this.redis && (await this.sharedUsable())) {
      try {
        const r = await this.redis.reserve(tenant.id, p.day, p.month, now, worst, caps, this.holdMs);
        st.seen(p, r.day, r.month);
        st.sharedHeld = r.held;
        if (r.ok) return { tenant: tenant.id, amount: worst, redisId: r.holdId, expiresAt: now + this.holdMs };
        throw budgetExceeded(tenant.id, budget, p, now, r.dayOver, r.monthOver, st.spent(p, 'day'), st.spent(p, 'month'), r.held, worst, false);
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        // Redis failed (the quota store is degraded now): decide here, below.
      }
    }
    // This instance's share of what was left when it last saw the shared totals (all of it in memory).
    const instances = this.redis ? Math.max(1, this.shared!.instances()) : 1;
    const over = (period: Period, cap: number | undefined): number => {
      if (cap === undefined) return 0;
      const seen = st.spent(p, period) - st.unshared(p, period);
      const mine = st.unshared(p, period) + st.held;
      if (mine + worst <= (cap - seen) / instances) return 0;
      return st.spent(p, period) + worst > cap ? 2 : 1;
    };
    const dayOver = over('day', caps.day);
    const monthOver = over('month', caps.month);
    if (dayOver || monthOver) throw budgetExceeded(tenant.id, budget, p, now, dayOver, monthOver, st.spent(p, 'day'), st.spent(p, 'month'), st.held, worst, this.redis !== undefined);
    st.held += worst;
    return { tenant: tenant.id, amount: worst };
  }

  /**
   * The request's real cost (`usd`), once: frees its hold and adds to the tenant's spend.
   * Never fails the request (it has been answered); a budgeted tenant's soft alerts fire here.
   */
  settle(tenantId: string, budget: BudgetConfig | undefined, hold: BudgetHold | undefined, usd: number): void {
    const now = this.clock.now();
    const p = periodsAt(now);
    const amount = Math.max(0, Math.round(usd * NANO));
    const st = this.state(tenantId, p);
    if (hold && hold.redisId === undefined) st.held = Math.max(0, st.held - hold.amount);
    // Budgeted: one call now, which frees the hold and reports a newly crossed threshold once across instances.
    if (this.redis && budget && this.shared!.usable() && this.shared!.generation() === this.generation) {
      void this.redis.settle(tenantId, p.day, p.month, now, hold?.redisId, amount, thresholds(budget)).then(
        (r) => {
          st.add(p, amount, st.mine);
          st.seen(p, r.day, r.month);
          st.sharedHeld = r.held;
          if (r.dayCrossed.to > r.dayCrossed.from) this.alert(tenantId, budget, p, 'day', r.dayCrossed.to, st, r.dayCrossed.from);
          if (r.monthCrossed.to > r.monthCrossed.from) this.alert(tenantId, budget, p, 'month', r.monthCrossed.to, st, r.monthCrossed.from);
        },
        () => {
          // Sent and not answered: it may have run (a Redis that paused runs it when it wakes). Held
          // on this instance only (Redis was away at admission), nothing tells: it goes again, maybe twice.
          if (hold?.redisId === undefined) return this.keepLocal(tenantId, budget, p, amount, st);
          st.unsettled.push({ day: p.day, month: p.month, amount, holdId: hold.redisId, expiresAt: hold.expiresAt ?? now, generation: this.generation });
          this.alertLocally(tenantId, budget, p, st);
          this.scheduleFlush();
        },
      );
      return;
    }
    this.keepLocal(tenantId, budget, p, amount, st, hold?.redisId);
  }

  /**
   * Reads every tenant's shared totals from Redis now (before a status snapshot), so that
   * each instance shows what all of them spent and hold, not only what it last saw.
   */
  refresh(tenants: readonly TenantConfig[]): Promise<SpendSource> {
    if (!this.redis) return Promise.resolve('memory');
    if (this.clock.now() - this.readAt < REFRESH_REUSE_MS && this.shared!.usable() && this.shared!.generation() === this.generation) return Promise.resolve('redis');
    return (this.refreshing ??= this.readShared(tenants).finally(() => (this.refreshing = undefined)));
  }

  private async readShared(tenants: readonly TenantConfig[]): Promise<SpendSource> {
    const redis = this.redis!;
    if (!(await this.sharedUsable())) return 'last-seen';
    const now = this.clock.now();
    const p = periodsAt(now);
    let timer: NodeJS.Timeout | undefined;
    const waitMs = Math.min(this.shared!.client.options.commandTimeout ?? REFRESH_WAIT_MS, REFRESH_WAIT_MS);
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('late')), waitMs)));
    const reads = Promise.all(tenants.map((t) => redis.totals(t.id, p.day, p.month, now)));
    reads.catch(() => undefined); // a read that ends after the wait is of no interest
    try {
      const totals = await Promise.race([reads, late]);
      tenants.forEach((t, i) => {
        const r = totals[i];
        // A tenant nobody has spent for stays off the page, as before.
        if (!this.tenants.has(t.id) && r.day === 0 && r.month === 0 && r.held === 0) return;
        const st = this.state(t.id, p);
        st.sharedHeld = r.held;
        // Spend on its way may be in these totals already and is still counted here: its flush brings the totals.
        if (st.writing.length === 0 && st.unsettled.length === 0) st.seen(p, r.day, r.month);
      });
      this.readAt = now;
      return 'redis';
    } catch {
      return 'last-seen';
    } finally {
      clearTimeout(timer);
    }
  }

  /** What every tenant with a budget or a spend has spent today and this month (as last seen; `refresh` first for every instance's). */
  snapshot(tenants: readonly TenantConfig[]): TenantSpendStatus[] {
    const p = periodsAt(this.clock.now());
    const out: TenantSpendStatus[] = [];
    for (const t of tenants) {
      const st = this.tenants.get(t.id);
      if (!st && !t.budget) continue;
      st?.prune(p);
      const usd = (period: Period) => (st ? st.spent(p, period) / NANO : 0);
      out.push({
        tenant: t.id,
        today: { date: p.day, usd: usd('day') },
        month: { month: p.month, usd: usd('month') },
        ...(t.budget ? { budget: { usdPerDay: t.budget.usdPerDay, usdPerMonth: t.budget.usdPerMonth, alertAt: [...t.budget.alertAt] } } : {}),
        inFlightUsd: st ? (st.held + st.sharedHeld) / NANO : 0,
      });
    }
    return out;
  }

  /** Adds what waits to Redis now (the gateway closes). */
  async close(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flush();
  }

  private async sharedUsable(): Promise<boolean> {
    const shared = this.shared!;
    await shared.started;
    if (!shared.usable()) return false;
    const generation = shared.generation();
    if (generation !== this.generation) {
      // A fresh Redis (restart, failover without its data): this instance's spend goes again.
      if (this.generation !== undefined) {
        for (const st of this.tenants.values()) st.readd();
        this.scheduleFlush();
      }
      this.generation = generation;
    }
    return true;
  }

  /** Counts the spend here until a flush adds it to Redis; a hold in Redis (`holdId`) is freed by that flush, not left to expire. */
  private keepLocal(tenantId: string, budget: BudgetConfig | undefined, p: SpendPeriods, amount: number, st: TenantSpend, holdId?: string): void {
    st.add(p, amount);
    if (holdId !== undefined) st.unfreed.push(holdId);
    this.alertLocally(tenantId, budget, p, st);
    this.scheduleFlush();
  }

  /** Reports the thresholds the spend known here has crossed (Redis cannot say which were reported). */
  private alertLocally(tenantId: string, budget: BudgetConfig | undefined, p: SpendPeriods, st: TenantSpend): void {
    if (!budget) return;
    for (const period of ['day', 'month'] as const) {
      const levels = thresholds(budget)[period];
      const spent = st.spent(p, period);
      let level = 0;
      while (level < levels.length && spent >= levels[level]) level++;
      this.alert(tenantId, budget, p, period, level, st);
    }
  }

  private scheduleFlush(): void {
    if (!this.redis || this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_MS);
    this.flushTimer.unref();
  }

  /** Adds each tenant's locally counted spend to Redis; what cannot be added waits for the next try. */
  private flush(): Promise<void> {
    const redis = this.redis;
    if (!redis) return Promise.resolve();
    this.flushing ??= (async () => {
      try {
        for (const [tenant, st] of this.tenants) {
          if (!st.waiting()) continue;
          if (!(await this.sharedUsable())) break;
          const now = this.clock.now();
          const p = periodsAt(now);
          st.prune(p);
          const batch = st.local;
          st.local = [];
          st.writing = batch;
          try {
            for (let i = 0; i < batch.length; i++) {
              const e = batch[i];
              // A batch that missed its deadline may still run (Redis paused runs it when it wakes): sent again as the same batch, it is added once.
              e.op ??= ++this.lastOp;
              const r = await redis.settle(tenant, e.day, e.month, now, undefined, e.amount, NO_THRESHOLDS, false, { instance: this.instance, seq: e.op });
              // In one step: Redis's totals include it, so it stops counting as this instance's own.
              st.add(e, e.amount, st.mine);
              if (e.day === p.day) st.seen(p, r.day, r.month);
              else if (e.month === p.month && st.seenMonth === p.month) st.seenMonthAmount = r.month;
              st.sharedHeld = r.held;
              batch[i] = { ...e, amount: 0 };
            }
            while (st.unsettled.length > 0) {
              const e = st.unsettled[0];
              // Before the hold's expiry, in the same dataset, a hold that is gone was freed by that settle: it ran.
              const ifHeld = e.generation === this.generation && now < e.expiresAt - CLOCK_SKEW_MS;
              const r = await redis.settle(tenant, e.day, e.month, now, e.holdId, e.amount, NO_THRESHOLDS, ifHeld);
              // In one step, as above: Redis's totals include it now, added by this call or by the settle it retried.
              st.add(e, e.amount, st.mine);
              if (e.day === p.day) st.seen(p, r.day, r.month);
              else if (e.month === p.month && st.seenMonth === p.month) st.seenMonthAmount = r.month;
              st.sharedHeld = r.held;
              st.unsettled.shift();
            }
            while (st.unfreed.length > 0) {
              st.sharedHeld = (await redis.settle(tenant, p.day, p.month, now, st.unfreed[0], 0, NO_THRESHOLDS)).held;
              st.unfreed.shift();
            }
          } finally {
            // What did not reach Redis waits, ahead of what came since.
            st.writing = [];
            st.local = [...batch.filter((e) => e.amount > 0), ...st.local];
          }
        }
      } catch {
        // Redis went away meanwhile: the quota store is degraded; the rest waits.
      } finally {
        this.flushing = undefined;
        if ([...this.tenants.values()].some((st) => st.waiting())) this.scheduleFlush();
      }
    })();
    return this.flushing;
  }

  /**
   * Reports each threshold of `period` up to `level` not reported yet, here or (`reported`:
   * how many Redis says were reported) by another instance; a new period starts over.
   */
  private alert(tenant: string, budget: BudgetConfig, p: SpendPeriods, period: Period, level: number, st: TenantSpend, reported = 0): void {
    const id = period === 'day' ? p.day : p.month;
    const a = st.alerted;
    if (a[period] !== id) {
      a[period] = id;
      a[`${period}Level`] = 0;
    }
    const from = Math.max(a[`${period}Level`], reported);
    if (level <= from) return;
    a[`${period}Level`] = level;
    const cap = (period === 'day' ? budget.usdPerDay : budget.usdPerMonth)!;
    const shares = alertShares(budget);
    for (let i = from; i < level; i++) {
      const event: BudgetAlertEvent = { type: 'budget-alert', tenant, period, periodId: id, threshold: shares[i], capUsd: cap, spentUsd: st.spent(p, period) / NANO };
      this.events.emit(event);
    }
  }

  private state(tenant: string, p: SpendPeriods): TenantSpend {
    let st = this.tenants.get(tenant);
    if (!st) this.tenants.set(tenant, (st = new TenantSpend()));
    st.prune(p);
    return st;
  }
}

const NO_THRESHOLDS = { day: [], month: [] } as const;

const thresholdsOf = new WeakMap<BudgetConfig, { day: number[]; month: number[] }>();

/** A budget's alert thresholds per period, in nano-dollars, ascending (none for a period without a cap). */
function thresholds(budget: BudgetConfig): { day: readonly number[]; month: readonly number[] } {
  let t = thresholdsOf.get(budget);
  if (!t) {
    const shares = alertShares(budget);
    const of = (cap: number | undefined) => (cap === undefined ? [] : shares.map((s) => Math.floor(s * cap * NANO)));
    thresholdsOf.set(budget, (t = { day: of(budget.usdPerDay), month: of(budget.usdPerMonth) }));
  }
  return t;
}

/** A budget's alert shares, ascending, each once: a share listed twice is one threshold (alerted once). */
function alertShares(budget: BudgetConfig): number[] {
  return [...new Set(budget.alertAt)].sort((a, b) => a - b);
}

function nanoCap(usd: number | undefined): number | undefined {
  return usd === undefined ? undefined : Math.floor(usd * NANO);
}

function usd(nano: number): string {
  const v = nano / NANO;
  return `$${v.toFixed(v !== 0 && v < 1 ? 4 : 2)}`;
}

/**
 * 429 `budget_exceeded`. `dayOver`/`monthOver`: 2 when the spend alone leaves no room
 * (Retry-After: until that period ends), 1 when requests in flight hold what is left (or,
 * `degraded`, this instance's share of it while Redis is unreachable).
 */
function budgetExceeded(
  tenant: string,
  budget: BudgetConfig,
  p: SpendPeriods,
  now: number,
  dayOver: number,
  monthOver: number,
  day: number,
  month: number,
  held: number,
  worst: number,
  degraded: boolean,
): GatewayError {
  const spentOut = [dayOver === 2 ? p.dayEndsAt : 0, monthOver === 2 ? p.monthEndsAt : 0].filter((t) => t > 0);
  const retryMs = spentOut.length > 0 ? Math.max(...spentOut) - now : HELD_RETRY_MS;
  const seconds = retryAfterSeconds(retryMs);
  const period: Period = monthOver === 2 || (monthOver && !dayOver) ? 'month' : 'day';
  const cap = (period === 'day' ? budget.usdPerDay : budget.usdPerMonth)!;
  const name = period === 'day' ? `UTC day ${p.day}` : `UTC month ${p.month}`;
  const spent = period === 'day' ? day : month;
  // Waiting for the next period cannot help a request whose worst case alone is over the cap: say what can.
  const message =
    worst > cap * NANO
      ? `Tenant "${tenant}"'s request could cost up to ${usd(worst)}, more than its whole ${usd(cap * NANO)} budget for the ${name}, so no ${period} can admit it. Send a lower max_tokens: the budget holds the prompt plus max_tokens (or a default output when it is not set) at the model's highest price.`
      : (period === 'day' ? dayOver : monthOver) === 2
        ? `Tenant "${tenant}" has spent ${usd(spent)} of its ${usd(cap * NANO)} budget for the ${name}; this request could cost up to ${usd(worst)}. Retry after ${seconds} s, when the ${period} ends.`
        : degraded
          ? `Tenant "${tenant}" has used this gateway instance's share of its ${usd(cap * NANO)} budget for the ${name} while the shared budget store is unreachable (${usd(spent)} spent as known here, up to ${usd(worst)} for this request). Retry after ${seconds} s.`
          : `Tenant "${tenant}"'s ${usd(cap * NANO)} budget for the ${name} is held by its requests in flight (${usd(spent)} spent, ${usd(held)} in flight, up to ${usd(worst)} for this one). Retry after ${seconds} s.`;
  return new GatewayError(429, 'rate_limit_error', message, 'budget_exceeded', null, { 'retry-after': String(seconds) });
}
