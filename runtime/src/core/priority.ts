/**
 * Capacity classes: what share of each route's rpm/tpm a request may use. Critical
 * requests may use all of it, standard ones all but the critical reserve, batch ones up
 * to the batch ceiling (config `capacity`).
 */
export const PRIORITIES = ['critical', 'standard', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Requests without a tenant (an open gateway) and tenants without `priority`. */
export const DEFAULT_PRIORITY: Priority = 'standard';

export function isPriority(v: string | undefined): v is Priority {
  return (PRIORITIES as readonly (string | undefined)[]).includes(v);
}

/** The error code of a request refused because its class's share of every route is in use. */
export const CAPACITY_RESERVED = 'capacity_reserved';

/** Proxy -> spoke: the class of a forwarded request (the spoke has no tenants to read it from). */
export const PRIORITY_HEADER = 'x-gateway-priority';

/** A class's part of one limit: whole requests or tokens, rounded down (the float error of 0.6 x 50 aside). */
export function shareOf(limit: number, share: number): number {
  return Math.floor(limit * share + 1e-9);
}
