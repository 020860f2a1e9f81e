/** The configured limits of a route: its account's entry for the model, else the "*" default. */
import type { Route } from '../providers/types';
import type { QuotaLimits } from '../quota/store';

const NONE: QuotaLimits = {};

export function limitsFor(route: Route): QuotaLimits {
  const l = route.account.limits;
  return l[route.model] ?? l['*'] ?? NONE;
}
