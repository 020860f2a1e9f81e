/**
 * Config that is valid but does nothing of what it seems to ask for: logged as warn lines
 * at start and on each reload, never refused (a config may be written ahead of its use).
 */
import { DEFAULT_PRIORITY, shareOf } from '../core/priority';
import type { GatewayConfig, Role } from './schema';

export interface ConfigWarning {
  /** Key path, as config errors name it. */
  path: string;
  message: string;
}

export function configWarnings(config: GatewayConfig, role: Role): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  // The operator pages show every tenant's spend and every route: a tenant's own key opens them too.
  config.operators?.keys.forEach((k, i) => {
    const tenant = config.tenants.find((t) => t.keys.includes(k));
    if (tenant) warnings.push({ path: `operators.keys.${i}`, message: `also a key of tenant "${tenant.id}": that tenant's clients can read the operator pages` });
  });
  config.tenants.forEach((t, i) => {
    if (t.models.length === 0) warnings.push({ path: `tenants.${i}.models`, message: `is empty: tenant "${t.id}" may use no model, so every request it sends is a 403` });
    const b = t.budget;
    if (b?.usdPerDay !== undefined && b.usdPerMonth !== undefined && b.usdPerDay > b.usdPerMonth) {
      warnings.push({ path: `tenants.${i}.budget.usdPerDay`, message: `${b.usdPerDay} is more than usdPerMonth ${b.usdPerMonth}: the month's cap always stops tenant "${t.id}" first` });
    }
  });
  // The proxy routes to spokes: its providers' limits and capacity classes are the spokes' business.
  if (role === 'proxy') return warnings;
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
        if (applies) warnings.push(...starvedClasses(config.capacity, `providers.${i}.accounts.${j}.limits.${model}`, limits));
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

/** Classes whose share of a route's limit rounds down to nothing: never admitted on that route. */
function starvedClasses(capacity: GatewayConfig['capacity'], path: string, limits: { rpm?: number; tpm?: number }): ConfigWarning[] {
  if (!capacity) return [];
  const standard = 1 - capacity.criticalReserve;
  const classes: [string, string, number][] = [
    ['standard', 'capacity.criticalReserve', standard],
    ['batch', capacity.batchCeiling === undefined ? 'capacity.criticalReserve' : 'capacity.batchCeiling', capacity.batchCeiling ?? standard],
  ];
  const out: ConfigWarning[] = [];
  for (const [name, key, share] of classes) {
    const unit =
      limits.rpm !== undefined && shareOf(limits.rpm, share) === 0 ? ['rpm', limits.rpm] : limits.tpm !== undefined && shareOf(limits.tpm, share) === 0 ? ['tpm', limits.tpm] : undefined;
    if (unit) out.push({ path: key, message: `${name} requests get none of ${path} (${unit[0]} ${unit[1]} x ${+share.toFixed(6)} rounds down to 0): they are never admitted on its routes` });
  }
  return out;
}
