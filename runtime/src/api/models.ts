/** GET /v1/models: the logical models, in the OpenAI list shape. */
import type { Gateway } from '../gateway';

export function modelsBody(gw: Gateway, startedAt: number) {
  return {
    object: 'list' as const,
    data: gw.routeTable.models().map((m) => ({ id: m.name, object: 'model' as const, created: Math.floor(startedAt / 1000), owned_by: 'ai-gateway' })),
  };
}
