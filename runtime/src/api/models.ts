/**
 * GET /v1/models and GET /v1/models/{model}: the logical models the caller may use (a
 * tenant's `models`; every model while the gateway is open), in OpenAI's shapes
 * (Anthropic's for a client that sends `anthropic-version`).
 */
import type { TenantConfig } from '../config/schema';
import { notFound } from '../core/gateway-error';
import { echo } from '../core/echo';
import type { Gateway } from '../gateway';
import { modelAllowed } from '../tenants/auth';

/** What the caller may see; the same list answers a retrieve of one. */
function visibleModels(gw: Gateway, tenant: TenantConfig | undefined): string[] {
  return gw.routeTable
    .models()
    .filter((m) => modelAllowed(tenant, m.name))
    .map((m) => m.name);
}

export function modelsBody(gw: Gateway, startedAt: number, tenant: TenantConfig | undefined, anthropic = false) {
  const names = visibleModels(gw, tenant);
  if (anthropic) {
    // The Anthropic SDKs' `models.list()` shape: one page with every model.
    const data = names.map((name) => anthropicModel(name, startedAt));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  }
  return { object: 'list' as const, data: names.map((name) => openAIModel(name, startedAt)) };
}

/** One model as `models.retrieve()` reads it; 404 `model_not_found` for a model the caller cannot see (as the list hides it). */
export function modelBody(gw: Gateway, startedAt: number, tenant: TenantConfig | undefined, name: string, anthropic = false) {
  const names = visibleModels(gw, tenant);
  if (!names.includes(name)) throw notFound(`The model "${echo(name)}" does not exist. Known models: ${names.join(', ')}.`);
  return anthropic ? anthropicModel(name, startedAt) : openAIModel(name, startedAt);
}

function openAIModel(name: string, startedAt: number) {
  return { id: name, object: 'model' as const, created: Math.floor(startedAt / 1000), owned_by: 'ai-gateway' };
}

function anthropicModel(name: string, startedAt: number) {
  return { type: 'model' as const, id: name, display_name: name, created_at: new Date(startedAt).toISOString() };
}
