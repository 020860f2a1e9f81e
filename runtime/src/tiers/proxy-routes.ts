/**
 * The proxy role sends requests to spokes, which speak our own OpenAI-compatible API.
 * Each spoke becomes an account of one synthetic `openai-compatible` provider and each
 * of its addresses an endpoint, so the proxy reuses the same adapter, route table,
 * health checks and executor as every other role.
 */
import type { GatewayConfig, ProviderConfig } from '../config/schema';
import { endpointSchema } from '../config/schema';
import type { ProbeTarget } from '../health/prober';
import type { Route } from '../providers/types';
import type { SpokeDirectory } from './spoke-directory';

export const SPOKES_PROVIDER_ID = 'spokes';

export function spokesAsProvider(spokes: GatewayConfig['spokes'], directory: SpokeDirectory): ProviderConfig {
  return {
    id: SPOKES_PROVIDER_ID,
    type: 'openai-compatible',
    accounts: spokes.map((s) => ({
      id: s.id,
      limits: {},
      endpoints: directory.endpoints(s.id).map((e) => endpointSchema.parse({ region: e.address, url: `${e.url}/v1` })),
    })),
  };
}

/** Proxy models: every logical model, served by the spokes that list it (all when unlisted); cache markers go on to the spokes as sent. */
export function proxyModels(config: GatewayConfig): GatewayConfig['models'] {
  return config.models.map((m) => ({ ...m, targets: [{ provider: SPOKES_PROVIDER_ID, model: m.name, promptCache: true }] }));
}

/** A spoke's caches are its account's: any of its addresses keeps a session's cache (session affinity). */
export function spokeScope(route: Route): string {
  return `${route.provider.id}/${route.account.id}`;
}

export function spokeServes(spoke: GatewayConfig['spokes'][number], model: string): boolean {
  return !spoke.models || spoke.models.includes(model);
}

/** Each spoke address's /healthz: up or down, and which models it can serve now. */
export function spokeProbeTargets(spokes: GatewayConfig['spokes'], directory: SpokeDirectory): ProbeTarget[] {
  return spokes.flatMap((s) => directory.endpoints(s.id).map((e): ProbeTarget => ({ key: `${SPOKES_PROVIDER_ID}/${s.id}/${e.address}`, url: `${e.url}/healthz`, kind: 'spoke' })));
}
