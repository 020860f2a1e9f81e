/**
 * The Lambda proxy: the runtime bundled by esbuild, in the hub VPC's private subnets,
 * published on every change, served through the `live` alias that carries provisioned
 * concurrency (no cold start on the request path) and that API Gateway invokes.
 *
 * Its config: GATEWAY_CONFIG_JSON in the environment (the cold start needs no API call)
 * while it fits Lambda's 4 KB environment, and the SSM parameter it polls for hot reload.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { lambdaArchive, LAMBDA_FILE, type Bundle } from '../lib/bundle';
import { policyJson, serviceTrustPolicy } from '../lib/iam';
import { CONFIG_POLL_SECONDS, metricsEnvironment, RUNTIME_ENV } from '../lib/metrics';
import { HUB_NLB_PORT, SPOKE_PORT } from '../lib/naming';
import type { Network } from '../lib/network';
import { LAMBDA_NODE_RUNTIME } from '../lib/node-runtime';
import type { RuntimeConfigParameter } from '../lib/runtime-config-parameter';
import { REDIS_PORT } from '../lib/state-cache';
import { SPOKE_PORT_RANGE } from '../config-schema';

export const PROXY_ALIAS = 'live';
/** Lambda's limit on all environment variables together (names and values). */
export const LAMBDA_ENVIRONMENT_BYTES = 4096;

export interface ProxySecurityGroupArgs {
  network: Network;
  spokeCidrPool: string;
}

/**
 * The Lambda's security group, made before the function: the shared-state cache admits
 * this group alone, and the function's config needs the cache's address.
 */
export function proxySecurityGroup(name: string, args: ProxySecurityGroupArgs, opts?: pulumi.CustomResourceOptions): aws.ec2.SecurityGroup {
  const { network } = args;
  const egress: aws.types.input.ec2.SecurityGroupEgress[] = [
    { description: 'provider hub NLBs', protocol: 'tcp', fromPort: HUB_NLB_PORT, toPort: HUB_NLB_PORT, cidrBlocks: [network.cidr] },
    { description: 'one spoke through its hub NLB port', protocol: 'tcp', fromPort: SPOKE_PORT_RANGE.from, toPort: SPOKE_PORT_RANGE.to, cidrBlocks: [network.cidr] },
    { description: 'spoke NLBs directly over the Transit Gateway', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, cidrBlocks: [args.spokeCidrPool] },
    { description: 'shared-state cache (private subnets)', protocol: 'tcp', fromPort: REDIS_PORT, toPort: REDIS_PORT, cidrBlocks: network.privateSubnetCidrs },
  ];
  egress.push(
    network.natGateways.length > 0
      ? { description: 'HTTPS egress through NAT (AWS APIs, third-party fallbacks)', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }
      : { description: 'HTTPS to the VPC endpoints (SSM, Secrets Manager)', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [network.cidr] },
  );
  return new aws.ec2.SecurityGroup(name, { vpcId: network.vpc.id, description: 'ai-gateway Lambda proxy: no ingress', ingress: [], egress, tags: { Name: name } }, opts);
}

/**
 * The function's environment: everything in `base`, plus the config JSON if the whole still
 * fits in 4 KB. Past that the proxy starts from the SSM parameter alone.
 */
export function proxyEnvironment(base: Record<string, string>, configJson: string): Record<string, string> {
  const withConfig = { ...base, [RUNTIME_ENV.configJson]: configJson };
  const bytes = Object.entries(withConfig).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  return bytes <= LAMBDA_ENVIRONMENT_BYTES ? withConfig : base;
}

export interface ProxyFunctionArgs {
  network: Network;
  securityGroup: aws.ec2.SecurityGroup;
  bundle: Bundle;
  /** The rendered, validated proxy config. */
  runtimeConfigJson: pulumi.Input<string>;
  /** The same config in SSM, polled for hot reload. */
  configParameter: RuntimeConfigParameter;
  /** The shared-state cache's AUTH token: the runtime reads it at start. */
  stateAuthSecretArn: pulumi.Input<string>;
  /** The `Service` dimension of its metrics. */
  metricsService: string;
  memoryMb: number;
  timeoutSeconds: number;
  provisionedConcurrency: number;
  kmsKey: aws.kms.Key;
  partition: string;
}

export class ProxyFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly alias: aws.lambda.Alias;
  readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: ProxyFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:ProxyFunction', name, {}, opts);
    const parent = { parent: this };
    const { network, partition } = args;

    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: 30, kmsKeyId: args.kmsKey.arn }, parent);
    const role = new aws.iam.Role(`${name}-role`, { assumeRolePolicy: serviceTrustPolicy('lambda.amazonaws.com') }, parent);
    const attachments = [
      new aws.iam.RolePolicyAttachment(`${name}-vpc`, { role: role.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole` }, parent),
      new aws.iam.RolePolicyAttachment(`${name}-xray`, { role: role.name, policyArn: `arn:${partition}:iam::aws:policy/AWSXRayDaemonWriteAccess` }, parent),
      new aws.iam.RolePolicy(
        `${name}-logs-kms`,
        {
          role: role.id,
          policy: policyJson([
            { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: pulumi.interpolate`${this.logGroup.arn}:*` },
            // The environment is encrypted with the hub key.
            { Effect: 'Allow', Action: 'kms:Decrypt', Resource: args.kmsKey.arn },
            ...args.configParameter.readStatements(),
            { Sid: 'ReadStateToken', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: args.stateAuthSecretArn },
          ]),
        },
        parent,
      ),
    ];

    const base: Record<string, pulumi.Input<string>> = {
      [RUNTIME_ENV.role]: 'proxy',
      NODE_ENV: 'production',
      [RUNTIME_ENV.configParameter]: args.configParameter.name,
      [RUNTIME_ENV.configPollSeconds]: String(CONFIG_POLL_SECONDS),
      [RUNTIME_ENV.redisAuthSecretArn]: args.stateAuthSecretArn,
      ...metricsEnvironment(args.metricsService),
    };
    const variables = pulumi.all([pulumi.output(base), args.runtimeConfigJson]).apply(([env, json]) => proxyEnvironment(env, json));

    this.function = new aws.lambda.Function(
      `${name}-fn`,
      {
        description: 'ai-gateway proxy (runtime/src/lambda.ts bundled by esbuild)',
        runtime: LAMBDA_NODE_RUNTIME,
        architectures: ['arm64'],
        handler: `${LAMBDA_FILE.replace(/\.js$/, '')}.handler`,
        code: lambdaArchive(args.bundle),
        role: role.arn,
        memorySize: args.memoryMb,
        timeout: args.timeoutSeconds,
        publish: true,
        vpcConfig: { subnetIds: network.privateSubnets.map((s) => s.id), securityGroupIds: [args.securityGroup.id] },
        environment: { variables },
        kmsKeyArn: args.kmsKey.arn,
        loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.name },
        tracingConfig: { mode: 'Active' },
      },
      { parent: this, dependsOn: attachments },
    );
    this.alias = new aws.lambda.Alias(`${name}-alias`, { name: PROXY_ALIAS, functionName: this.function.name, functionVersion: this.function.version }, parent);
    new aws.lambda.ProvisionedConcurrencyConfig(
      `${name}-warm`,
      { functionName: this.function.name, qualifier: this.alias.name, provisionedConcurrentExecutions: args.provisionedConcurrency },
      parent,
    );
    this.registerOutputs({ functionName: this.function.name, aliasArn: this.alias.arn });
  }
}
