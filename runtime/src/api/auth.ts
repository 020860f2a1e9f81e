/**
 * Tenant keys: `Authorization: Bearer KEY` or `x-api-key`. Only SHA-256 hashes are in the
 * config; the presented key is hashed and compared in constant time against each.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TenantConfig } from '../config/schema';
import { GatewayError } from './errors';

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1]!.trim() : undefined;
  }
  return headers.get('x-api-key')?.trim() || undefined;
}

export class TenantDirectory {
  private readonly entries: Array<{ digest: Buffer; tenant: TenantConfig }>;

  constructor(tenants: readonly TenantConfig[]) {
    this.entries = tenants.flatMap((tenant) => tenant.keys.map((k) => ({ digest: Buffer.from(k.slice(7), 'hex'), tenant })));
  }

  get open(): boolean {
    return this.entries.length === 0;
  }

  /** The tenant a request belongs to; undefined when the gateway is open (no tenants). */
  authenticate(headers: Headers): TenantConfig | undefined {
    if (this.open) return undefined;
    const key = presentedKey(headers);
    if (!key) {
      throw new GatewayError(401, 'authentication_error', 'Missing API key: send "Authorization: Bearer KEY" or "x-api-key: KEY".', 'missing_api_key');
    }
    const digest = createHash('sha256').update(key).digest();
    let found: TenantConfig | undefined;
    // Compare with every key, not stopping at a match, so timing says nothing about which.
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest)) found = e.tenant;
    if (!found) throw new GatewayError(401, 'authentication_error', 'Invalid API key.', 'invalid_api_key');
    return found;
  }
}

export function assertModelAllowed(tenant: TenantConfig | undefined, model: string): void {
  if (!tenant || tenant.models.includes('*') || tenant.models.includes(model)) return;
  throw new GatewayError(403, 'permission_error', `Tenant "${tenant.id}" is not allowed to use model "${model}".`, 'model_not_allowed', 'model');
}
