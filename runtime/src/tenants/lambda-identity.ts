/**
 * The tenant API Gateway already vouched for, in the Lambda role: the REST API key id
 * (`requestContext.identity.apiKeyId`, set once API Gateway validated the key) or the
 * claims a Cognito authorizer verified (`requestContext.authorizer.claims`, or
 * `authorizer.jwt.claims` from an HTTP API JWT authorizer). Hono hands the Lambda event's
 * request context over as `c.env.requestContext`; outside Lambda there is none, and a
 * client cannot forge one with headers.
 */
import type { TenantConfig } from '../config/schema';

export interface RequestIdentity {
  apiKeyId?: string;
  /** Verified token claims, as API Gateway passes them (strings, or arrays from a JWT authorizer). */
  claims?: Readonly<Record<string, unknown>>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the request context of a Lambda invocation says about the caller; undefined outside Lambda. */
export function requestIdentity(env: unknown): RequestIdentity | undefined {
  if (!isRecord(env) || !isRecord(env.requestContext)) return undefined;
  const ctx = env.requestContext;
  const identity: RequestIdentity = {};
  if (isRecord(ctx.identity) && typeof ctx.identity.apiKeyId === 'string' && ctx.identity.apiKeyId !== '') {
    identity.apiKeyId = ctx.identity.apiKeyId;
  }
  const authorizer = isRecord(ctx.authorizer) ? ctx.authorizer : undefined;
  const claims = isRecord(authorizer?.claims) ? authorizer.claims : isRecord(authorizer?.jwt) && isRecord(authorizer.jwt.claims) ? authorizer.jwt.claims : undefined;
  if (claims) identity.claims = claims;
  return identity.apiKeyId !== undefined || identity.claims !== undefined ? identity : undefined;
}

/**
 * A claim's values. A REST API authorizer flattens list claims such as `cognito:groups`
 * into one string, "a,b" or "[a b]"; a JWT authorizer may keep the array.
 */
export function claimValues(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.filter((v): v is string => typeof v === 'string');
  if (typeof raw !== 'string' || raw === '') return [];
  const listed = /^\[(.*)\]$/.exec(raw);
  const parts = listed ? listed[1].split(/[\s,]+/) : raw.split(',');
  return [raw, ...parts.map((p) => p.trim())].filter((p, i, all) => p !== '' && all.indexOf(p) === i);
}

export class AmbiguousTenantError extends Error {
  constructor(readonly tenantIds: readonly string[]) {
    super(`the request's API Gateway identity maps to several tenants: ${tenantIds.join(', ')}`);
  }
}

/** Tenants by API key id and by Cognito claim value, from tenants[].apiKeyIds and tenants[].cognito. */
export class LambdaTenantMap {
  private readonly byApiKeyId = new Map<string, TenantConfig>();
  /** claim name -> claim value -> tenant */
  private readonly byClaim = new Map<string, Map<string, TenantConfig>>();

  constructor(tenants: readonly TenantConfig[]) {
    for (const t of tenants) {
      for (const id of t.apiKeyIds ?? []) this.byApiKeyId.set(id, t);
      if (!t.cognito) continue;
      let values = this.byClaim.get(t.cognito.claim);
      if (!values) this.byClaim.set(t.cognito.claim, (values = new Map<string, TenantConfig>()));
      for (const v of t.cognito.values) values.set(v, t);
    }
  }

  get empty(): boolean {
    return this.byApiKeyId.size === 0 && this.byClaim.size === 0;
  }

  /** The tenant the identity maps to, undefined when none; throws when it maps to several. */
  resolve(identity: RequestIdentity | undefined): TenantConfig | undefined {
    if (!identity) return undefined;
    const found = new Map<string, TenantConfig>();
    const byKey = identity.apiKeyId !== undefined ? this.byApiKeyId.get(identity.apiKeyId) : undefined;
    // API Gateway validated the API key itself: it is the stronger statement.
    if (byKey) return byKey;
    if (identity.claims) {
      for (const [claim, tenants] of this.byClaim) {
        for (const v of claimValues(identity.claims[claim])) {
          const t = tenants.get(v);
          if (t) found.set(t.id, t);
        }
      }
    }
    if (found.size > 1) throw new AmbiguousTenantError([...found.keys()].sort());
    return found.values().next().value;
  }
}
