/**
 * `routing: cost`: a logical model's targets in the order of what this request would cost
 * on each (its estimated input and expected output at the target's price), cheapest
 * first. The executor then takes the first that is healthy and has headroom for the
 * request's class, and the next when it saturates (no headroom, circuit open, cooldown).
 * Equal prices keep config order; within a target, accounts and regions share load as always.
 */
import type { ModelPricing } from '../config/pricing';
import { estimatedCost } from '../core/price';
import type { ModelRoutes } from './route-table';

export function costOrdered(routes: ModelRoutes, pricing: ModelPricing | undefined, inputTokens: number, outputTokens: number): ModelRoutes {
  const groups = routes.groups;
  // One group per priced target (a proxy's single group of spokes has nothing to order).
  if (!pricing || groups.length < 2 || pricing.prices.length !== groups.length) return routes;
  const costs = pricing.prices.map((p) => (p ? estimatedCost(p, inputTokens, outputTokens) : Infinity));
  let sorted = true;
  for (let i = 1; i < costs.length && sorted; i++) sorted = costs[i - 1] <= costs[i];
  if (sorted) return routes;
  const order = costs.map((_, i) => i).sort((a, b) => costs[a] - costs[b] || a - b);
  return { ...routes, groups: order.map((i) => groups[i]) };
}
