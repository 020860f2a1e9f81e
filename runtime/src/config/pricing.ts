/**
 * The prices of a config, looked up per logical model: the price of the target a route
 * serves, the price of an upstream route a spoke reported, and the worst a request could
 * cost on any target of its model (what a budget reserves). Built once per config.
 */
import { worstCaseCost, type Price } from '../core/price';
import type { GatewayConfig, ModelConfig } from './schema';

export class ModelPricing {
  private readonly byTarget = new Map<string, Price>();
  /** Every target's price, in config order (undefined where a target has none). */
  readonly prices: readonly (Price | undefined)[];
  /** The highest input and output prices of its targets: the bound when the target is not known. */
  readonly ceiling: Price | undefined;

  constructor(model: ModelConfig) {
    this.prices = model.targets.map((t) => t.price);
    for (const t of model.targets) if (t.price && !this.byTarget.has(targetKey(t.provider, t.model))) this.byTarget.set(targetKey(t.provider, t.model), t.price);
    const priced = this.prices.filter((p): p is Price => p !== undefined);
    this.ceiling =
      priced.length === 0
        ? undefined
        : {
            inputPerMTok: Math.max(...priced.map((p) => p.inputPerMTok)),
            outputPerMTok: Math.max(...priced.map((p) => p.outputPerMTok)),
          };
  }

  /** The price of the target `provider`/`model` (a route's provider id and provider model id). */
  of(provider: string, model: string): Price | undefined {
    return this.byTarget.get(targetKey(provider, model));
  }

  /** The price of an upstream gateway's route `provider/account/region/model` (what a spoke reports). */
  ofRoute(route: string): Price | undefined {
    const a = route.indexOf('/');
    const b = route.indexOf('/', a + 1);
    const c = route.indexOf('/', b + 1);
    return a > 0 && c > b ? this.of(route.slice(0, a), route.slice(c + 1)) : undefined;
  }

  /** The most `input` prompt and `output` completion tokens could cost on any priced target (0 when none is priced). */
  worstCase(input: number, output: number): number {
    let worst = 0;
    for (const p of this.prices) if (p) worst = Math.max(worst, worstCaseCost(p, input, output));
    return worst;
  }
}

function targetKey(provider: string, model: string): string {
  return `${provider}\n${model}`;
}

/** Every logical model's prices; `priced` is false when no target of any model has one (nothing to count). */
export class ConfigPricing {
  readonly priced: boolean;
  private readonly models: ReadonlyMap<string, ModelPricing>;

  constructor(models: readonly ModelConfig[]) {
    this.models = new Map(models.filter((m) => m.targets.some((t) => t.price)).map((m) => [m.name, new ModelPricing(m)]));
    this.priced = this.models.size > 0;
  }

  /** The prices of the logical model `name`; undefined when none of its targets has one. */
  model(name: string): ModelPricing | undefined {
    return this.models.get(name);
  }
}

const pricingOf = new WeakMap<GatewayConfig['models'], ConfigPricing>();

/** The prices of a running config, made once per config (a reload brings a new one). */
export function configPricing(config: Pick<GatewayConfig, 'models'>): ConfigPricing {
  let p = pricingOf.get(config.models);
  if (!p) pricingOf.set(config.models, (p = new ConfigPricing(config.models)));
  return p;
}
