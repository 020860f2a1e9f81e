/**
 * Which targets take cache markers, and how many: Anthropic (every model), Bedrock (the
 * Claude and Amazon Nova models that support prompt caching; Nova caches no tool
 * definitions) and the simulated provider. OpenAI caches prefixes by itself and takes no
 * markers; OpenAI-compatible servers take them only when a target says so
 * (`targets[].promptCache: true`, e.g. a proxy's spokes). `promptCache: false` drops them.
 */
import type { ModelConfig, ProviderConfig, TargetConfig } from '../config/schema';
import { MAX_CACHE_POINTS, type PromptCacheRoute } from '../core/prompt-cache';

/** Bedrock model ids (with or without an inference-profile prefix such as `us.` or `global.`) that take `cachePoint`. */
const BEDROCK_CLAUDE_CACHING = /(^|\.)anthropic\.claude-(3-5-haiku|3-7-sonnet|sonnet-4|opus-4|haiku-4)/;
const BEDROCK_NOVA_CACHING = /(^|\.)amazon\.nova-(micro|lite|pro|premier|2)/;

export function promptCacheRoute(provider: ProviderConfig, target: TargetConfig, model: ModelConfig): PromptCacheRoute | undefined {
  const points = cachePoints(provider, target);
  if (!points) return undefined;
  return { maxPoints: MAX_CACHE_POINTS, tools: points.tools, auto: model.promptCache?.auto === true };
}

function cachePoints(provider: ProviderConfig, target: TargetConfig): { tools: boolean } | undefined {
  if (target.promptCache === false) return undefined;
  switch (provider.type) {
    case 'anthropic':
    case 'simulated':
      return { tools: true };
    case 'bedrock':
      if (BEDROCK_CLAUDE_CACHING.test(target.model)) return { tools: true };
      if (BEDROCK_NOVA_CACHING.test(target.model)) return { tools: false };
      return target.promptCache ? { tools: true } : undefined;
    case 'openai':
    case 'openai-compatible':
      return target.promptCache ? { tools: true } : undefined;
  }
}
