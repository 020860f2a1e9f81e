/**
 * The Lambda proxy: the runtime bundled by esbuild, in the hub VPC's private subnets,
 * published on every change, served through the `live` alias that carries provisioned
 * concurrency (no cold start on the request path) and that API Gateway invokes.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { lambdaArchive, LAMBDA_FILE, type Bundle } from '../lib/bundle';
import { policyJson, serviceTrustPolicy } from '../lib/iam';
import { HUB_NLB_PORT, SPOKE_PORT } from '../lib/naming';
import type { Network } from '../lib/network';
import { SPOKE_PORT_RANGE } from '../config-schema';

export interface ProxyFunctionArgs {
  network: Network;
  spokeCidrPool: string;
  bundle: Bundle;
  /** The rendered, validated proxy config (GATEWAY_CONFIG_JSON). */
  runtimeConfigJson: string;
  memoryMb: number;
  timeoutSeconds: number;
  provisionedConcurrency: number;
  kmsKey: aws.kms.Key;
  partition: string;
}

export const PROXY_ALIAS = 'live';

export class ProxyFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly alias: aws.lambda.Alias;
  readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: ProxyFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:ProxyFunction', name, {}, opts);
    const parent = { parent: this };
    const { network, partition } = args;
    const egress: aws.types.input.ec2.SecurityGroupEgress[] = [
      { description: 'provider hub NLBs', protocol: 'tcp', fromPort: HUB_NLB_PORT, toPort: HUB_NLB_PORT, cidrBlocks: [network.cidr] },
      { description: 'one spoke through its hub NLB port', protocol: 'tcp', fromPort: SPOKE_PORT_RANGE.from, toPort: SPOKE_PORT_RANGE.to, cidrBlocks: [network.cidr] },
      { description: 'spoke NLBs directly over the Transit Gateway', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, cidrBlocks: [args.spokeCidrPool] },
    ];
    if (network.natGateways.length > 0) {
      egress.push({ description: 'HTTPS egress through NAT (AWS APIs, third-party fallbacks)', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] });
    }
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { vpcId: network.vpc.id, description: 'ai-gateway Lambda proxy: no ingress', ingress: [], egress, tags: { Name: `${name}-lambda` } },
      parent,
    );

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
            { Effect: 'Allow', Action: 'kms:Decrypt', Resource: args.kmsKey.arn },
          ]),
        },
        parent,
      ),
    ];

    this.function = new aws.lambda.Function(
      `${name}-fn`,
      {
        description: 'ai-gateway proxy (runtime/src/lambda.ts bundled by esbuild)',
        runtime: 'nodejs20.x',
        architectures: ['arm64'],
        handler: `${LAMBDA_FILE.replace(/\.js$/, '')}.handler`,
        code: lambdaArchive(args.bundle),
        role: role.arn,
        memorySize: args.memoryMb,
        timeout: args.timeoutSeconds,
        publish: true,
        vpcConfig: { subnetIds: network.privateSubnets.map((s) => s.id), securityGroupIds: [securityGroup.id] },
        environment: { variables: { GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_JSON: args.runtimeConfigJson, NODE_ENV: 'production' } },
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
