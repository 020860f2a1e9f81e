/**
 * Why a tenant's request was refused before any provider was asked: its own limits (rpm,
 * tpm, concurrency), its budget, or its capacity class's share of every route. Metrics
 * and /status count refusals by this reason, a small fixed set of label values.
 */
import { GatewayError } from './gateway-error';
import { CAPACITY_RESERVED } from './priority';

export const REFUSALS = ['rpm', 'tpm', 'concurrency', 'budget', 'capacity_reserved'] as const;
export type Refusal = (typeof REFUSALS)[number];

/** The refusals that leave the tenant's rpm/tpm window as if the request never came: nothing was served. */
export const REFUNDED: ReadonlySet<Refusal> = new Set<Refusal>(['budget', 'capacity_reserved']);

/** A tenant's own limit refused the request (the 429 says which in its message, this says it for counting). */
export class TenantLimitError extends GatewayError {
  constructor(
    readonly limit: 'rpm' | 'tpm' | 'concurrency',
    message: string,
    retryAfterSeconds: number,
  ) {
    super(429, 'rate_limit_error', message, limit === 'concurrency' ? 'tenant_concurrency_limited' : 'tenant_rate_limited', null, { 'retry-after': String(retryAfterSeconds) });
  }
}

/** The refusal `err` is, if it is one. */
export function refusalOf(err: unknown): Refusal | undefined {
  if (err instanceof TenantLimitError) return err.limit;
  if (!(err instanceof GatewayError) || err.status !== 429) return undefined;
  if (err.code === 'budget_exceeded') return 'budget';
  if (err.code === CAPACITY_RESERVED) return 'capacity_reserved';
  return undefined;
}
