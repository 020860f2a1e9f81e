/**
 * What an upstream that is itself a gateway (a spoke) says about its own answer in its
 * headers: the route that served, its attempts, what session affinity did there, and
 * (asked by its proxy) what it cost.
 */
import { AFFINITY_HEADER, ATTEMPTS_HEADER, COST_HEADER, ROUTE_HEADER } from '../core/gateway-headers';
import { isAffinity } from '../core/prompt-cache';
import { header, type UpstreamHeaders } from './http';
import type { UpstreamMeta } from './types';

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
