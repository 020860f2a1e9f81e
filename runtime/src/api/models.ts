/**
 * GET /v1/models: the logical models the caller may use (a tenant's `models`; every model
 * while the gateway is open), in the OpenAI list shape (Anthropic's for a client that sends
 * `anthropic-version`).
 */
import type { TenantConfig } from '../config/schema';
import type { Gateway } from '../gateway';
import { modelAllowed } from '../tenants/auth';

export function modelsBody(gw: Gateway, startedAt: number, tenant: TenantConfig | undefined, anthropic = false) {
  const models = gw.routeTable.models().filter((m) => modelAllowed(tenant, m.name));
  if (anthropic) return anthropicModelsBody(models, startedAt);
  return {
    object: 'list' as const,
    data: models.map((m) => ({ id: m.name, object: 'model' as const, created: Math.floor(startedAt / 1000), owned_by: 'ai-gateway' })),
  };
}

/** The Anthropic SDKs' `models.list()` shape: one page with every model. */
function anthropicModelsBody(models: readonly { name: string }[], startedAt: number) {
  const createdAt = new Date(startedAt).toISOString();
  const data = models.map((m) => ({ type: 'model' as const, id: m.name, display_name: m.name, created_at: createdAt }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
