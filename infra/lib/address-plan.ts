/**
 * Where things sit inside a VPC CIDR: one private subnet per AZ, one public subnet per AZ
 * (NAT only), and the fixed NLB addresses. Pure, so fixed IPs and DNS records are known
 * at plan time and a spoke can register them in the hub before anything is created.
 */
import type { ProviderKind } from '../config-schema';
import { cidrContainsIp, cidrHost, cidrSubnet, formatCidr, parseCidr, parseIp } from './cidr';

/** /16 VPC -> /20 subnets; /24 VPC -> /28 subnets (the smallest AWS allows). */
const SUBNET_NEW_BITS = 4;
const PUBLIC_SUBNET_OFFSET = 8;
/** Host number of the first fixed NLB address in each private subnet. */
const FIRST_NLB_HOST = 10;

export function privateSubnetCidrs(vpcCidr: string, azCount: number): string[] {
  return Array.from({ length: azCount }, (_, i) => cidrSubnet(vpcCidr, SUBNET_NEW_BITS, i));
}

export function publicSubnetCidrs(vpcCidr: string, azCount: number): string[] {
  return Array.from({ length: azCount }, (_, i) => cidrSubnet(vpcCidr, SUBNET_NEW_BITS, PUBLIC_SUBNET_OFFSET + i));
}

/** First host of the block each private subnet keeps for fixed NLB addresses (it holds FIRST_NLB_HOST on). */
const RESERVED_FIRST_HOST = 8;

/**
 * Each provider kind's hub NLB slot, whatever order `providerHubs` lists them in: reordering
 * the list never moves an NLB's addresses (which would replace it and drop every spoke's
 * registration). A new kind gets the next free slot here.
 */
export const NLB_SLOTS: Readonly<Record<ProviderKind, number>> = { bedrock: 0, 'third-party': 1, 'on-prem': 2 };

/**
 * The blocks of a private subnet kept for fixed NLB addresses (explicit subnet CIDR
 * reservations: AWS hands none of them to Lambda, Fargate or cache ENIs): hosts 8-15 (/29),
 * or in a /28 subnet, whose last address AWS keeps, hosts 8-11 and 12-13.
 */
export function nlbReservations(subnetCidr: string): string[] {
  const subnet = parseCidr(subnetCidr);
  if (!subnet) throw new Error(`"${subnetCidr}" is not a CIDR`);
  const block = (host: number, prefix: number) => formatCidr({ base: parseIp(cidrHost(subnetCidr, host)) as number, prefix });
  return subnet.prefix <= 27 ? [block(RESERVED_FIRST_HOST, 29)] : [block(RESERVED_FIRST_HOST, 30), block(RESERVED_FIRST_HOST + 4, 31)];
}

/** Addresses AWS keeps in every subnet: network, VPC router, DNS, future use, broadcast. */
const AWS_RESERVED_PER_SUBNET = 5;

/**
 * How many addresses of each private subnet AWS may hand out on its own (interface endpoints,
 * the Transit Gateway attachment, cache nodes, tasks, the Lambda's ENIs): the subnet less
 * AWS's 5 and the explicit NLB reservation. 4083 in a /20 subnet (/16 VPC), 5 in a /28 (/24 VPC).
 */
export function assignablePerPrivateSubnet(vpcCidr: string): number {
  const [subnet] = privateSubnetCidrs(vpcCidr, 1);
  const size = (cidr: string) => 2 ** (32 - (parseCidr(cidr)?.prefix ?? 32));
  const reserved = nlbReservations(subnet).reduce((sum, block) => sum + size(block), 0);
  return size(subnet) - AWS_RESERVED_PER_SUBNET - reserved;
}

/** One fixed private IP per subnet for the NLB in `slot` (several NLBs share a VPC), inside the reserved block. */
export function fixedNlbIps(subnetCidrs: readonly string[], slot = 0): string[] {
  return subnetCidrs.map((cidr) => {
    const ip = cidrHost(cidr, FIRST_NLB_HOST + slot);
    if (!nlbReservations(cidr).some((block) => cidrContainsIp(block, ip)))
      throw new Error(`NLB slot ${slot} (${ip}) is outside the reserved addresses of subnet ${cidr}: use a larger VPC CIDR`);
    return ip;
  });
}
