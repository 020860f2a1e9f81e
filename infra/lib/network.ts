/**
 * A VPC laid out by the address plan: private subnets in `azCount` AZs (each with its own
 * route table, so each AZ keeps its own NAT path) and, with NAT, public subnets, an
 * internet gateway and one NAT gateway per AZ. The default security group is emptied.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { nlbReservations, privateSubnetCidrs, publicSubnetCidrs } from './address-plan';

export interface NetworkArgs {
  cidr: string;
  azCount: number;
  natGateway: boolean;
}

export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly cidr: string;
  readonly privateSubnets: aws.ec2.Subnet[];
  readonly privateSubnetCidrs: string[];
  readonly privateRouteTables: aws.ec2.RouteTable[];
  readonly availabilityZones: pulumi.Output<string>[];
  readonly natGateways: aws.ec2.NatGateway[] = [];
  /** The fixed-NLB-address block of each private subnet (NLBs wait for these). */
  readonly nlbReservations: aws.ec2.SubnetCidrReservation[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:lib:Network', name, {}, opts);
    const parent = { parent: this };
    this.cidr = args.cidr;
    const azNames = aws.getAvailabilityZonesOutput({ state: 'available' }, parent).names;
    this.availabilityZones = Array.from({ length: args.azCount }, (_, i) =>
      azNames.apply((names) => {
        if (names.length <= i) throw new Error(`${name}: the Region has ${names.length} available AZs; network.azCount asks for ${args.azCount}`);
        return names[i];
      }),
    );

    this.vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } }, parent);
    // No rules: nothing may use the default group by accident.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: this.vpc.id, ingress: [], egress: [] }, parent);

    this.privateSubnetCidrs = privateSubnetCidrs(args.cidr, args.azCount);
    this.privateSubnets = this.privateSubnetCidrs.map(
      (cidr, i) =>
        new aws.ec2.Subnet(
          `${name}-private-${i}`,
          { vpcId: this.vpc.id, cidrBlock: cidr, availabilityZone: this.availabilityZones[i], mapPublicIpOnLaunch: false, tags: { Name: `${name}-private-${i}` } },
          parent,
        ),
    );

    // Explicit: AWS assigns none of these addresses on its own, so a replaced NLB finds its IPs free.
    this.nlbReservations = this.privateSubnets.flatMap((subnet, i) =>
      nlbReservations(this.privateSubnetCidrs[i]).map(
        (cidrBlock, j) =>
          new aws.ec2.SubnetCidrReservation(
            `${name}-private-${i}-nlb${j === 0 ? '' : `-${j}`}`,
            { subnetId: subnet.id, cidrBlock, reservationType: 'explicit', description: 'ai-gateway fixed NLB addresses' },
            parent,
          ),
      ),
    );

    if (args.natGateway) this.natGateways = this.createEgress(name, args);

    this.privateRouteTables = this.privateSubnets.map((subnet, i) => {
      const table = new aws.ec2.RouteTable(`${name}-private-${i}`, { vpcId: this.vpc.id, tags: { Name: `${name}-private-${i}` } }, parent);
      new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: table.id }, parent);
      const nat = this.natGateways[i];
      if (nat) new aws.ec2.Route(`${name}-private-${i}-egress`, { routeTableId: table.id, destinationCidrBlock: '0.0.0.0/0', natGatewayId: nat.id }, parent);
      return table;
    });

    this.registerOutputs({ vpcId: this.vpc.id, privateSubnetIds: this.privateSubnets.map((s) => s.id) });
  }

  private createEgress(name: string, args: NetworkArgs): aws.ec2.NatGateway[] {
    const parent = { parent: this };
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: { Name: name } }, parent);
    const publicTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId: this.vpc.id, tags: { Name: `${name}-public` } }, parent);
    new aws.ec2.Route(`${name}-public-igw`, { routeTableId: publicTable.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id }, parent);
    return publicSubnetCidrs(args.cidr, args.azCount).map((cidr, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        { vpcId: this.vpc.id, cidrBlock: cidr, availabilityZone: this.availabilityZones[i], mapPublicIpOnLaunch: false, tags: { Name: `${name}-public-${i}` } },
        parent,
      );
      new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicTable.id }, parent);
      const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: 'vpc', tags: { Name: `${name}-nat-${i}` } }, parent);
      return new aws.ec2.NatGateway(`${name}-nat-${i}`, { subnetId: subnet.id, allocationId: eip.id, tags: { Name: `${name}-nat-${i}` } }, { parent: this, dependsOn: [igw] });
    });
  }
}
