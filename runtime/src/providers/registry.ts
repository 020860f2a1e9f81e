/** One adapter per configured provider, by kind; adding a kind means one line here. */
import type { ProviderConfig, ProviderType } from '../config/schema';
import { createAnthropicAdapter } from './anthropic/adapter';
import { createBedrockAdapter } from './bedrock/adapter';
import { createCredentialResolver, type CredentialResolver } from './credentials';
import { createOpenAIAdapter } from './openai/adapter';
import { SecretsManagerResolver, type SecretsResolverOptions } from './secrets';
import { createSimulatedAdapter } from './simulated/adapter';
import type { HttpClient } from './http';
import type { ProviderAdapter } from './types';

export interface AdapterDeps {
  /** The HTTP the adapters speak (the entry point picks it: undici on Node, fetch in Lambda). */
  http: HttpClient;
  resolveCredential?: CredentialResolver;
  now?: () => number;
  /** Secrets Manager settings (TTL, endpoint, credentials) for the resolver made here when none is given. */
  secrets?: SecretsResolverOptions;
}

interface FactoryDeps {
  resolveCredential: CredentialResolver;
  http: HttpClient;
  now: () => number;
}

const factories: Record<ProviderType, (p: ProviderConfig, deps: FactoryDeps) => ProviderAdapter> = {
  bedrock: (p) => createBedrockAdapter(p),
  openai: (p, d) => createOpenAIAdapter(p, d),
  'openai-compatible': (p, d) => createOpenAIAdapter(p, d),
  anthropic: (p, d) => createAnthropicAdapter(p, d),
  simulated: (p, d) => createSimulatedAdapter(p, d),
};

export function createAdapters(providers: readonly ProviderConfig[], deps: AdapterDeps): Map<string, ProviderAdapter> {
  const now = deps.now ?? Date.now;
  // One Secrets Manager resolver (one client per region, one cache) for every account.
  const secrets = !deps.resolveCredential && usesSecrets(providers) ? new SecretsManagerResolver({ now, ...deps.secrets }) : undefined;
  const full: FactoryDeps = { resolveCredential: deps.resolveCredential ?? createCredentialResolver(secrets), http: deps.http, now };
  const adapters = new Map(providers.map((p) => [p.id, factories[p.type](p, full)]));
  // The resolver has no owner but the adapters: closing any of them releases its clients (it reopens on demand).
  if (secrets) for (const adapter of adapters.values()) closeAlso(adapter, () => secrets.close());
  return adapters;
}

function usesSecrets(providers: readonly ProviderConfig[]): boolean {
  return providers.some((p) => p.accounts.some((a) => a.credentials !== undefined && 'secretArn' in a.credentials));
}

function closeAlso(adapter: ProviderAdapter, release: () => void): void {
  const close = adapter.close?.bind(adapter);
  adapter.close = async () => {
    await close?.();
    release();
  };
}
