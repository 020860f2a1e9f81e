/**
 * The Pulumi program: reads and validates the stack config, then composes the hub
 * (stack `hub`) or one spoke (stacks `spoke-*`). Pulumi calls the exported function and
 * publishes what it returns as the stack outputs.
 */
import * as aws from '@pulumi/aws';
import * as path from 'node:path';
import { readStackConfig } from './config';
import { HubStack } from './hub/hub-stack';
import { baseTags } from './lib/naming';
import { SpokeStack } from './spoke/spoke-stack';

/** The Lambda proxy's entry, bundled by esbuild at deploy time. */
const LAMBDA_ENTRY = path.join(__dirname, '..', 'runtime', 'src', 'lambda.ts');

function main(): Record<string, unknown> {
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
    const hub = new HubStack('hub', { stack, config: stackConfig.config, apiKeys: stackConfig.apiKeys, lambdaEntry: LAMBDA_ENTRY }, { providers: [accountProvider] });
    return { ...hub.exports };
  }
  const cfg = stackConfig.config;
  const hubProvider = new aws.Provider('hub-account', {
    region: cfg.hub.region as aws.Region,
    allowedAccountIds: [cfg.hub.accountId],
    assumeRoles: [{ roleArn: cfg.hub.roleArn, sessionName: `ai-gateway-${stack}` }],
    defaultTags,
  });
  const spoke = new SpokeStack(stack, { stack, config: cfg, hubProvider }, { providers: [accountProvider] });
  return { ...spoke.exports };
}

export = main;
