/**
 * The runtime config of the hub's Lambda proxy, rendered from the hub stack config. Each
 * provider hub gives the proxy two routes for the models it serves: through the hub NLB
 * (`<kind>.<zone>`, port 80) and straight to the spokes' NLBs over the Transit Gateway
 * (`<kind>.spokes.<zone>`, port 8080, weighted per spoke). Both names are fixed by the
 * hub config, so adding a spoke never changes the proxy. Prices and session affinity per
 * model come from the hub's `models`; capacity classes and routing belong to the spokes.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { SPOKES_PROVIDER_ID } from '../../runtime/src/tiers/proxy-routes';
import type { HubConfig } from '../config-schema';
import { providerHubHost, SPOKE_PORT, spokesHost } from '../lib/naming';

/** `redisUrl`: the hub's shared-state cache (`rediss://`, no credentials), for tenant limits across Lambda instances. */
export function renderProxyConfig(cfg: HubConfig, redisUrl: string): GatewayConfigInput {
  const zone = cfg.privateZone;
  const spokes = cfg.providerHubs.flatMap((kind) => {
    const models = cfg.models.filter((m) => m.providers.includes(kind)).map((m) => m.name);
    if (models.length === 0) return [];
    return [
      { id: kind, url: `http://${providerHubHost(kind, zone)}`, models },
      { id: `${kind}-direct`, url: `http://${spokesHost(kind, zone)}:${SPOKE_PORT}`, models },
    ];
  });
  return {
    // The proxy forwards each logical model to the spokes that list it; the price is its bound for budgets' holds.
    models: cfg.models.map((m) => ({
      name: m.name,
      ...(m.api === 'embeddings' ? { api: m.api } : {}),
      ...(m.promptCache ? { promptCache: m.promptCache } : {}),
      targets: [{ provider: SPOKES_PROVIDER_ID, model: m.name, ...(m.price ? { price: m.price } : {}) }],
    })),
    spokes,
    state: { redis: redisUrl },
  };
}
