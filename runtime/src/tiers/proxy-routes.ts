/**
 * The proxy role sends requests to spokes, which speak our own OpenAI-compatible API.
 * Each spoke becomes an account of one synthetic `openai-compatible` provider, so the
 * proxy reuses the same adapter, route table and attempt loop as every other role.
 */
import type { GatewayConfig, ProviderConfig } from '../config/schema';
import { endpointSchema } from '../config/schema';

export const SPOKES_PROVIDER_ID = 'spokes';

export function spokesAsProvider(spokes: GatewayConfig['spokes']): ProviderConfig {
  return {
    id: SPOKES_PROVIDER_ID,
    type: 'openai-compatible',
    accounts: spokes.map((s) => ({
      id: s.id,
      limits: {},
      endpoints: [endpointSchema.parse({ region: 'spoke', url: `${s.url.replace(/\/+$/, '')}/v1` })],
    })),
  };
}

/** Proxy models: every logical model, served by the spokes that list it (all when unlisted). */
export function proxyModels(config: GatewayConfig): GatewayConfig['models'] {
  return config.models.map((m) => ({
    ...m,
    targets: [{ provider: SPOKES_PROVIDER_ID, model: m.name }],
  }));
}

export function spokeServes(spoke: GatewayConfig['spokes'][number], model: string): boolean {
  return !spoke.models || spoke.models.includes(model);
}
