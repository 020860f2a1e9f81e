/**
 * Interface endpoints so the runtime reaches AWS APIs (ECR, logs, SSM, Secrets Manager,
 * Bedrock, ...) in the VPC's Region without leaving the AWS network or needing NAT, and
 * optionally an S3 gateway endpoint (ECR image layers).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { Network } from './network';

export interface VpcEndpointsArgs {
  network: Network;
  region: string;
  /** Service names after `com.amazonaws.<region>.`, e.g. `ssm`, `ecr.api`. */
  services: string[];
  s3Gateway: boolean;
}

export class VpcEndpoints extends pulumi.ComponentResource {
  constructor(name: string, args: VpcEndpointsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:lib:VpcEndpoints', name, {}, opts);
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
    for (const service of args.services) {
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
    if (args.s3Gateway) {
      new aws.ec2.VpcEndpoint(
        `${name}-s3`,
        {
          vpcId: network.vpc.id,
          serviceName: `com.amazonaws.${region}.s3`,
          vpcEndpointType: 'Gateway',
          routeTableIds: network.privateRouteTables.map((t) => t.id),
          tags: { Name: `${name}-s3` },
        },
        parent,
      );
    }
    this.registerOutputs({});
  }
}
