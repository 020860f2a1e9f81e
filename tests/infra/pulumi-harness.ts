/**
 * Runs the real Pulumi program (infra/index.ts) under Pulumi's unit-test mocks for one
 * stack config and records every resource it declares: type, name, inputs and the
 * provider (account) it uses. No CLI, plugin or AWS account is involved.
 */
import * as pulumi from '@pulumi/pulumi';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseStackConfig } from '../../infra/config';

export const REPO = path.resolve(__dirname, '..', '..');
export const PROJECT = 'ai-gateway';

/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON */
export type Inputs = Record<string, any>;

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Inputs;
  /** Logical name of the explicit provider (`hub-account`, `spoke-account`), if any. */
  provider?: string;
  custom: boolean;
  /** Resource options the program set (seen through a stack transformation). */
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
  /** Logical names of the resources it was given in `dependsOn` (when given as resources, not outputs). */
  dependsOn: string[];
}

export interface StackRun {
  stack: string;
  resources: RecordedResource[];
  /** Data-source calls, with the provider each went through. */
  calls: { token: string; provider?: string }[];
  outputs: Record<string, any>;
}

export function ofType(run: StackRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

/** `Pulumi.<stack>.yaml` as Pulumi hands config to a program: objects as JSON text. */
export function readStackConfigFile(stack: string, dir = REPO): Record<string, string> {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  const doc = parseYaml(readFileSync(file, 'utf8')) as { config?: Record<string, unknown> } | null;
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc?.config ?? {})) {
    config[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return config;
}

/** A stack file's `ai-gateway:*` values, parsed and validated as the program reads them. */
export function parsedStackConfig(stack: string, dir = REPO): ParsedStackConfig {
  const values: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(readStackConfigFile(stack, dir))) {
    if (!key.startsWith(`${PROJECT}:`)) continue;
    try {
      values[key.slice(PROJECT.length + 1)] = JSON.parse(text);
    } catch {
      values[key.slice(PROJECT.length + 1)] = text;
    }
  }
  return parseStackConfig(stack, values);
}

type ParsedStackConfig = ReturnType<typeof parseStackConfig>;

