/**
 * One provider hub (bedrock, third-party or on-prem): an internal NLB with a fixed IP per
 * hub subnet, whose target group holds the NLB addresses of every spoke of that kind
 * (each spoke registers its own), checked on /healthz every 5 s.
 *
 * Its DNS name `<kind>.<zone>` is a weighted set of non-alias A records, one per NLB
 * address with TTL 10 s. Alias records would take the ELB's 60 s TTL, and Route 53's
 * checkers cannot reach private addresses, so each record's health check is a
 * CLOUDWATCH_METRIC check on that AZ's HealthyHostCount alarm.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ProviderKind } from '../config-schema';
import { fixedNlbIps } from '../lib/address-plan';
import { ALARM_PERIOD_SECONDS, DNS_TTL_SECONDS } from '../lib/health';
import { HUB_NLB_PORT, providerHubHost, SPOKE_PORT } from '../lib/naming';
import { internalNlb } from '../lib/internal-nlb';
import type { Network } from '../lib/network';
import { SPOKE_PORT_RANGE } from '../config-schema';

export interface ProviderHubArgs {
  kind: ProviderKind;
  /** The kind's fixed slot (NLB_SLOTS): distinct addresses in the shared subnets, independent of list order. */
  slot: number;
  network: Network;
  zone: aws.route53.Zone;
  zoneName: string;
  spokeCidrPool: string;
  region: string;
}

export class ProviderHub extends pulumi.ComponentResource {
  readonly loadBalancer: aws.lb.LoadBalancer;
  readonly targetGroup: aws.lb.TargetGroup;
  readonly listener: aws.lb.Listener;
  readonly healthChecks: aws.route53.HealthCheck[] = [];
  readonly ips: string[];
  readonly host: string;

  constructor(name: string, args: ProviderHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:ProviderHub', name, {}, opts);
    const parent = { parent: this };
    const { network, kind } = args;
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-nlb`,
      {
        vpcId: network.vpc.id,
        description: `ai-gateway ${kind} provider hub NLB`,
        ingress: [
          { description: 'proxy to the provider hub', protocol: 'tcp', fromPort: HUB_NLB_PORT, toPort: HUB_NLB_PORT, cidrBlocks: [network.cidr] },
          { description: 'proxy to one spoke by port', protocol: 'tcp', fromPort: SPOKE_PORT_RANGE.from, toPort: SPOKE_PORT_RANGE.to, cidrBlocks: [network.cidr] },
        ],
        egress: [{ description: 'spoke NLBs over the Transit Gateway', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, cidrBlocks: [args.spokeCidrPool] }],
        tags: { Name: `${name}-nlb` },
      },
      parent,
    );
    this.ips = fixedNlbIps(network.privateSubnetCidrs, args.slot);
    ({ loadBalancer: this.loadBalancer, targetGroup: this.targetGroup } = internalNlb(name, network, securityGroup, this.ips, parent));
    this.listener = new aws.lb.Listener(
      `${name}-listener`,
      { loadBalancerArn: this.loadBalancer.arn, port: HUB_NLB_PORT, protocol: 'TCP', defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }] },
      parent,
    );

    this.host = providerHubHost(kind, args.zoneName);
    this.ips.forEach((ip, i) => {
      const alarm = new aws.cloudwatch.MetricAlarm(
        `${name}-az${i}-healthy`,
        {
          alarmDescription: `No healthy ${kind} spoke behind ${this.host} in AZ ${i}: drives the Route 53 health check of ${ip}`,
          namespace: 'AWS/NetworkELB',
          metricName: 'HealthyHostCount',
          dimensions: { LoadBalancer: this.loadBalancer.arnSuffix, TargetGroup: this.targetGroup.arnSuffix, AvailabilityZone: network.availabilityZones[i] },
          statistic: 'Minimum',
          period: ALARM_PERIOD_SECONDS,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: 'LessThanThreshold',
          treatMissingData: 'breaching',
        },
        parent,
      );
      const healthCheck = new aws.route53.HealthCheck(
        `${name}-az${i}`,
        {
          type: 'CLOUDWATCH_METRIC',
          cloudwatchAlarmName: alarm.name,
          cloudwatchAlarmRegion: args.region,
          insufficientDataHealthStatus: 'LastKnownStatus',
          tags: { Name: `${this.host} ${ip}` },
        },
        parent,
      );
      this.healthChecks.push(healthCheck);
      new aws.route53.Record(
        `${name}-az${i}`,
        {
          zoneId: args.zone.zoneId,
          name: this.host,
          type: 'A',
          ttl: DNS_TTL_SECONDS,
          records: [ip],
          setIdentifier: `${kind}-az${i}`,
          weightedRoutingPolicies: [{ weight: 100 }],
          healthCheckId: healthCheck.id,
        },
        // Same name and set identifier: the old record must go first.
        { parent: this, deleteBeforeReplace: true },
      );
    });
    this.registerOutputs({ loadBalancerArn: this.loadBalancer.arn, targetGroupArn: this.targetGroup.arn, ips: this.ips });
  }
}
