/**
 * The spoke's internal NLB: one fixed private IP per subnet (what the hub registers as
 * targets and the spoke's DNS record points at), a target group of Fargate task IPs
 * checked on /healthz every 5 s, and a security group that admits only the hub VPC.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { fixedNlbIps } from '../lib/address-plan';
import { SPOKE_PORT } from '../lib/naming';
import { internalNlb } from '../lib/internal-nlb';
import type { Network } from '../lib/network';

export interface SpokeLoadBalancerArgs {
  network: Network;
  hubCidr: string;
}

export class SpokeLoadBalancer extends pulumi.ComponentResource {
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly listener: aws.lb.Listener;
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly ips: string[];

  constructor(name: string, args: SpokeLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:LoadBalancer', name, {}, opts);
    const parent = { parent: this };
    const { network } = args;
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-nlb`,
      {
        vpcId: network.vpc.id,
        description: 'ai-gateway spoke NLB: the hub only',
        ingress: [{ description: 'hub NLBs and the proxy over the Transit Gateway', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, cidrBlocks: [args.hubCidr] }],
        egress: [{ description: 'gateway tasks', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, cidrBlocks: [network.cidr] }],
        tags: { Name: `${name}-nlb` },
      },
      parent,
    );
    this.ips = fixedNlbIps(network.privateSubnetCidrs);
    ({ loadBalancer: this.loadBalancer, targetGroup: this.targetGroup } = internalNlb(name, network, this.securityGroup, this.ips, parent));
    this.listener = new aws.lb.Listener(
      `${name}-listener`,
      { loadBalancerArn: this.loadBalancer.arn, port: SPOKE_PORT, protocol: 'TCP', defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }] },
      parent,
    );
    this.registerOutputs({ ips: this.ips, loadBalancerArn: this.loadBalancer.arn });
  }
}
