/**
 * The runtime configs the platform renders (the hub's Lambda proxy, each spoke's tasks)
 * are accepted by the runtime's own loader, and proxy and spokes agree on model names.
 */
import { configSchema } from '../../runtime/src/config/schema';
import { loadStartup } from '../../runtime/src/entry/startup';
import { loadJsonStartup } from '../../runtime/src/entry/startup-json';
import type { HubConfig } from '../../infra/config';
import { renderProxyConfig } from '../../infra/hub/proxy-config';
import { LAMBDA_ENVIRONMENT_BYTES, proxyEnvironment } from '../../infra/hub/proxy-function';
import { parameterTier, validatedConfigJson } from '../../infra/lib/runtime-config-parameter';
import { modelPriceBounds } from '../../infra/lib/hub-exports';
import { checkAgainstHubPriceBounds } from '../../infra/spoke/price-bound-check';
import { renderSpokeRuntimeConfig } from '../../infra/spoke/runtime-config';
import { parsedStackConfig, spokeStacksOnDisk } from './pulumi-harness';
import { spokeConfig } from './spoke-checks';
import type { SpokeConfig } from '../../infra/config';

function hubConfig(): HubConfig {
  const parsed = parsedStackConfig('hub');
  if (parsed.kind !== 'hub') throw new Error('not a hub');
  return parsed.config;
}

const REDIS_URL = 'rediss://master.ai-gateway-x.abc123.use1.cache.amazonaws.com:6379';

describe('hub proxy config', () => {
  const hub = hubConfig();
  const rendered = renderProxyConfig(hub, REDIS_URL);

  test('is accepted by the runtime loader exactly as the Lambda receives it', async () => {
    const { config: loaded } = await loadJsonStartup({ GATEWAY_CONFIG_JSON: JSON.stringify(rendered) });
    expect(loaded.models.map((m) => m.name)).toEqual(hub.models.map((m) => m.name));
  });

  test('lists two routes per provider hub, under the private zone, for the models that hub serves', () => {
    const parsed = configSchema.parse(rendered);
    expect(parsed.spokes.map((s) => s.id)).toEqual(hub.providerHubs.flatMap((k) => [k, `${k}-direct`]));
    for (const spoke of parsed.spokes) {
      const kind = spoke.id.replace(/-direct$/, '');
      const url = new URL(spoke.url);
      expect(url.hostname).toBe(spoke.id.endsWith('-direct') ? `${kind}.spokes.${hub.privateZone}` : `${kind}.${hub.privateZone}`);
      expect(url.port).toBe(spoke.id.endsWith('-direct') ? '8080' : '');
      expect(spoke.models).toEqual(hub.models.filter((m) => (m.providers as string[]).includes(kind)).map((m) => m.name));
    }
  });

  test('names the shared-state cache (TLS, no credentials in the URL) for tenant limits across Lambda instances', () => {
    const parsed = configSchema.parse(rendered);
    expect(parsed.state).toEqual({ redis: REDIS_URL });
    expect(new URL(REDIS_URL).protocol).toBe('rediss:');
    expect(new URL(parsed.state?.redis ?? '').password).toBe('');
  });

  test('travels in the Lambda environment beside the other variables while it fits in 4 KB, and in a Standard parameter', () => {
    const base = { GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_SSM_PARAMETER: '/ai-gateway/hub/runtime-config', GATEWAY_METRICS_SERVICE: 'ai-gateway-hub' };
    expect(proxyEnvironment(base, JSON.stringify(rendered)).GATEWAY_CONFIG_JSON).toBe(JSON.stringify(rendered));
    expect(parameterTier(JSON.stringify(rendered))).toBe('Standard');
  });

  test('a config past the 4 KB environment is left to the SSM parameter alone', () => {
    const base = { GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_SSM_PARAMETER: '/ai-gateway/hub/runtime-config' };
    const big = JSON.stringify({ ...rendered, models: Array.from({ length: 80 }, (_, i) => ({ name: `model-${i}`, targets: [{ provider: 'spokes', model: `model-${i}` }] })) });
    expect(Buffer.byteLength(big)).toBeGreaterThan(LAMBDA_ENVIRONMENT_BYTES);
    expect(proxyEnvironment(base, big)).toEqual(base);
    expect(parameterTier(big)).toBe('Advanced');
  });
});

