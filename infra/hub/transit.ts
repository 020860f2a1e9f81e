/**
 * The hub's Transit Gateway and what hangs off it: two route tables (spokes see the hub
 * and on-prem; the hub and the VPN see the spokes, spokes never see each other), the
 * hub VPC attachment, the RAM share to the spoke accounts, and the Site-to-Site VPN.
 * Spokes associate and propagate their own attachments (see spoke/hub-registration).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { HubConfig } from '../config-schema';
import type { Network } from '../lib/network';

export interface HubTransitArgs {
  network: Network;
  spokeCidrPool: string;
  sharing: HubConfig['sharing'];
  onPrem?: HubConfig['onPrem'];
}

export class HubTransit extends pulumi.ComponentResource {
  readonly transitGateway: aws.ec2transitgateway.TransitGateway;
  /** Spoke attachments associate here: routes to the hub VPC and on-prem. */
  readonly spokeRouteTable: aws.ec2transitgateway.RouteTable;
  /** Hub and VPN attachments associate here; spokes propagate into it. */
  readonly hubRouteTable: aws.ec2transitgateway.RouteTable;
  readonly share: aws.ram.ResourceShare;
  readonly hubAttachment: aws.ec2transitgateway.VpcAttachment;
  readonly vpn?: aws.ec2.VpnConnection;

  constructor(name: string, args: HubTransitArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:Transit', name, {}, opts);
    const parent = { parent: this };
    this.transitGateway = new aws.ec2transitgateway.TransitGateway(
      `${name}-tgw`,
      {
        description: 'ai-gateway hub: spokes, hub VPC and on-prem VPN',
        amazonSideAsn: 64512,
        // Spoke accounts attach without a manual accept; route tables stay explicit.
        autoAcceptSharedAttachments: 'enable',
        defaultRouteTableAssociation: 'disable',
        defaultRouteTablePropagation: 'disable',
        dnsSupport: 'enable',
        vpnEcmpSupport: 'enable',
        tags: { Name: 'ai-gateway-hub' },
      },
      parent,
    );
    const tgwId = this.transitGateway.id;
    this.spokeRouteTable = new aws.ec2transitgateway.RouteTable(`${name}-spokes-rt`, { transitGatewayId: tgwId, tags: { Name: 'ai-gateway-spokes' } }, parent);
    this.hubRouteTable = new aws.ec2transitgateway.RouteTable(`${name}-hub-rt`, { transitGatewayId: tgwId, tags: { Name: 'ai-gateway-hub' } }, parent);

    const hubAttachment = (this.hubAttachment = new aws.ec2transitgateway.VpcAttachment(
      `${name}-hub-vpc`,
      {
        transitGatewayId: tgwId,
        vpcId: args.network.vpc.id,
        subnetIds: args.network.privateSubnets.map((s) => s.id),
        dnsSupport: 'enable',
        transitGatewayDefaultRouteTableAssociation: false,
        transitGatewayDefaultRouteTablePropagation: false,
        tags: { Name: 'ai-gateway-hub' },
      },
      parent,
    ));
    new aws.ec2transitgateway.RouteTableAssociation(`${name}-hub-vpc`, { transitGatewayAttachmentId: hubAttachment.id, transitGatewayRouteTableId: this.hubRouteTable.id }, parent);
    new aws.ec2transitgateway.RouteTablePropagation(`${name}-hub-vpc`, { transitGatewayAttachmentId: hubAttachment.id, transitGatewayRouteTableId: this.spokeRouteTable.id }, parent);
    // One summary route covers every spoke, present and future.
    args.network.privateRouteTables.forEach(
      (table, i) =>
        new aws.ec2.Route(`${name}-spokes-${i}`, { routeTableId: table.id, destinationCidrBlock: args.spokeCidrPool, transitGatewayId: tgwId }, { parent: this, dependsOn: [hubAttachment] }),
    );

    this.share = this.shareWithSpokes(name, args.sharing);
    if (args.onPrem) this.vpn = this.connectOnPrem(name, args.onPrem);
    this.registerOutputs({ transitGatewayId: tgwId, shareArn: this.share.arn });
  }

  private shareWithSpokes(name: string, sharing: HubConfig['sharing']): aws.ram.ResourceShare {
    const parent = { parent: this };
    const share = new aws.ram.ResourceShare(`${name}-tgw-share`, { allowExternalPrincipals: sharing.externalAccountIds.length > 0, tags: { Name: 'ai-gateway-tgw' } }, parent);
    new aws.ram.ResourceAssociation(`${name}-tgw-share`, { resourceArn: this.transitGateway.arn, resourceShareArn: share.arn }, parent);
    if (sharing.organizationArn) {
      new aws.ram.PrincipalAssociation(`${name}-tgw-share-org`, { principal: sharing.organizationArn, resourceShareArn: share.arn }, parent);
    }
    for (const accountId of sharing.externalAccountIds) {
      new aws.ram.PrincipalAssociation(`${name}-tgw-share-${accountId}`, { principal: accountId, resourceShareArn: share.arn }, parent);
    }
    return share;
  }

  private connectOnPrem(name: string, onPrem: NonNullable<HubConfig['onPrem']>): aws.ec2.VpnConnection {
    const parent = { parent: this };
    const customerGateway = new aws.ec2.CustomerGateway(
      `${name}-onprem-cgw`,
      { ...customerGatewayAsn(onPrem.bgpAsn), ipAddress: onPrem.customerGatewayIp, type: 'ipsec.1', tags: { Name: 'ai-gateway-onprem' } },
      parent,
    );
    const vpn = new aws.ec2.VpnConnection(
      `${name}-onprem-vpn`,
      {
        customerGatewayId: customerGateway.id,
        transitGatewayId: this.transitGateway.id,
        type: 'ipsec.1',
        staticRoutesOnly: true,
        // Tunnel keys live in Secrets Manager, not in the Pulumi state.
        presharedKeyStorage: 'SecretsManager',
        // IKEv2 with AES-GCM and DH group 20 on both tunnels; AWS defaults also allow weaker suites.
        tunnel1IkeVersions: ['ikev2'],
        tunnel2IkeVersions: ['ikev2'],
        tunnel1Phase1EncryptionAlgorithms: ['AES256-GCM-16'],
        tunnel2Phase1EncryptionAlgorithms: ['AES256-GCM-16'],
        tunnel1Phase2EncryptionAlgorithms: ['AES256-GCM-16'],
        tunnel2Phase2EncryptionAlgorithms: ['AES256-GCM-16'],
        tunnel1Phase1IntegrityAlgorithms: ['SHA2-256'],
        tunnel2Phase1IntegrityAlgorithms: ['SHA2-256'],
        tunnel1Phase2IntegrityAlgorithms: ['SHA2-256'],
        tunnel2Phase2IntegrityAlgorithms: ['SHA2-256'],
        tunnel1Phase1DhGroupNumbers: [20],
        tunnel2Phase1DhGroupNumbers: [20],
        tunnel1Phase2DhGroupNumbers: [20],
        tunnel2Phase2DhGroupNumbers: [20],
        tags: { Name: 'ai-gateway-onprem' },
      },
      { parent: this, additionalSecretOutputs: ['customerGatewayConfiguration', 'tunnel1PresharedKey', 'tunnel2PresharedKey'] },
    );
    new aws.ec2transitgateway.RouteTableAssociation(
      `${name}-onprem-vpn`,
      { transitGatewayAttachmentId: vpn.transitGatewayAttachmentId, transitGatewayRouteTableId: this.hubRouteTable.id },
      parent,
    );
    new aws.ec2transitgateway.Route(
      `${name}-onprem`,
      { destinationCidrBlock: onPrem.cidr, transitGatewayAttachmentId: vpn.transitGatewayAttachmentId, transitGatewayRouteTableId: this.spokeRouteTable.id },
      parent,
    );
    return vpn;
  }
}

/** The largest ASN EC2's `BgpAsn` takes; 4-byte ASNs above it (e.g. the private 4200000000-4294967294) go in `BgpAsnExtended`. */
export const MAX_BGP_ASN = 2_147_483_647;

export function customerGatewayAsn(asn: number): { bgpAsn: string } | { bgpAsnExtended: string } {
  return asn > MAX_BGP_ASN ? { bgpAsnExtended: String(asn) } : { bgpAsn: String(asn) };
}