/** Every `Pulumi.spoke-*.yaml` in `dir`, as stack names. */
export function spokeStacksOnDisk(dir = REPO): string[] {
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(spoke-[a-z0-9-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function stackFileExists(stack: string, dir = REPO): boolean {
  return existsSync(path.join(dir, `Pulumi.${stack}.yaml`));
}

function providerName(ref: string | undefined): string | undefined {
  return ref ? /pulumi:providers:aws::([^:]+)::/.exec(ref)?.[1] : undefined;
}

const HEX = '0123456789abcdef';

/** What a generated secret (random.RandomPassword) resolves to under the mocks: easy to spot anywhere. */
export function fakeSecretValue(name: string): string {
  return `FAKEGENERATEDSECRET${name.replace(/[^A-Za-z0-9]/g, '')}`;
}

/** Plausible computed attributes per resource type (what AWS would return). */
function fakeState(type: string, name: string, inputs: Inputs, region: string, account: string): Inputs {
  const module = /^aws:([a-z0-9]+)\//.exec(type)?.[1] ?? 'aws';
  const base = { ...inputs, arn: `arn:aws:${module}:${region}:${account}:${name}`, name: inputs.name ?? name };
  switch (type) {
    case 'aws:secretsmanager/secret:Secret':
      return { ...base, arn: `arn:aws:secretsmanager:${region}:${account}:secret:${inputs.name ?? name}-AbCdEf` };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { ...base, arn: `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/net/${name}/${HEX}`, arnSuffix: `net/${name}/${HEX}`, dnsName: `${name}.elb.amazonaws.com` };
    case 'aws:lb/listener:Listener': {
      const lb = /loadbalancer\/(net\/[^/]+\/[^/]+)$/.exec(String(inputs.loadBalancerArn))?.[1] ?? `net/${name}/${HEX}`;
      return { ...base, arn: `arn:aws:elasticloadbalancing:${region}:${account}:listener/${lb}/${HEX}` };
    }
    case 'aws:iam/role:Role':
      return { ...base, arn: `arn:aws:iam::${account}:role/${inputs.name ?? name}` };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { ...base, arn: `arn:aws:logs:${region}:${account}:log-group:${inputs.name ?? name}` };
    case 'aws:s3/bucket:Bucket':
    case 'aws:s3/bucketV2:BucketV2':
      return { ...base, arn: `arn:aws:s3:::${inputs.bucket ?? name}`, bucket: inputs.bucket ?? name };
    case 'aws:ec2transitgateway/routeTable:RouteTable':
      return { ...base, arn: `arn:aws:ec2:${region}:${account}:transit-gateway-route-table/${name}-id` };
    case 'aws:lb/targetGroup:TargetGroup':
      return { ...base, arn: `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${name}/${HEX}`, arnSuffix: `targetgroup/${name}/${HEX}` };
    case 'aws:lambda/function:Function':
      return { ...base, arn: `arn:aws:lambda:${region}:${account}:function:${name}`, name, version: '1' };
    case 'aws:lambda/alias:Alias':
      return { ...base, arn: `arn:aws:lambda:${region}:${account}:function:${inputs.functionName}:${inputs.name}` };
    case 'aws:apigateway/restApi:RestApi':
      return { ...base, rootResourceId: 'root', executionArn: `arn:aws:execute-api:${region}:${account}:${name}` };
    case 'aws:apigateway/stage:Stage':
      return {
        ...base,
        invokeUrl: `https://${inputs.restApi}.execute-api.${region}.amazonaws.com/${inputs.stageName}`,
        arn: `arn:aws:apigateway:${region}::/restapis/${inputs.restApi}/stages/${inputs.stageName}`,
      };
    case 'aws:apigateway/domainName:DomainName':
      return { ...base, regionalDomainName: `d-abc123def4.execute-api.${region}.amazonaws.com`, regionalZoneId: 'Z1UJRXOUMOOFQ8' };
    case 'aws:route53/zone:Zone':
      return { ...base, zoneId: 'Z0PRIVATEZONE' };
    case 'aws:ec2/vpnConnection:VpnConnection':
      return { ...base, transitGatewayAttachmentId: 'tgw-attach-vpn' };
    case 'aws:kms/key:Key':
      return { ...base, keyId: `${name}-key-id`, arn: `arn:aws:kms:${region}:${account}:key/${name}` };
    case 'aws:ecr/repository:Repository':
      return { ...base, repositoryUrl: `${account}.dkr.ecr.${region}.amazonaws.com/${inputs.name}` };
    case 'aws:cloudwatch/dashboard:Dashboard':
      return { ...base, dashboardName: inputs.dashboardName };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return {
        ...base,
        arn: `arn:aws:elasticache:${region}:${account}:replicationgroup:${inputs.replicationGroupId}`,
        primaryEndpointAddress: `master.${inputs.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
        readerEndpointAddress: `replica.${inputs.replicationGroupId}.abc123.use1.cache.amazonaws.com`,
      };
    case 'aws:ssm/parameter:Parameter':
      return { ...base, arn: `arn:aws:ssm:${region}:${account}:parameter${inputs.name}`, version: 1 };
    case 'aws:oam/sink:Sink':
      return { ...base, arn: `arn:aws:oam:${region}:${account}:sink/${HEX}`, sinkId: HEX };
    case 'docker-build:index:Image':
      return { ...inputs, digest: `sha256:${'ab'.repeat(32)}`, ref: `${inputs.tags?.[0]}@sha256:${'ab'.repeat(32)}` };
    case 'random:index/randomPassword:RandomPassword':
      return { ...inputs, result: fakeSecretValue(name) };
    default:
      return base;
  }
}

export interface RunOptions {
  /** Config as Pulumi passes it (`ai-gateway:network` -> JSON text). Default: the stack's file. */
  config?: Record<string, string>;
  secretKeys?: string[];
  /** What the hub StackReference returns (a spoke's view of the hub stack). */
  hubOutputs?: Record<string, unknown>;
  /** Third-party API keys, set as secret config `<name>ApiKey` (as `pulumi config set --secret` does). */
  apiKeys?: Record<string, string>;
}

/** A fake API key for every thirdParty entry of a hub config (the hub refuses to create an empty secret). */
export function fakeApiKeys(config: Record<string, string> = readStackConfigFile('hub')): Record<string, string> {
  const vendors = JSON.parse(config[`${PROJECT}:thirdParty`] ?? '[]') as { name: string }[];
  return Object.fromEntries(vendors.map((v) => [v.name, `fake-${v.name}-key-for-tests`]));
}

/** Runs the program for `stack` and resolves every stack output. */
export async function runStack(stack: string, options: RunOptions = {}): Promise<StackRun> {
  const keys = Object.entries(options.apiKeys ?? {}).map(([name, value]) => [`${PROJECT}:${name}ApiKey`, value] as const);
  const config = { ...(options.config ?? readStackConfigFile(stack)), ...Object.fromEntries(keys) };
  const secretKeys = [...(options.secretKeys ?? []), ...keys.map(([k]) => k)];
  const region = JSON.parse(config[`${PROJECT}:account`] ?? '{}').region ?? 'us-east-1';
  const ownAccount = JSON.parse(config[`${PROJECT}:account`] ?? '{}').id ?? '000000000000';
  const hubAccount = JSON.parse(config[`${PROJECT}:hub`] ?? '{}').accountId ?? ownAccount;
  const resources: RecordedResource[] = [];
  const ignored = new Map<string, string[]>();
  const deletedFirst = new Set<string>();
  const dependencies = new Map<string, string[]>();
  const calls: StackRun['calls'] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const provider = providerName(args.provider);
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider,
          custom: args.custom ?? true,
          ignoreChanges: ignored.get(`${args.type}::${args.name}`) ?? [],
          deleteBeforeReplace: deletedFirst.has(`${args.type}::${args.name}`),
          dependsOn: dependencies.get(`${args.type}::${args.name}`) ?? [],
        });
        if (args.type === 'pulumi:pulumi:StackReference') {
          return { id: args.inputs.name, state: { name: args.inputs.name, outputs: options.hubOutputs ?? {}, secretOutputNames: [] } };
        }
        const account = provider === 'hub-account' ? hubAccount : ownAccount;
        return { id: `${args.name}-id`, state: fakeState(args.type, args.name, args.inputs, region, account) };
      },
      call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        calls.push({ token: args.token, provider: providerName(args.provider) });
        if (args.token === 'aws:index/getAvailabilityZones:getAvailabilityZones') {
          const names = ['a', 'b', 'c', 'd'].map((z) => `${region}${z}`);
          return { id: region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`) };
        }
        if (args.token === 'aws:ecr/getAuthorizationToken:getAuthorizationToken') {
          return {
            id: region,
            userName: 'AWS',
            password: 'FAKEECRPASSWORD',
            authorizationToken: 'QVdTOkZBS0VFQ1JQQVNTV09SRA==',
            proxyEndpoint: `https://${ownAccount}.dkr.ecr.${region}.amazonaws.com`,
          };
        }
        throw new Error(`the program called an unexpected data source ${args.token}`);
      },
    },
    PROJECT,
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);
  // infra/index.ts exports the program function; Pulumi calls it the same way.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require('../../infra/index') as () => Promise<Record<string, unknown>>;
  let exported: Record<string, unknown> = {};
  let failure: unknown;
  await pulumi.runtime.runInPulumiStack(async () => {
    // Options never reach the mocks; a stack transformation sees them on the way.
    pulumi.runtime.registerStackTransformation((t) => {
      ignored.set(`${t.type}::${t.name}`, t.opts.ignoreChanges ?? []);
      if ((t.opts as pulumi.CustomResourceOptions).deleteBeforeReplace) deletedFirst.add(`${t.type}::${t.name}`);
      const dependsOn = t.opts.dependsOn;
      if (Array.isArray(dependsOn) || pulumi.Resource.isInstance(dependsOn)) {
        dependencies.set(
          `${t.type}::${t.name}`,
          [dependsOn].flat().flatMap((r) => (pulumi.Resource.isInstance(r) ? [(r as unknown as { __name: string }).__name] : [])),
        );
      }
      return undefined;
    });
    try {
      // Async, as Pulumi runs it: a spoke reads the hub's registry before it declares anything.
      exported = await program();
    } catch (err) {
      // Thrown inside the stack's init it would be an unhandled rejection; report it here.
      failure = err;
    }
    return exported;
  });
  // Drain first: a registration left pending would reach the next run's mocks.
  await waitForRegistrations();
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  const outputs: Record<string, any> = await settle(pulumi.output(exported));
  await waitForRegistrations();
  return { stack, resources, calls, outputs };
}

/** Resolves when every resource registration the program started has reached the mocks. */
async function waitForRegistrations(): Promise<void> {
  const runtime = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (runtime.waitForRPCs) await runtime.waitForRPCs();
}

/** The value of an Output; rejects (instead of hanging) when an apply in its chain throws. */
function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return (output as unknown as { promise(): Promise<T> }).promise();
}

/** Resolves an Output (or plain value) in a test. */
export function resolve<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
  return settle<pulumi.Unwrap<T>>(pulumi.output(value));
}

/** A secret input as the mocks see it: `{ <sig>: <secret sig>, value }`. */
export function isSecretInput(value: unknown): value is { value: unknown } {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

/** An input with its secret wrapper (if any) removed. */
export function plain<T = any>(value: unknown): T {
  return (isSecretInput(value) ? value.value : value) as T;
}