describe.each(spokeStacksOnDisk())('%s runtime config', (stack) => {
  const cfg = spokeConfig(stack);
  const rendered = renderSpokeRuntimeConfig(cfg, stack, REDIS_URL);

  test('is accepted by the runtime loader, with the shared-state cache as state.redis', async () => {
    const { config: loaded } = await loadStartup({ GATEWAY_CONFIG_JSON: JSON.stringify(rendered) });
    expect(loaded.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
    expect(loaded.state).toEqual({ redis: REDIS_URL });
  });

  test('carries this account quotas per model and resolves every target to a provider that has it', () => {
    const loaded = configSchema.parse(rendered);
    for (const model of loaded.models) {
      for (const target of model.targets) {
        const provider = loaded.providers.find((p) => p.id === target.provider);
        expect(provider?.accounts[0].limits[target.model]).toMatchObject({ rpm: expect.any(Number), tpm: expect.any(Number) });
      }
    }
  });

  test('serves only models the hub offers for its provider kind, each for the same api (chat or embeddings)', () => {
    const hub = hubConfig();
    const offered = hub.models.filter((m) => (m.providers as string[]).includes(cfg.provider.kind));
    for (const model of cfg.models) expect(offered.find((m) => m.name === model.name)?.api).toBe(model.api);
  });

  test("prices every target of a model the hub prices, none above the hub's bound (a budget's hold at the proxy covers what the spoke reports)", () => {
    const hub = hubConfig();
    const loaded = configSchema.parse(rendered);
    for (const model of loaded.models) {
      if (hub.models.some((m) => m.name === model.name && m.price)) for (const { price } of model.targets) expect(price).toBeDefined();
    }
    // The rule its pulumi up applies (infra/spoke/price-bound-check.ts).
    expect(() => checkAgainstHubPriceBounds(stack, cfg, modelPriceBounds(hub.models))).not.toThrow();
  });
});

describe('embeddings models in the stack configs', () => {
  const TITAN = 'amazon.titan-embed-text-v2:0';
  const COHERE = 'cohere.embed-english-v3';
  const limits = { rpm: 600, tpm: 300_000 };

  /** spoke-a (Bedrock) with the two embeddings models in its quotas and `models` as its logical models. */
  function bedrockSpoke(models: SpokeConfig['models']): SpokeConfig {
    const cfg = spokeConfig('spoke-a');
    if (cfg.provider.kind !== 'bedrock') throw new Error('spoke-a is expected to be a Bedrock spoke');
    return { ...cfg, provider: { ...cfg.provider, models: [...cfg.provider.models, { id: TITAN, limits }, { id: COHERE, limits }] }, models: [...cfg.models, ...models] };
  }

  test('the hub tells the proxy which models serve embeddings; the Lambda loads it', async () => {
    const hub = hubConfig();
    const rendered = renderProxyConfig({ ...hub, models: [...hub.models, { name: 'embed', providers: ['bedrock'], api: 'embeddings' }] }, REDIS_URL);
    const { config } = await loadJsonStartup({ GATEWAY_CONFIG_JSON: JSON.stringify(rendered) });
    expect(config.models.map((m) => [m.name, m.api])).toEqual([...hub.models.map((m) => [m.name, 'chat']), ['embed', 'embeddings']]);
  });

  test('a spoke renders its embeddings model with its quota; the runtime accepts it', () => {
    const rendered = renderSpokeRuntimeConfig(bedrockSpoke([{ name: 'embed', api: 'embeddings', targets: [TITAN] }]), 'spoke-a', REDIS_URL);
    const loaded = configSchema.parse(JSON.parse(validatedConfigJson(rendered, 'spoke-a')));
    const embed = loaded.models.find((m) => m.name === 'embed')!;
    expect(embed).toMatchObject({ api: 'embeddings', targets: [{ provider: 'bedrock', model: TITAN }] });
    expect(loaded.providers[0].accounts[0].limits[TITAN]).toEqual(limits);
  });

  test('a spoke whose embeddings model would mix vector spaces fails before deploying, unless declared interchangeable', () => {
    const mixed = renderSpokeRuntimeConfig(bedrockSpoke([{ name: 'embed', api: 'embeddings', targets: [TITAN, COHERE] }]), 'spoke-a', REDIS_URL);
    expect(() => validatedConfigJson(mixed, 'spoke-a')).toThrow(/models\.\d+\.targets\.1\.model: "cohere\.embed-english-v3" is not "amazon\.titan-embed-text-v2:0".*interchangeable: true/s);
    const declared = renderSpokeRuntimeConfig(bedrockSpoke([{ name: 'embed', api: 'embeddings', interchangeable: true, targets: [TITAN, COHERE] }]), 'spoke-a', REDIS_URL);
    expect(() => validatedConfigJson(declared, 'spoke-a')).not.toThrow();
  });
});
