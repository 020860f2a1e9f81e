/**
 * The spoke runtime's config (its SSM parameter, GATEWAY_CONFIG_JSON at task start),
 * rendered from the spoke stack config:
 * one account (this spoke) per provider, its quotas per model, its Regions or URL, the
 * logical models with their ordered targets (each with its provider model's price and
 * prompt-cache support), their routing and prompt caching, and the capacity classes this
 * spoke enforces. Third-party keys arrive as environment variables that ECS fills from the
 * hub's Secrets Manager secrets at task start, so the rendered config holds no secret and
 * no ARN.
 */
import type { GatewayConfigInput, PriceConfig } from '../../runtime/src/config/schema';
import type { SpokeConfig } from '../config-schema';
import { SPOKE_PORT } from '../lib/naming';

type ProviderInput = NonNullable<GatewayConfigInput['providers']>[number];
type Limits = Record<string, { rpm: number; tpm: number }>;

/** An environment variable ECS fills from a hub secret. */
export interface SecretEnv {
  /** Environment variable name in the container. */
  name: string;
  /** Hub secret name (a key of the hub's thirdPartySecretArns output). */
  secret: string;
}

export function apiKeyEnvName(vendorId: string): string {
  return `${vendorId.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_API_KEY`;
}

export function secretEnvs(cfg: SpokeConfig): SecretEnv[] {
  return cfg.provider.kind === 'third-party' ? cfg.provider.vendors.map((v) => ({ name: apiKeyEnvName(v.id), secret: v.secret })) : [];
}

const limitsOf = (models: { id: string; limits: { rpm: number; tpm: number } }[]): Limits => Object.fromEntries(models.map((m) => [m.id, { rpm: m.limits.rpm, tpm: m.limits.tpm }]));

/** What a target naming a provider model carries besides the model id. */
interface ModelRef {
  provider: string;
  contextTokens?: number;
  price?: PriceConfig;
  promptCache?: boolean;
}

type ProviderModel = { id: string } & Omit<ModelRef, 'provider'>;

function providersOf(cfg: SpokeConfig, account: string): { providers: ProviderInput[]; modelRefs: Map<string, ModelRef> } {
  const provider = cfg.provider;
  const modelRefs = new Map<string, ModelRef>();
  const add = (provider: string, { id, contextTokens, price, promptCache }: ProviderModel) =>
    modelRefs.set(id, {
      provider,
      ...(contextTokens ? { contextTokens } : {}),
      ...(price ? { price } : {}),
      ...(promptCache !== undefined ? { promptCache } : {}),
    });
  const providers: ProviderInput[] = [];
  if (provider.kind === 'bedrock') {
    const models = provider.models.map((m) => ({ ...m, id: m.inferenceProfile?.id ?? m.id }));
    models.forEach((m) => add('bedrock', m));
    providers.push({ id: 'bedrock', type: 'bedrock', accounts: [{ id: account, limits: limitsOf(models), endpoints: provider.regions.map((region) => ({ region })) }] });
  } else if (provider.kind === 'third-party') {
    for (const vendor of provider.vendors) {
      vendor.models.forEach((m) => add(vendor.id, m));
      providers.push({
        id: vendor.id,
        type: vendor.type,
        accounts: [
          {
            id: account,
            credentials: { env: apiKeyEnvName(vendor.id) },
            limits: limitsOf(vendor.models),
            endpoints: [{ region: 'global', ...(vendor.url ? { url: vendor.url } : {}) }],
          },
        ],
      });
    }
  } else {
    provider.models.forEach((m) => add('on-prem', m));
    providers.push({ id: 'on-prem', type: 'openai-compatible', accounts: [{ id: account, limits: limitsOf(provider.models), endpoints: [{ region: 'on-prem', url: provider.url }] }] });
  }
  return { providers, modelRefs };
}

/**
 * `account` names this spoke in the runtime's quota keys and logs (the stack name);
 * `redisUrl` is the spoke's shared-state cache (`rediss://`, no credentials: the AUTH
 * token reaches the tasks as GATEWAY_REDIS_AUTH_TOKEN).
 */
export function renderSpokeRuntimeConfig(cfg: SpokeConfig, account: string, redisUrl: string): GatewayConfigInput {
  const { providers, modelRefs } = providersOf(cfg, account);
  return {
    server: { port: SPOKE_PORT, host: '0.0.0.0' },
    state: { redis: redisUrl },
    providers,
    models: cfg.models.map((m) => ({
      name: m.name,
      ...(m.api === 'embeddings' ? { api: m.api } : {}),
      ...(m.interchangeable !== undefined ? { interchangeable: m.interchangeable } : {}),
      ...(m.routing ? { routing: m.routing } : {}),
      ...(m.promptCache ? { promptCache: m.promptCache } : {}),
      // Config validation guarantees every target is one of the provider's models.
      targets: m.targets.map((model) => ({ model, ...(modelRefs.get(model) ?? { provider: 'unknown' }) })),
    })),
    // Spokes hold the routes and quotas, so they enforce the classes the proxy sends (x-gateway-priority).
    ...(cfg.capacity ? { capacity: cfg.capacity } : {}),
  };
}
