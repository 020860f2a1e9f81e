/**
 * What an upstream that is itself a gateway (a spoke) says about its own answer in its
 * headers: the route that served, its attempts, what session affinity did there, and
 * (asked by its proxy) what it cost.
 */
import { AFFINITY_HEADER, ATTEMPTS_HEADER, COST_HEADER, COST_REPORT, COST_REPORT_HEADER, ROUTE_HEADER, USAGE_COST_FIELD } from '../core/gateway-headers';
import { isAffinity } from '../core/prompt-cache';
import { header, type UpstreamHeaders } from './http';
import type { CallOptions, ReportedCost, UpstreamMeta } from './types';

/** Adds the hop's route, attempts and reported cost to `meta` (each only when it sent one). */
export function withHopMeta(headers: UpstreamHeaders, meta: UpstreamMeta = {}): UpstreamMeta {
  const res = { headers };
  const route = header(res, ROUTE_HEADER);
  if (route) meta.upstreamRoute = route;
  const attempts = Number(header(res, ATTEMPTS_HEADER));
  if (Number.isInteger(attempts) && attempts > 0) meta.upstreamAttempts = attempts;
  const affinity = header(res, AFFINITY_HEADER);
  if (isAffinity(affinity)) meta.upstreamAffinity = affinity;
  const cost = header(res, COST_HEADER);
  if (cost !== undefined) {
    const usd = Number(cost);
    if (Number.isFinite(usd) && usd >= 0) meta.reportedCost = { usd };
  }
  return meta;
}

/** Whether this call asks the upstream gateway (a spoke) to report what it served cost. */
export function costReportAsked(opts: CallOptions): boolean {
  return opts.forwardHeaders?.[COST_REPORT_HEADER] === COST_REPORT;
}

/**
 * Takes the cost a spoke reported in a stream's usage (`usage.cost_usd`) into `cost` and
 * out of the usage, so the client never sees it. Whether the usage had one.
 */
export function takeUsageCost(usage: Record<string, unknown>, cost: ReportedCost): boolean {
  const usd = usage[USAGE_COST_FIELD];
  if (usd === undefined) return false;
  if (typeof usd === 'number' && Number.isFinite(usd) && usd >= 0) cost.usd = usd;
  delete usage[USAGE_COST_FIELD];
  return true;
}
