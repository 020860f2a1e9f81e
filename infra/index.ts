/**
 * The Pulumi program: reads and validates the stack config, then composes the hub
 * (stack `hub`) or one spoke (stacks `spoke-*`). Pulumi calls the exported function and
 * publishes what it returns as the stack outputs.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as path from 'node:path';
import { readStackConfig, type SpokeRegistryEntry } from './config';
import { HubStack } from './hub/hub-stack';
import type { ModelPriceBound } from './lib/hub-exports';
import { baseTags } from './lib/naming';
import { checkAgainstHubPriceBounds } from './spoke/price-bound-check';
import { checkAgainstHubRegistry, type HubFacts } from './spoke/registry-check';
import { SpokeStack } from './spoke/spoke-stack';

const REPO_ROOT = path.join(__dirname, '..');
/** The Lambda proxy's entry, bundled by esbuild at deploy time. */
const LAMBDA_ENTRY = path.join(REPO_ROOT, 'runtime', 'src', 'lambda.ts');
/** The runtime image (built by CI, or by the hub stack with imageBuild). */
const RUNTIME_IMAGE = { context: REPO_ROOT, dockerfile: path.join(REPO_ROOT, 'runtime', 'Dockerfile') };

async function main(): Promise<Record<string, unknown>> {
  const stackConfig = readStackConfig();
  const { stack } = stackConfig;
  const { account, tags } = stackConfig.config;
  const defaultTags = { tags: baseTags(stack, tags) };
  // One explicit provider per account; allowedAccountIds refuses the wrong credentials.
  const accountProvider = new aws.Provider(stackConfig.kind === 'hub' ? 'hub-account' : 'spoke-account', {
    region: account.region as aws.Region,
    allowedAccountIds: [account.id],
    assumeRoles: account.deployRoleArn ? [{ roleArn: account.deployRoleArn, sessionName: `ai-gateway-${stack}` }] : undefined,
    defaultTags,
  });

  if (stackConfig.kind === 'hub') {
    const hub = new HubStack('hub', { stack, config: stackConfig.config, apiKeys: stackConfig.apiKeys, lambdaEntry: LAMBDA_ENTRY, image: RUNTIME_IMAGE }, { providers: [accountProvider] });
    return { ...hub.exports };
  }
  const cfg = stackConfig.config;
  const hubRef = new pulumi.StackReference(`${stack}-hub-ref`, { name: cfg.hub.stack });
  // Before anything is declared: the stack file must agree with the hub's spoke registry.
  const [registry, pool, bounds] = await Promise.all<unknown>([
    hubRef.getOutputValue('spokeRegistry'),
    hubRef.getOutputValue('spokeCidrPool'),
    // A hub deployed before it exported its bounds has none: nothing to check against.
    hubRef.getOutputValue('modelPriceBounds'),
  ]);
  // What the stack file says about the hub (ai-gateway:hub) must be what the hub is.
  const factKeys = ['hubVpcCidr', 'onPremCidr', 'hubRegion', 'hubAccountId', 'spokeRegistrarRoleArn', 'ramExternalAccountIds', 'thirdPartySecretArns'] as const;
  const factValues = await Promise.all(factKeys.map((key) => hubRef.getOutputValue(key)));
  const facts = Object.fromEntries(factKeys.map((key, i) => [key, factValues[i]])) as HubFacts;
  checkAgainstHubRegistry(stack, cfg, registry as SpokeRegistryEntry[] | undefined, String(pool), facts);
  checkAgainstHubPriceBounds(stack, cfg, bounds as ModelPriceBound[] | undefined);
  const spoke = new SpokeStack(stack, { stack, config: cfg, defaultTags, hubRef }, { providers: [accountProvider] });
  return { ...spoke.exports };
}

export = main;
