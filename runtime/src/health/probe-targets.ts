/** Which endpoints can be checked for free, and how: spokes' /healthz, OpenAI-style /models. */
import type { GatewayConfig, ProviderConfig, Role } from '../config/schema';
import { baseUrl } from '../providers/openai/adapter';
import { SPOKES_PROVIDER_ID } from '../tiers/proxy-routes';
import type { ProbeTarget } from './prober';

export function probeTargets(config: GatewayConfig, role: Role, providers: readonly ProviderConfig[]): ProbeTarget[] {
  if (role === 'proxy') {
    return config.spokes.map((s) => ({ key: `${SPOKES_PROVIDER_ID}/${s.id}/spoke`, url: `${s.url.replace(/\/+$/, '')}/healthz`, kind: 'spoke' }));
  }
  const targets: ProbeTarget[] = [];
  for (const p of providers) {
    // Hosted APIs are probed by real traffic; self-hosted servers (an explicit url) for free.
    if (p.type !== 'openai-compatible' && p.type !== 'openai') continue;
    for (const a of p.accounts) {
      for (const e of a.endpoints) {
        if (!e.url) continue;
        targets.push({ key: `${p.id}/${a.id}/${e.region}`, url: `${baseUrl(p, e)}/models`, kind: 'models' });
      }
    }
  }
  return targets;
}
