/**
 * Prices and budgets for one request: the worst case a tenant's budget holds at admission
 * (estimated input plus the output cap at the most expensive target the request could be
 * routed to), and the cost of each answer that served it (a spoke's own report when it
 * sent one, else the price of the route that answered).
 */
import { configPricing } from '../config/pricing';
import type { Role, TenantConfig } from '../config/schema';
import { costOf } from '../core/price';
import type { Usage } from '../core/openai-types';
import type { Gateway } from '../gateway';
import type { Route, UpstreamMeta } from '../providers/types';
import type { BudgetHold } from '../tenants/spend-store';

/** Output a budget holds for a request that sets no max_tokens (budget.defaultOutputTokens overrides it). */
export const DEFAULT_BUDGET_OUTPUT_TOKENS = 4096;

/**
 * Holds the request's worst case against its tenant's budget (429 `budget_exceeded` past
 * it); undefined without a budget. `maxOutputTokens`: the client's cap, undefined when it set none;
 * `thinkingTokens`: what a target may think on top of it (reasoning_effort on Claude).
 */
export function reserveBudget(
  gw: Gateway,
  tenant: TenantConfig | undefined,
  model: string,
  promptTokens: number,
  maxOutputTokens: number | undefined,
  thinkingTokens = 0,
): Promise<BudgetHold> | undefined {
  const budget = tenant?.budget;
  if (!tenant || !budget) return undefined;
  const output = (maxOutputTokens ?? budget.defaultOutputTokens ?? DEFAULT_BUDGET_OUTPUT_TOKENS) + thinkingTokens;
  const worst = configPricing(gw.config).model(model)?.worstCase(promptTokens, output) ?? 0;
  return gw.spend.reserve(tenant, budget, worst);
}

/**
 * What one answer cost in USD: what the upstream gateway reported, else its usage at the
 * price of the route that answered (a spoke's route when it named it). A proxy that cannot
 * tell which of its model's targets a spoke used counts the highest price (its bound).
 * Undefined when nothing is priced.
 */
export function answerCost(config: Gateway['config'], role: Role, model: string, route: Route, meta: UpstreamMeta, usage: Usage): number | undefined {
  const reported = meta.reportedCost?.usd;
  if (reported !== undefined) return reported;
  const pricing = configPricing(config).model(model);
  if (!pricing) return undefined;
  const price =
    (meta.upstreamRoute !== undefined ? pricing.ofRoute(meta.upstreamRoute) : undefined) ?? pricing.of(route.provider.id, route.model) ?? (role === 'proxy' ? pricing.ceiling : undefined);
  return price && costOf(price, usage);
}
