/** GET /v1/models: the logical models, in the OpenAI list shape (Anthropic's for a client that sends `anthropic-version`). */
import type { Gateway } from '../gateway';

export function modelsBody(gw: Gateway, startedAt: number, anthropic = false) {
  if (anthropic) return anthropicModelsBody(gw, startedAt);
  return {
    object: 'list' as const,
    data: gw.routeTable.models().map((m) => ({ id: m.name, object: 'model' as const, created: Math.floor(startedAt / 1000), owned_by: 'ai-gateway' })),
  };
}

/** The Anthropic SDKs' `models.list()` shape: one page with every model. */
function anthropicModelsBody(gw: Gateway, startedAt: number) {
  const createdAt = new Date(startedAt).toISOString();
  const data = gw.routeTable.models().map((m) => ({ type: 'model' as const, id: m.name, display_name: m.name, created_at: createdAt }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
