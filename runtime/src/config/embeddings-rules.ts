/**
 * The config rules of embeddings models (`models[].api: embeddings`), checked at load
 * with the key path of each issue. The one that matters most: failover never mixes
 * vector spaces, so an embeddings model's targets name one provider model unless the
 * operator declares them interchangeable.
 */
import { bedrockEmbeddingFamily, type ModelApi } from '../core/embeddings';

/** What the rules read of a model and a provider (structural: schema.ts calls this with its own types). */
interface ModelShape {
  readonly name: string;
  readonly api: ModelApi;
  readonly interchangeable?: boolean;
  readonly batch?: object;
  readonly targets: readonly { readonly provider: string; readonly model: string }[];
}

interface ProviderShape {
  readonly id: string;
  readonly type: string;
}

export interface ConfigIssue {
  path: PropertyKey[];
  message: string;
}

/** Provider kinds that serve embeddings (Anthropic has no embeddings API). */
const EMBEDDING_KINDS = new Set(['openai', 'openai-compatible', 'bedrock', 'simulated']);

/**
 * `providers` is empty-checked by the caller's own rules; a proxy (`proxy: true`) names
 * its spokes, not providers, and its targets are not checked against kinds.
 */
export function embeddingsIssues(models: readonly ModelShape[], providers: readonly ProviderShape[], proxy: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byId = new Map(providers.map((p) => [p.id, p]));
  models.forEach((m, i) => {
    if (m.api !== 'embeddings') {
      if (m.interchangeable !== undefined) issues.push({ path: ['models', i, 'interchangeable'], message: 'only for models with api: embeddings' });
      if (m.batch !== undefined) issues.push({ path: ['models', i, 'batch'], message: 'only for models with api: embeddings' });
      return;
    }
    const first = m.targets[0]?.model;
    m.targets.forEach((t, j) => {
      if (!m.interchangeable && t.model !== first) {
        issues.push({
          path: ['models', i, 'targets', j, 'model'],
          message:
            `"${t.model}" is not "${first}" (targets.0.model): vectors of different models are not comparable, and failing over between them ` +
            `would mix vector spaces. Name one provider model in every target, or set models.${i}.interchangeable: true if they are the same vector space`,
        });
      }
      const provider = proxy ? undefined : byId.get(t.provider);
      if (!provider) return;
      if (!EMBEDDING_KINDS.has(provider.type)) {
        issues.push({ path: ['models', i, 'targets', j, 'provider'], message: `provider "${t.provider}" is of type ${provider.type}, which has no embeddings API` });
      } else if (provider.type === 'bedrock' && !bedrockEmbeddingFamily(t.model)) {
        issues.push({
          path: ['models', i, 'targets', j, 'model'],
          message: `"${t.model}" is not a Bedrock embeddings model the gateway speaks (amazon.titan-embed-text-v2:0, cohere.embed-*)`,
        });
      }
    });
  });
  return issues;
}
