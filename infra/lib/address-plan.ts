/**
 * Where things sit inside a VPC CIDR: one private subnet per AZ, one public subnet per AZ
 * (NAT only), and the fixed NLB addresses. Pure, so fixed IPs and DNS records are known
 * at plan time and a spoke can register them in the hub before anything is created.
 */
import { cidrHost, cidrSubnet } from './cidr';

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

/** One fixed private IP per subnet for the NLB in `slot` (several NLBs share a VPC). */
export function fixedNlbIps(subnetCidrs: readonly string[], slot = 0): string[] {
  return subnetCidrs.map((cidr) => cidrHost(cidr, FIRST_NLB_HOST + slot));
}
