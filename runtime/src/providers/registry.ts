/** One adapter per configured provider, by kind; adding a kind means one line here. */
import type { ProviderConfig, ProviderType } from '../config/schema';
import { createAnthropicAdapter } from './anthropic/adapter';
import { createBedrockAdapter } from './bedrock/adapter';
import { resolveLocalCredential, type CredentialResolver } from './credentials';
import { createOpenAIAdapter } from './openai/adapter';
import { createSimulatedAdapter } from './simulated/adapter';
import type { ProviderAdapter } from './types';

export interface AdapterDeps {
  resolveCredential?: CredentialResolver;
  now?: () => number;
}

const factories: Record<ProviderType, (p: ProviderConfig, deps: Required<AdapterDeps>) => ProviderAdapter> = {
  bedrock: (p) => createBedrockAdapter(p),
  openai: (p, d) => createOpenAIAdapter(p, d),
  'openai-compatible': (p, d) => createOpenAIAdapter(p, d),
  anthropic: (p, d) => createAnthropicAdapter(p, d),
  simulated: (p, d) => createSimulatedAdapter(p, d),
};

export function createAdapters(providers: readonly ProviderConfig[], deps: AdapterDeps = {}): Map<string, ProviderAdapter> {
  const full: Required<AdapterDeps> = { resolveCredential: deps.resolveCredential ?? resolveLocalCredential, now: deps.now ?? Date.now };
  return new Map(providers.map((p) => [p.id, factories[p.type](p, full)]));
}
