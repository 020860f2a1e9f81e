/**
 * Config that is valid but does nothing of what it seems to ask for: logged as warn lines
 * at start and on each reload, never refused (a config may be written ahead of its use).
 */
import { DEFAULT_PRIORITY } from '../core/priority';
import type { GatewayConfig, Role } from './schema';

export interface ConfigWarning {
  /** Key path, as config errors name it. */
  path: string;
  message: string;
}

export function configWarnings(config: GatewayConfig, role: Role): ConfigWarning[] {
  // The proxy routes to spokes: its providers' limits and capacity classes are the spokes' business.
  if (role === 'proxy') return [];
  const warnings: ConfigWarning[] = [];
  if (!config.capacity) {
    config.tenants.forEach((t, i) => {
      if (t.priority === DEFAULT_PRIORITY) return;
      warnings.push({
        path: `tenants.${i}.priority`,
        message: `"${t.priority}" has no effect without a top-level capacity key (criticalReserve, batchCeiling): no share of any route is kept from other tenants`,
      });
    });
  }
  let limited = false;
  config.providers.forEach((p, i) => {
    const served = new Set(config.models.flatMap((m) => m.targets.filter((t) => t.provider === p.id).map((t) => t.model)));
    p.accounts.forEach((a, j) =>
      Object.entries(a.limits).forEach(([model, limits]) => {
        const applies = (model === '*' && served.size > 0) || served.has(model);
        if (applies && (limits.rpm !== undefined || limits.tpm !== undefined)) limited = true;
        if (model === '*' || served.has(model)) return;
        warnings.push({
          path: `providers.${i}.accounts.${j}.limits.${model}`,
          message: `no target of provider "${p.id}" names model "${model}" (targets name: ${[...served].join(', ') || 'none'}): these limits apply to nothing`,
        });
      }),
    );
  });
  if (config.capacity && !limited) {
    warnings.push({ path: 'capacity', message: 'no route has rpm or tpm limits (providers[].accounts[].limits): capacity classes have nothing to reserve' });
  }
  return warnings;
}
