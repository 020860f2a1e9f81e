/**
 * Capacity classes at admission: a request may take a route's rpm/tpm only while the
 * route's total use (every class together) plus the request stays within its class's
 * share: batch up to `batchCeiling`, standard up to `1 - criticalReserve`, critical all
 * of it. No slice is kept per tenant: a lone tenant gets its class's whole share.
 */
import type { CapacityConfig, GatewayConfig } from '../config/schema';
import { shareOf, type Priority } from '../core/priority';
import type { QuotaLimits } from './store';

/** What requests of one class may use of every route. */
export interface CapacityClass {
  readonly priority: Priority;
  /** Share of each route's rpm and tpm (1: all of it). */
  readonly share: number;
  /** How long a request may wait for its class's headroom before a 429 (0: not at all). */
  readonly waitMs: number;
}

export type CapacityClasses = Readonly<Record<Priority, CapacityClass>>;

/** The classes of a `capacity` config; undefined without one (no reserves, nothing to do per request). */
export function capacityClasses(capacity: CapacityConfig | undefined): CapacityClasses | undefined {
  if (!capacity) return undefined;
  const standard = 1 - capacity.criticalReserve;
  const of = (priority: Priority, share: number): CapacityClass => ({ priority, share, waitMs: priority === 'critical' ? 0 : capacity.waitMs });
  return { critical: of('critical', 1), standard: of('standard', standard), batch: of('batch', capacity.batchCeiling ?? standard) };
}

const classesOf = new WeakMap<CapacityConfig, CapacityClasses>();

/** The classes of a running config, made once per config (a reload brings a new one). */
export function configClasses(config: Pick<GatewayConfig, 'capacity'>): CapacityClasses | undefined {
  const capacity = config.capacity;
  if (!capacity) return undefined;
  let classes = classesOf.get(capacity);
  if (!classes) classesOf.set(capacity, (classes = capacityClasses(capacity)!));
  return classes;
}

/** The limits a request of a class with `share` is admitted within. */
export function classLimits(limits: QuotaLimits, share: number): QuotaLimits {
  const out: QuotaLimits = {};
  if (limits.rpm !== undefined) out.rpm = shareOf(limits.rpm, share);
  if (limits.tpm !== undefined) out.tpm = shareOf(limits.tpm, share);
  return out;
}
