/**
 * Tenant keys: `Authorization: Bearer KEY` or `x-api-key`. Only SHA-256 hashes are in the
 * config; the presented key is hashed and compared in constant time against each.
 * In the Lambda role, the identity API Gateway vouched for (API key id, Cognito claims)
 * names the tenant first; the keys are the fallback.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TenantConfig } from '../config/schema';
import { AmbiguousTenantError, LambdaTenantMap, requestIdentity } from './lambda-identity';
import { GatewayError } from '../core/gateway-error';
import { echo } from '../core/echo';

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** The bearer key, else `x-api-key` (an Authorization of another scheme, e.g. one a proxy in between adds, does not hide it). */
export function presentedKey(headers: Pick<Headers, 'get'>): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.get('authorization')?.trim() ?? '');
  if (bearer) return bearer[1].trim();
  return headers.get('x-api-key')?.trim() || undefined;
}

export class TenantDirectory {
  private entries: Array<{ digest: Buffer; tenant: TenantConfig }> = [];
  private lambda = new LambdaTenantMap([]);
  private count = 0;

  constructor(tenants: readonly TenantConfig[]) {
    this.replace(tenants);
  }

  /** A reloaded config's tenants: a key no longer listed is refused from the next request on. */
  replace(tenants: readonly TenantConfig[]): void {
    this.entries = tenants.flatMap((tenant) => tenant.keys.map((k) => ({ digest: Buffer.from(k.slice(7), 'hex'), tenant })));
    this.lambda = new LambdaTenantMap(tenants);
    this.count = tenants.length;
  }

  get open(): boolean {
    return this.count === 0;
  }

  /**
   * The tenant a request belongs to; undefined when the gateway is open (no tenants).
   * `env` is Hono's `c.env`: in Lambda it carries API Gateway's request context.
   */
  authenticate(headers: Pick<Headers, 'get'>, env?: unknown): TenantConfig | undefined {
    if (this.open) return undefined;
    const identity = this.lambda.empty ? undefined : requestIdentity(env);
    try {
      const vouched = this.lambda.resolve(identity);
      if (vouched) return vouched;
    } catch (err) {
      if (!(err instanceof AmbiguousTenantError)) throw err;
      throw new GatewayError(403, 'permission_error', `${err.message}; give each tenant distinct apiKeyIds and cognito values.`, 'ambiguous_tenant');
    }
    const key = presentedKey(headers);
    if (!key) {
      const unmapped = identity?.apiKeyId !== undefined ? ` The API Gateway API key of this request (id ${identity.apiKeyId}) is not in any tenant's apiKeyIds.` : '';
      throw new GatewayError(
        401,
        'authentication_error',
        `Missing API key: send "Authorization: Bearer KEY" or "x-api-key: KEY".${authorizationNote(headers)}${unmapped}`,
        'missing_api_key',
      );
    }
    const digest = createHash('sha256').update(key).digest();
    let found: TenantConfig | undefined;
    // Compare with every key, not stopping at a match, so timing says nothing about which.
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest)) found = e.tenant;
    if (!found) throw new GatewayError(401, 'authentication_error', 'Invalid API key.', 'invalid_api_key');
    return found;
  }
}

/**
 * What is wrong with an Authorization header that carries no key. A header of one word is
 * most often a bare key: it is not quoted back (clients log error messages).
 */
function authorizationNote(headers: Pick<Headers, 'get'>): string {
  const parts = headers.get('authorization')?.trim().split(/\s+/) ?? [''];
  if (parts[0] === '') return '';
  if (parts.length > 1) return ` The Authorization header's scheme is "${echo(parts[0])}", not Bearer.`;
  if (/^bearer$/i.test(parts[0])) return ' The Authorization header says Bearer but carries no key.';
  return ' The Authorization header has no scheme (its value is not quoted here): put "Bearer " before the key.';
}

/** Whether the tenant may use the logical model (every model when the gateway is open). */
export function modelAllowed(tenant: TenantConfig | undefined, model: string): boolean {
  return !tenant || tenant.models.includes('*') || tenant.models.includes(model);
}

export function assertModelAllowed(tenant: TenantConfig | undefined, model: string): void {
  if (!tenant || modelAllowed(tenant, model)) return;
  throw new GatewayError(403, 'permission_error', `Tenant "${tenant.id}" is not allowed to use model "${echo(model)}".`, 'model_not_allowed', 'model');
}
