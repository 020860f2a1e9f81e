/**
 * Interface endpoints so tasks reach ECR, CloudWatch Logs, STS and (for Bedrock spokes)
 * Bedrock Runtime in the VPC's Region without leaving the AWS network; an S3 gateway
 * endpoint for image layers. Other Regions and third-party APIs go through NAT.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ProviderKind } from '../config-schema';
import type { Network } from '../lib/network';

export interface VpcEndpointsArgs {
  network: Network;
  region: string;
  kind: ProviderKind;
}

export function interfaceEndpointServices(kind: ProviderKind): string[] {
  const common = ['ecr.api', 'ecr.dkr', 'logs', 'sts'];
  return kind === 'bedrock' ? [...common, 'bedrock-runtime'] : kind === 'third-party' ? [...common, 'secretsmanager'] : common;
}

export class VpcEndpoints extends pulumi.ComponentResource {
  constructor(name: string, args: VpcEndpointsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:VpcEndpoints', name, {}, opts);
    const parent = { parent: this };
    const { network, region } = args;
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: network.vpc.id,
        description: 'ai-gateway interface endpoints: HTTPS from the VPC',
        ingress: [{ description: 'HTTPS from the VPC', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [network.cidr] }],
        egress: [],
        tags: { Name: `${name}-endpoints` },
      },
      parent,
    );
    for (const service of interfaceEndpointServices(args.kind)) {
      new aws.ec2.VpcEndpoint(
        `${name}-${service.replace('.', '-')}`,
        {
          vpcId: network.vpc.id,
          serviceName: `com.amazonaws.${region}.${service}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          subnetIds: network.privateSubnets.map((s) => s.id),
          securityGroupIds: [securityGroup.id],
          tags: { Name: `${name}-${service}` },
        },
        parent,
      );
    }
    new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      { vpcId: network.vpc.id, serviceName: `com.amazonaws.${region}.s3`, vpcEndpointType: 'Gateway', routeTableIds: network.privateRouteTables.map((t) => t.id), tags: { Name: `${name}-s3` } },
      parent,
    );
    this.registerOutputs({});
  }
}
