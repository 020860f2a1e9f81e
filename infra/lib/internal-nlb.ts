/**
 * An internal NLB on fixed private IPs (one per subnet) with an IP target group checked
 * on /healthz: the shape both the hub's provider NLBs and each spoke's NLB take.
 */
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { DEREGISTRATION_DELAY_SECONDS, healthzCheck } from './health';
import { SPOKE_PORT } from './naming';
import type { Network } from './network';

export function internalNlb(
  name: string,
  network: Network,
  securityGroup: aws.ec2.SecurityGroup,
  ips: string[],
  opts: pulumi.CustomResourceOptions,
): { loadBalancer: aws.lb.LoadBalancer; targetGroup: aws.lb.TargetGroup } {
  const loadBalancer = new aws.lb.LoadBalancer(
    `${name}-nlb`,
    {
      internal: true,
      loadBalancerType: 'network',
      subnetMappings: network.privateSubnets.map((s, i) => ({ subnetId: s.id, privateIpv4Address: ips[i] })),
      securityGroups: [securityGroup.id],
      enableCrossZoneLoadBalancing: true,
      tags: { Name: `${name}-nlb` },
    },
    // Its fixed IPs: a replacement must free them first (create-before-replace would find them taken).
    { ...opts, deleteBeforeReplace: true, dependsOn: network.nlbReservations },
  );
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-tg`,
    {
      port: SPOKE_PORT,
      protocol: 'TCP',
      targetType: 'ip',
      vpcId: network.vpc.id,
      healthCheck: healthzCheck(),
      deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
      connectionTermination: true,
      tags: { Name: `${name}-tg` },
    },
    opts,
  );
  return { loadBalancer, targetGroup };
}
