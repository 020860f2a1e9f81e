/**
 * A spoke's prices against the hub's price bounds (the hub output `modelPriceBounds`,
 * from `ai-gateway:models[].price` in Pulumi.hub.yaml). The proxy holds a budgeted
 * request's worst case at the bound (its prompt at the dearer of the input and
 * cache-write rates, its output cap at the output rate) and the spoke then reports what
 * the answer cost at its own prices: a spoke price above the bound lets spend pass a
 * tenant's cap by more than the documented bound. So a spoke that serves a priced model
 * must charge no rate above it, or the deployment fails with both keys named.
 */
import { StackConfigError } from '../config';
import { providerModelCatalog, type SpokeConfig } from '../config-schema';
import type { ModelPriceBound } from '../lib/hub-exports';
import { cacheWriteRate, cachedInputRate, worstPromptRate } from '../../runtime/src/core/price';

const KEY = 'ai-gateway:';

export function checkAgainstHubPriceBounds(stack: string, cfg: SpokeConfig, bounds: readonly ModelPriceBound[] | undefined): void {
  const byId = new Map(providerModelCatalog(cfg.provider).map((entry) => [entry.id, entry]));
  const problems: string[] = [];
  for (const model of cfg.models) {
    const bound = bounds?.find((b) => b.name === model.name && b.providers.includes(cfg.provider.kind));
    if (!bound) continue;
    const promptBound = worstPromptRate(bound.price);
    for (const target of new Set(model.targets)) {
      const entry = byId.get(target);
      const price = entry?.price;
      // A target without a price reports no cost: the proxy prices it at the bound.
      if (!entry || !price) continue;
      const rates: [string, number][] = [
        ['inputPerMTok', price.inputPerMTok],
        ['cachedInputPerMTok', cachedInputRate(price)],
        ['cacheWritePerMTok', cacheWriteRate(price)],
      ];
      for (const [field, rate] of rates) {
        if (rate > promptBound) {
          problems.push(
            `${KEY}${entry.key}.price.${field}: ${rate} USD per million tokens ("${target}", a target of model "${model.name}") is above the hub's bound for prompt tokens, ${promptBound} (${bound.key} in the hub stack: the dearer of inputPerMTok and cacheWritePerMTok)`,
          );
        }
      }
      if (price.outputPerMTok > bound.price.outputPerMTok) {
        problems.push(
          `${KEY}${entry.key}.price.outputPerMTok: ${price.outputPerMTok} USD per million tokens ("${target}", a target of model "${model.name}") is above the hub's bound, ${bound.price.outputPerMTok} (${bound.key}.outputPerMTok in the hub stack)`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new StackConfigError(
      `stack "${stack}" charges more than the hub's price bounds, so budgets' holds would undercount its answers; raise the bound in Pulumi.hub.yaml (and run pulumi up -s hub first) or lower the price:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}
