/** Which provider endpoints can be checked for free, and how: OpenAI-style GET /models. */
import type { ProviderConfig } from '../config/schema';
import { baseUrl } from '../providers/openai/adapter';
import type { ProbeTarget } from './prober';

/** Provider endpoints (spokes have their own, see tiers/proxy-routes.ts). */
export function providerProbeTargets(providers: readonly ProviderConfig[]): ProbeTarget[] {
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
