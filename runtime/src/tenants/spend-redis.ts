/**
 * Tenant spend and budget holds in Redis (spend-scripts.ts), through the quota store's
 * connection: one script call to reserve a budgeted request's worst case, one to settle it
 * (or to add spend counted elsewhere). Loaded only when a config sets `state.redis`.
 */
import { LuaScript } from '../quota/redis-store';
import type { SharedRedis } from '../quota/store';
import { BUDGET_RESERVE_LUA, BUDGET_SETTLE_LUA } from './spend-scripts';

const SCRIPTS = { reserve: new LuaScript(BUDGET_RESERVE_LUA), settle: new LuaScript(BUDGET_SETTLE_LUA) };

export const DEFAULT_SPEND_PREFIX = 'aigw:spend:';

/** A period's spend key lives this long after its last change (the day's for /status tomorrow, the month's past its end). */
const DAY_TTL_MS = 3 * 86_400_000;
const MONTH_TTL_MS = 40 * 86_400_000;
/** An instance's last batch is remembered this long: its retry comes as soon as Redis answers again. */
const OP_TTL_MS = 3_600_000;

/** One batch of an instance's spend: `seq` grows with each batch it sends (and stays the same when it sends one again). */
export interface SpendOp {
  instance: string;
  seq: number;
}

export interface SharedTotals {
  /** Nano-dollars spent in the day and the month asked about. */
  day: number;
  month: number;
}

export type SharedReserve = ({ ok: true; holdId: string } | { ok: false; dayOver: number; monthOver: number }) & SharedTotals & { held: number };

/** Thresholds `from + 1 .. to` (1-based, ascending) newly crossed by this settle: each is reported to one caller only. */
export interface Crossed {
  from: number;
  to: number;
}

export interface SharedSettle extends SharedTotals {
  dayCrossed: Crossed;
  monthCrossed: Crossed;
  /** What requests in flight still hold, this one's hold freed. */
  held: number;
  /** Whether the amount was added (false: `ifHeld` found the hold gone, freed by the settle this one retries). */
  added: boolean;
}

export class RedisSpend {
  constructor(
    private readonly redis: SharedRedis,
    private readonly prefix = DEFAULT_SPEND_PREFIX,
  ) {}

  private keys(tenant: string, day: string, month: string): string[] {
    const base = `${this.prefix}{${tenant}}`;
    return [`${base}:d:${day}`, `${base}:m:${month}`, `${base}:hz`, `${base}:hh`];
  }

  async reserve(tenant: string, day: string, month: string, now: number, worst: number, caps: { day?: number; month?: number }, holdMs: number): Promise<SharedReserve> {
    const reply = await this.redis.call(
      SCRIPTS.reserve.run(this.redis.client, this.keys(tenant, day, month), [Math.floor(now), worst, caps.day ?? '', caps.month ?? '', Math.floor(now + holdMs), Math.ceil(holdMs)]),
    );
    const r = numbers(reply);
    if (r[0] === 1) return { ok: true, holdId: String(r[1]), day: r[2], month: r[3], held: r[4] };
    return { ok: false, dayOver: r[1], monthOver: r[2], day: r[3], month: r[4], held: r[5] };
  }

  /**
   * What the tenant spent in the periods and holds now, for the status page: reads only
   * (they go on while Redis pauses writes), not through the store's deadline (a read that
   * comes late shows what was last seen; it does not send requests to local estimates).
   * Holds past their expiry, left for the next reserve or settle to drop, are not counted.
   */
  async totals(tenant: string, day: string, month: string, now: number): Promise<SharedTotals & { held: number }> {
    const [d, m, hz, hh] = this.keys(tenant, day, month);
    const c = this.redis.client;
    const [daySpent, monthSpent, sum, expired] = await Promise.all([
      c.hget(d, 'spent'),
      c.hget(m, 'spent'),
      c.hget(hh, 'sum'),
      // Holds of instances that died: few, and dropped by the next script call; a bound all the same.
      c.zrangebyscore(hz, '-inf', Math.floor(now), 'LIMIT', 0, 1000),
    ]);
    let held = nanos(sum);
    if (expired.length > 0) for (const v of await c.hmget(hh, ...expired)) held -= nanos(v);
    return { day: nanos(daySpent), month: nanos(monthSpent), held: Math.max(0, held) };
  }

  /**
   * Frees `holdId` (when given) and adds `amount` (may be 0) to the periods' spend;
   * thresholds are nano-dollar amounts, ascending. `ifHeld`: only while the hold is there
   * (the retry of a settle whose answer never came). `op`: a batch, added only once.
   */
  async settle(
    tenant: string,
    day: string,
    month: string,
    now: number,
    holdId: string | undefined,
    amount: number,
    thresholds: { day: readonly number[]; month: readonly number[] },
    ifHeld = false,
    op?: SpendOp,
  ): Promise<SharedSettle> {
    const keys = this.keys(tenant, day, month);
    if (op) keys.push(`${this.prefix}{${tenant}}:op:${op.instance}`);
    const reply = await this.redis.call(
      SCRIPTS.settle.run(this.redis.client, keys, [
        Math.floor(now),
        holdId ?? '',
        Math.round(amount),
        DAY_TTL_MS,
        MONTH_TTL_MS,
        thresholds.day.join(','),
        thresholds.month.join(','),
        ifHeld ? '1' : '',
        ...(op ? [op.seq, OP_TTL_MS] : []),
      ]),
    );
    const [d, m, dayFrom, dayTo, monthFrom, monthTo, held, added] = numbers(reply);
    return { day: d, month: m, dayCrossed: { from: dayFrom, to: dayTo }, monthCrossed: { from: monthFrom, to: monthTo }, held, added: added === 1 };
  }
}

/** A stored amount (absent: 0). */
function nanos(v: string | null): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function numbers(reply: unknown): number[] {
  if (!Array.isArray(reply)) throw new Error(`spend script answered ${typeof reply}, expected an array`);
  return reply.map((v) => {
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw new Error(`spend script answered "${String(v)}" where a number was expected`);
    return n;
  });
}
