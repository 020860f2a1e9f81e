/**
 * Each tenant's use of its own limits, as /status shows it, computed when read: requests
 * and tokens in its minute window (the quota store's last view, every instance's when it
 * is Redis), its requests in flight (this instance), and its refusals by reason (this
 * instance, from request events: the last minute and since start). Requests are counted
 * only when refused, so the request path pays nothing for it.
 */
import type { Gateway } from '../gateway';
import type { Priority } from '../core/priority';
import { REFUSALS, type Refusal } from '../core/refusal';
import type { EventBus, GatewayEvent } from '../observability/events';
import { UsageBuckets } from '../quota/usage-buckets';
import { tenantQuotaKey } from '../tenants/limiter';

/** Refusals of requests without a tenant (an open gateway, a spoke behind its proxy). */
export const NO_TENANT = 'none';

export interface TenantRefused {
  /** Refusals in the last minute, by reason (reasons with none left out). */
  lastMinute: Partial<Record<Refusal, number>>;
  sinceStart: Partial<Record<Refusal, number>>;
  /** The latest refusal: when (ISO) and why. */
  last?: { at: string; reason: Refusal };
}

export interface TenantUse {
  tenant: string;
  priority?: Priority;
  limits: { rpm?: number; tpm?: number; concurrency?: number };
  /** In the last minute: requests and tokens counted against rpm/tpm (present with those limits), requests in flight (with a concurrency limit). */
  used: { requests?: number; tokens?: number; inFlight?: number };
  refused: TenantRefused;
}

interface Tally {
  window: Map<Refusal, UsageBuckets>;
  total: Map<Refusal, number>;
  lastAt: number;
  last: Refusal;
}

export class TenantRefusals {
  private readonly tenants = new Map<string, Tally>();
  private readonly unsubscribe: () => void;

  constructor(
    events: EventBus,
    private readonly now: () => number,
  ) {
    this.unsubscribe = events.subscribe((e) => this.observe(e));
  }

  /** Tenant ids with a refusal since start. */
  refusedTenants(): IterableIterator<string> {
    return this.tenants.keys();
  }

  of(tenant: string): TenantRefused {
    const t = this.tenants.get(tenant);
    if (!t) return { lastMinute: {}, sinceStart: {} };
    const now = this.now();
    const lastMinute: TenantRefused['lastMinute'] = {};
    const sinceStart: TenantRefused['sinceStart'] = {};
    for (const reason of REFUSALS) {
      const n = t.window.get(reason)?.totals(now).requests ?? 0;
      if (n > 0) lastMinute[reason] = n;
      const total = t.total.get(reason);
      if (total) sinceStart[reason] = total;
    }
    return { lastMinute, sinceStart, last: { at: new Date(t.lastAt).toISOString(), reason: t.last } };
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(e: GatewayEvent): void {
    if (e.type !== 'request' || !e.refusal) return;
    const id = e.tenant ?? NO_TENANT;
    let t = this.tenants.get(id);
    if (!t) this.tenants.set(id, (t = { window: new Map(), total: new Map(), lastAt: 0, last: e.refusal }));
    const now = this.now();
    let w = t.window.get(e.refusal);
    if (!w) t.window.set(e.refusal, (w = new UsageBuckets()));
    w.add(now, 1, 0);
    t.total.set(e.refusal, (t.total.get(e.refusal) ?? 0) + 1);
    t.lastAt = now;
    t.last = e.refusal;
  }
}

/** Every configured tenant's use against its limits, then any other refused caller (`none`). */
export function tenantUse(gw: Gateway, refusals: TenantRefusals): TenantUse[] {
  const out: TenantUse[] = [];
  const listed = new Set<string>();
  for (const t of gw.config.tenants) {
    listed.add(t.id);
    const limits = t.limits ?? {};
    const used: TenantUse['used'] = {};
    if (limits.rpm !== undefined || limits.tpm !== undefined) {
      const h = gw.quota.peek(tenantQuotaKey(t.id), { rpm: limits.rpm, tpm: limits.tpm });
      used.requests = h.requestsUsed;
      used.tokens = h.tokensUsed;
    }
    if (limits.concurrency !== undefined) used.inFlight = gw.tenantLimits.inFlight(t.id);
    out.push({ tenant: t.id, priority: t.priority, limits: { ...limits }, used, refused: refusals.of(t.id) });
  }
  // A tenant removed by a reload, or requests without one: their refusals stay visible.
  for (const id of refusals.refusedTenants()) if (!listed.has(id)) out.push({ tenant: id, limits: {}, used: {}, refused: refusals.of(id) });
  return out;
}
