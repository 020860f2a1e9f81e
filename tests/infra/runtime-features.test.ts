/**
 * Capacity classes, prices, routing and prompt caching set in the stack configs reach the
 * runtime configs the stacks declare (each stack's SSM parameter, run through the program
 * under mocks), where the runtime reads them: a spoke enforces the classes and prices what
 * it serves, the proxy holds budgets against its price bound.
 */
import { configPricing } from '../../runtime/src/config/pricing';
import { configSchema, type GatewayConfig, type GatewayConfigInput } from '../../runtime/src/config/schema';
import { promptCacheRoute } from '../../runtime/src/providers/prompt-cache-support';
import type { SpokeConfig } from '../../infra/config';
import { fakeApiKeys, ofType, plain, readStackConfigFile, runStack, spokeStacksOnDisk, type StackRun } from './pulumi-harness';
import { spokeConfig } from './spoke-checks';

/* eslint-disable @typescript-eslint/no-explicit-any -- stack config documents and outputs are JSON */

/** The runtime config a stack declared, as the runtime reads it from the parameter. */
function declaredConfig(run: StackRun): { raw: GatewayConfigInput; loaded: GatewayConfig } {
  const parameters = ofType(run, 'aws:ssm/parameter:Parameter');
  expect(parameters).toHaveLength(1);
  const raw = JSON.parse(plain<string>(parameters[0].inputs.value)) as GatewayConfigInput;
  return { raw, loaded: configSchema.parse(raw) };
}

/** A stack file with one `ai-gateway:*` value changed. */
function withValue(stack: string, key: string, change: (value: any) => void): Record<string, string> {
  const config = readStackConfigFile(stack);
  const value = JSON.parse(config[`ai-gateway:${key}`] ?? 'null');
  change(value);
  return { ...config, [`ai-gateway:${key}`]: JSON.stringify(value) };
}

/** Every provider model of a spoke by the id its targets use. */
function providerModels(cfg: SpokeConfig): Map<string, { price?: object; promptCache?: boolean }> {
  const p = cfg.provider;
  const models = p.kind === 'bedrock' ? p.models.map((m) => ({ ...m, id: m.inferenceProfile?.id ?? m.id })) : p.kind === 'third-party' ? p.vendors.flatMap((v) => v.models) : p.models;
  return new Map(models.map((m) => [m.id, m]));
}

const TENANT_KEY = `sha256:${'0'.repeat(64)}`;

let hubOutputs: Record<string, any>;
let hubRun: StackRun;
const spokeRuns = new Map<string, StackRun>();

beforeAll(async () => {
  hubRun = await runStack('hub', { apiKeys: fakeApiKeys() });
  hubOutputs = hubRun.outputs;
  for (const stack of spokeStacksOnDisk()) spokeRuns.set(stack, await runStack(stack, { hubOutputs }));
});

describe('the hub proxy config', () => {
  test("carries each model's price bound from ai-gateway:models[].price; the proxy holds budgets against it", () => {
    const hub = JSON.parse(readStackConfigFile('hub')['ai-gateway:models']) as { name: string; price?: object }[];
    expect(hub.some((m) => m.price)).toBe(true);
    const { loaded } = declaredConfig(hubRun);
    for (const model of hub) {
      const declared = loaded.models.find((m) => m.name === model.name);
      expect(declared?.targets.map((t) => t.price)).toEqual([model.price]);
    }
    const reasoning = hub.find((m) => m.name === 'reasoning')?.price as { inputPerMTok: number; outputPerMTok: number; cacheWritePerMTok: number };
    const pricing = configPricing(loaded).model('reasoning');
    expect(pricing?.ceiling).toEqual({ inputPerMTok: reasoning.inputPerMTok, outputPerMTok: reasoning.outputPerMTok });
    // A budget's hold: the prompt as if all written to the cache (the dearer rate), plus the output cap.
    expect(pricing?.worstCase(1_000_000, 1_000_000)).toBeCloseTo(Math.max(reasoning.inputPerMTok, reasoning.cacheWritePerMTok) + reasoning.outputPerMTok, 9);
  });

  test('a budgeted tenant added to the proxy config is accepted for priced models only', () => {
    const { raw } = declaredConfig(hubRun);
    const tenant = (models: string[]) => ({ ...raw, tenants: [{ id: 'finance', keys: [TENANT_KEY], models, budget: { usdPerDay: 50 } }] });
    expect(configSchema.safeParse(tenant(['chat', 'reasoning'])).success).toBe(true);
    const unpriced = configSchema.safeParse(tenant(['local']));
    expect(unpriced.success).toBe(false);
    expect(unpriced.error?.issues.map((i) => i.path.join('.'))).toEqual([`models.${raw.models?.findIndex((m) => m.name === 'local')}.targets.0.price`]);
  });

  test('carries promptCache per model to the proxy, which keeps sessions on a spoke by it', async () => {
    const config = withValue('hub', 'models', (models) => (models[0].promptCache = { prefixAffinity: true, sessionTtlMs: 600_000 }));
    const { loaded } = declaredConfig(await runStack('hub', { config, apiKeys: fakeApiKeys() }));
    expect(loaded.models[0].promptCache).toEqual({ prefixAffinity: true, sessionTtlMs: 600_000 });
    expect(loaded.models.slice(1).map((m) => m.promptCache)).toEqual(loaded.models.slice(1).map(() => undefined));
  });
});

