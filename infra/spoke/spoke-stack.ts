/**
 * One spoke account: its VPC and Transit Gateway attachment, the internal NLB with fixed
 * addresses, the runtime on Fargate, and (through the hub-account provider) its own
 * registration in the hub. Everything hub-side it needs comes from the hub stack's
 * outputs through a StackReference.
 */
import type * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { configSchema } from '../../runtime/src/config/schema';
import type { SpokeConfig } from '../config-schema';
import { HubReference } from '../lib/hub-exports';
import { partitionOf, type PolicyStatement } from '../lib/iam';
import { Network } from '../lib/network';
import { BEDROCK_INVOKE_ACTIONS, bedrockInvokeResources } from './bedrock-access';
import { GatewayService } from './gateway-service';
import { HubRegistration } from './hub-registration';
import { SpokeLoadBalancer } from './load-balancer';
import { renderSpokeRuntimeConfig, secretEnvs } from './runtime-config';
import { TransitAttachment } from './transit-attachment';
import { VpcEndpoints } from './vpc-endpoints';

export interface SpokeStackArgs {
  stack: string;
  config: SpokeConfig;
  /** Provider for the hub account (assumes the hub's spoke-registrar role). */
  hubProvider: aws.Provider;
}

export interface SpokeExports {
  spokeVpcId: pulumi.Output<string>;
  spokeVpcCidr: string;
  spokeNlbIps: string[];
  transitGatewayAttachmentId: pulumi.Output<string>;
  clusterName: pulumi.Output<string>;
  serviceName: pulumi.Output<string>;
  taskRoleArn: pulumi.Output<string>;
  spokeRecordName: pulumi.Output<string>;
  providerKind: string;
}

export class SpokeStack extends pulumi.ComponentResource {
  readonly exports: SpokeExports;

  constructor(name: string, args: SpokeStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:SpokeStack', name, {}, opts);
    const parent = { parent: this };
    const { config: cfg, stack } = args;
    const { id: accountId, region } = cfg.account;
    const partition = partitionOf(region);
    const hub = new HubReference(new pulumi.StackReference(`${name}-hub-ref`, { name: cfg.hub.stack }, parent));

    const network = new Network(name, cfg.network, parent);
    new VpcEndpoints(`${name}-endpoints`, { network, region, kind: cfg.provider.kind }, parent);
    const onPremCidr = cfg.provider.kind === 'on-prem' ? cfg.hub.onPremCidr : undefined;
    const transit = new TransitAttachment(
      `${name}-transit`,
      { network, hub, acceptRamShare: cfg.hub.acceptRamShare, destinations: onPremCidr ? [cfg.hub.cidr, onPremCidr] : [cfg.hub.cidr] },
      parent,
    );
    const loadBalancer = new SpokeLoadBalancer(`${name}-lb`, { network, hubCidr: cfg.hub.cidr }, parent);

    // Validated here too: a config the runtime would reject fails the deploy, not the tasks.
    const runtimeConfig = renderSpokeRuntimeConfig(cfg, stack);
    configSchema.parse(runtimeConfig);
    const envs = secretEnvs(cfg);
    const service = new GatewayService(
      `${name}-gateway`,
      {
        stack,
        network,
        service: cfg.service,
        loadBalancer,
        runtimeConfigJson: JSON.stringify(runtimeConfig),
        taskStatements: taskStatements(cfg, accountId, partition),
        secrets: envs.map((env) => ({ env, arn: hub.entry('thirdPartySecretArns', env.secret) })),
        hubKmsKeyArn: hub.get('kmsKeyArn'),
        extraEgress: cfg.provider.kind === 'on-prem' && onPremCidr ? [onPremEgress(cfg.provider.url, onPremCidr)] : [],
        accountId,
        region,
        partition,
      },
      parent,
    );
    // Named `<stack>-hub`: its resources live in the hub account.
    const registration = new HubRegistration(
      `${name}-hub`,
      {
        stack,
        kind: cfg.provider.kind,
        hub,
        hubRegion: cfg.hub.region,
        attachment: transit.attachment,
        ips: loadBalancer.ips,
        weight: cfg.registration.weight,
        hubPort: cfg.registration.hubPort,
      },
      { parent: this, providers: [args.hubProvider] },
    );

    this.exports = {
      spokeVpcId: network.vpc.id,
      spokeVpcCidr: cfg.network.cidr,
      spokeNlbIps: loadBalancer.ips,
      transitGatewayAttachmentId: transit.attachment.id,
      clusterName: service.cluster.name,
      serviceName: service.service.name,
      taskRoleArn: service.taskRole.arn,
      spokeRecordName: registration.recordName,
      providerKind: cfg.provider.kind,
    };
    this.registerOutputs(this.exports);
  }
}

function taskStatements(cfg: SpokeConfig, accountId: string, partition: string): PolicyStatement[] {
  if (cfg.provider.kind !== 'bedrock') return [];
  return [{ Sid: 'InvokeConfiguredModels', Effect: 'Allow', Action: [...BEDROCK_INVOKE_ACTIONS], Resource: bedrockInvokeResources(cfg.provider, accountId, partition) }];
}

function onPremEgress(url: string, cidr: string): aws.types.input.ec2.SecurityGroupEgress {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return { description: 'on-prem model server over the VPN', protocol: 'tcp', fromPort: port, toPort: port, cidrBlocks: [cidr] };
}
