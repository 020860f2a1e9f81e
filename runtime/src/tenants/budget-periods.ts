/** The UTC day and month a spend belongs to, and when each ends (a budget's Retry-After). */

export interface SpendPeriods {
  /** `YYYY-MM-DD` (UTC). */
  readonly day: string;
  /** `YYYY-MM` (UTC). */
  readonly month: string;
  /** Epoch ms of the next UTC midnight. */
  readonly dayEndsAt: number;
  /** Epoch ms of the first of the next UTC month. */
  readonly monthEndsAt: number;
}

const DAY_MS = 86_400_000;

let cached: SpendPeriods | undefined;

/** The periods at `now` (epoch ms); the same object all day. */
export function periodsAt(now: number): SpendPeriods {
  if (cached && now < cached.dayEndsAt && now >= cached.dayEndsAt - DAY_MS) return cached;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dayStart = Date.UTC(y, m, d.getUTCDate());
  const iso = new Date(dayStart).toISOString();
  cached = { day: iso.slice(0, 10), month: iso.slice(0, 7), dayEndsAt: dayStart + DAY_MS, monthEndsAt: Date.UTC(y, m + 1, 1) };
  return cached;
}