describe.each(spokeStacksOnDisk())('the %s runtime config', (stack) => {
  const cfg = spokeConfig(stack);

  test("carries the stack's capacity classes, each model's routing and prompt caching, and each target's price", () => {
    const { loaded } = declaredConfig(spokeRuns.get(stack) as StackRun);
    expect(loaded.capacity).toEqual(cfg.capacity);
    const byId = providerModels(cfg);
    cfg.models.forEach((model, i) => {
      expect(loaded.models[i]).toMatchObject({ name: model.name, routing: model.routing ?? 'ordered' });
      expect(loaded.models[i].promptCache).toEqual(model.promptCache);
      expect(loaded.models[i].targets.map((t) => [t.model, t.price, t.promptCache])).toEqual(model.targets.map((id) => [id, byId.get(id)?.price, byId.get(id)?.promptCache]));
    });
  });
});

describe('spoke-a (committed: priced Bedrock models, cost routing for chat, capacity classes)', () => {
  test('the runtime prices each route from the declared config and reserves capacity as the stack says', () => {
    const { loaded } = declaredConfig(spokeRuns.get('spoke-a') as StackRun);
    expect(loaded.capacity).toEqual({ criticalReserve: 0.2, batchCeiling: 0.6, waitMs: 500 });
    expect(loaded.models.find((m) => m.name === 'chat')?.routing).toBe('cost');
    const chat = configPricing(loaded).model('chat');
    expect(chat?.of('bedrock', 'amazon.nova-lite-v1:0')).toEqual({ inputPerMTok: 0.06, outputPerMTok: 0.24, cachedInputPerMTok: 0.015 });
    // What the spoke reports for an answer on a route, by the route name it sends (x-gateway-route).
    expect(configPricing(loaded).model('reasoning')?.ofRoute('bedrock/spoke-a/us-west-2/us.anthropic.claude-3-5-sonnet-20241022-v2:0')).toMatchObject({ cacheWritePerMTok: 3.75 });
  });

  test('promptCache per model and per provider model reach the targets: checkpoints added, markers dropped where a model refuses them', async () => {
    const config = {
      ...withValue('spoke-a', 'models', (models) => (models[0].promptCache = { auto: true, affinity: false })),
      'ai-gateway:provider': withValue('spoke-a', 'provider', (provider) => (provider.models[1].promptCache = false))['ai-gateway:provider'],
    };
    const { loaded } = declaredConfig(await runStack('spoke-a', { config, hubOutputs }));
    const chat = loaded.models[0];
    expect(chat.promptCache).toEqual({ auto: true, affinity: false });
    const bedrock = loaded.providers[0];
    const [lite, pro] = chat.targets;
    expect([lite.model, pro.model]).toEqual(['amazon.nova-lite-v1:0', 'amazon.nova-pro-v1:0']);
    // Nova Lite takes cache points (no tool caching), with the gateway's own checkpoints; Nova Pro is told not to.
    expect(promptCacheRoute(bedrock, lite, chat)).toMatchObject({ tools: false, auto: true });
    expect(pro.promptCache).toBe(false);
    expect(promptCacheRoute(bedrock, pro, chat)).toBeUndefined();
    expect(loaded.models[1].targets.find((t) => t.model === 'amazon.nova-pro-v1:0')?.promptCache).toBe(false);
  });

  test('a batch ceiling inside the critical reserve stops the program before anything is declared', async () => {
    const config = withValue('spoke-a', 'capacity', (capacity) => (capacity.batchCeiling = 0.9));
    await expect(runStack('spoke-a', { config, hubOutputs })).rejects.toThrow(/ai-gateway:capacity\.batchCeiling: must be at most 1 - criticalReserve \(0\.8\)/);
  });
});
