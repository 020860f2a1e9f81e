/**
 * The runtime configs the platform renders (the hub's Lambda proxy, each spoke's tasks)
 * are accepted by the runtime's own loader, and proxy and spokes agree on model names.
 */
import { loadConfigFromEnv } from '../../runtime/src/config/load';
import { configSchema } from '../../runtime/src/config/schema';
import { parseStackConfig, type HubConfig } from '../../infra/config';
import { renderProxyConfig } from '../../infra/hub/proxy-config';
import { renderSpokeRuntimeConfig } from '../../infra/spoke/runtime-config';
import { PROJECT, readStackConfigFile, spokeStacksOnDisk } from './pulumi-harness';
import { spokeConfig } from './spoke-checks';

function hubConfig(): HubConfig {
  const values = Object.fromEntries(
    Object.entries(readStackConfigFile('hub'))
      .filter(([k]) => k.startsWith(`${PROJECT}:`))
      .map(([k, v]) => {
        try {
          return [k.slice(PROJECT.length + 1), JSON.parse(v)];
        } catch {
          return [k.slice(PROJECT.length + 1), v];
        }
      }),
  );
  const parsed = parseStackConfig('hub', values);
  if (parsed.kind !== 'hub') throw new Error('not a hub');
  return parsed.config;
}

describe('hub proxy config', () => {
  const hub = hubConfig();
  const rendered = renderProxyConfig(hub);

  test('is accepted by the runtime loader exactly as the Lambda receives it', () => {
    const loaded = loadConfigFromEnv({ GATEWAY_CONFIG_JSON: JSON.stringify(rendered) });
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

  test('fits in the 4 KB Lambda environment', () => {
    expect(Buffer.byteLength(JSON.stringify(rendered)) + 64).toBeLessThan(4096);
  });
});

describe.each(spokeStacksOnDisk())('%s runtime config', (stack) => {
  const cfg = spokeConfig(stack);
  const rendered = renderSpokeRuntimeConfig(cfg, stack);

  test('is accepted by the runtime loader', () => {
    const loaded = loadConfigFromEnv({ GATEWAY_CONFIG_JSON: JSON.stringify(rendered) });
    expect(loaded.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
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

  test('serves only models the hub offers for its provider kind', () => {
    const hub = hubConfig();
    const offered = hub.models.filter((m) => (m.providers as string[]).includes(cfg.provider.kind)).map((m) => m.name);
    for (const model of cfg.models) expect(offered).toContain(model.name);
  });
});
