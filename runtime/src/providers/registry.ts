/**
 * One adapter per configured provider, by kind; adding a kind means one line here.
 * Kinds other than OpenAI's are loaded when a config first uses them (require at that
 * point): the Lambda proxy, which only speaks to spokes, then starts without
 * initialising the Bedrock SDK, the Anthropic translators or Secrets Manager.
 */
import type { ProviderConfig, ProviderType } from '../config/schema';
import { createCredentialResolver, type CredentialResolver } from './credentials';
import { createOpenAIAdapter } from './openai/adapter';
import type { SecretsResolverOptions } from './secrets';
import type { HttpClient } from './http';
import type { ProviderAdapter } from './types';

export interface AdapterDeps {
  /** The HTTP the adapters speak (the entry point picks it: undici on Node, fetch in Lambda). */
  http: HttpClient;
  resolveCredential?: CredentialResolver;
  now?: () => number;
  /** Secrets Manager settings (TTL, endpoint, credentials) for the resolver made here when none is given. */
  secrets?: SecretsResolverOptions;
  /** Providers that are other gateways (the proxy's spokes), which also take Messages requests as they came. */
  gatewayHops?: ReadonlySet<string>;
}

interface FactoryDeps {
  resolveCredential: CredentialResolver;
  http: HttpClient;
  now: () => number;
  gatewayHops?: ReadonlySet<string>;
}

const factories: Record<ProviderType, (p: ProviderConfig, deps: FactoryDeps) => ProviderAdapter> = {
  bedrock: (p) => (require('./bedrock/adapter') as typeof import('./bedrock/adapter')).createBedrockAdapter(p),
  openai: (p, d) => createOpenAIAdapter(p, d),
  // A spoke gateway speaks the Messages API too: the proxy hands it Messages requests as they came.
  'openai-compatible': (p, d) =>
    d.gatewayHops?.has(p.id)
      ? { ...createOpenAIAdapter(p, d), messages: (require('./anthropic/messages') as typeof import('./anthropic/messages')).createAnthropicMessages(p, d, { gatewayHop: true }) }
      : createOpenAIAdapter(p, d),
  anthropic: (p, d) => ({
    ...(require('./anthropic/adapter') as typeof import('./anthropic/adapter')).createAnthropicAdapter(p, d),
    messages: (require('./anthropic/messages') as typeof import('./anthropic/messages')).createAnthropicMessages(p, d),
  }),
  simulated: (p, d) => (require('./simulated/adapter') as typeof import('./simulated/adapter')).createSimulatedAdapter(p, d),
};

export function createAdapters(providers: readonly ProviderConfig[], deps: AdapterDeps): Map<string, ProviderAdapter> {
  const now = deps.now ?? Date.now;
  // One Secrets Manager resolver (one client per region, one cache) for every account.
  const secrets = !deps.resolveCredential && usesSecrets(providers) ? new (require('./secrets') as typeof import('./secrets')).SecretsManagerResolver({ now, ...deps.secrets }) : undefined;
  const full: FactoryDeps = { resolveCredential: deps.resolveCredential ?? createCredentialResolver(secrets), http: deps.http, now, gatewayHops: deps.gatewayHops };
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
