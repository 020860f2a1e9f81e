/**
 * The spoke's side of the Transit Gateway: accept the hub's RAM share when the account is
 * outside the organization, attach the private subnets, and route the hub VPC (and, for
 * an on-prem spoke, the on-prem network) through the Transit Gateway.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { HubReference } from '../lib/hub-exports';
import type { Network } from '../lib/network';

export interface TransitAttachmentArgs {
  network: Network;
  hub: HubReference;
  acceptRamShare: boolean;
  /** CIDRs reached through the Transit Gateway. */
  destinations: string[];
}

export class TransitAttachment extends pulumi.ComponentResource {
  readonly attachment: aws.ec2transitgateway.VpcAttachment;

  constructor(name: string, args: TransitAttachmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:TransitAttachment', name, {}, opts);
    const transitGatewayId = args.hub.get('transitGatewayId');
    const accepted = args.acceptRamShare ? [new aws.ram.ResourceShareAccepter(`${name}-share`, { shareArn: args.hub.get('ramShareArn') }, { parent: this })] : [];
    this.attachment = new aws.ec2transitgateway.VpcAttachment(
      `${name}-attachment`,
      {
        transitGatewayId,
        vpcId: args.network.vpc.id,
        subnetIds: args.network.privateSubnets.map((s) => s.id),
        dnsSupport: 'enable',
        tags: { Name: name },
      },
      { parent: this, dependsOn: accepted },
    );
    args.network.privateRouteTables.forEach((table, i) =>
      args.destinations.forEach(
        (cidr, j) => new aws.ec2.Route(`${name}-route-${i}-${j}`, { routeTableId: table.id, destinationCidrBlock: cidr, transitGatewayId }, { parent: this, dependsOn: [this.attachment] }),
      ),
    );
    this.registerOutputs({ attachmentId: this.attachment.id });
  }
}
