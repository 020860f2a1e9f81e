/**
 * What a spoke declares in the hub account (through the hub-account provider), so that
 * adding a spoke edits no other stack:
 * - its Transit Gateway attachment: associated with the spokes' route table, propagated
 *   into the hub's;
 * - its NLB addresses as targets (AZ "all": they are across the Transit Gateway) of the
 *   provider hub NLB of its kind;
 * - its own target group and listener (port `registration.hubPort`) on that NLB: a
 *   per-spoke path and the per-spoke HealthyHostCount metric;
 * - an alarm on that metric, a CLOUDWATCH_METRIC health check on the alarm, and a
 *   weighted A record (TTL 10 s) to its NLB addresses under `<kind>.spokes.<zone>`.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ProviderKind } from '../config-schema';
import { ALARM_PERIOD_SECONDS, DEREGISTRATION_DELAY_SECONDS, DNS_TTL_SECONDS, healthzCheck } from '../lib/health';
import type { HubReference } from '../lib/hub-exports';
import { SPOKE_ALARM_PREFIX, SPOKE_PORT, spokesHost } from '../lib/naming';

export interface HubRegistrationArgs {
  stack: string;
  kind: ProviderKind;
  hub: HubReference;
  hubRegion: string;
  attachment: aws.ec2transitgateway.VpcAttachment;
  /** The spoke NLB's fixed addresses. */
  ips: string[];
  weight: number;
  /** From the hub's registry entry, checked against the stack file. */
  hubPort: pulumi.Input<number>;
}

export class HubRegistration extends pulumi.ComponentResource {
  readonly recordName: pulumi.Output<string>;

  constructor(name: string, args: HubRegistrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:HubRegistration', name, {}, opts);
    const parent = { parent: this };
    const { hub, kind, ips } = args;

    const association = new aws.ec2transitgateway.RouteTableAssociation(
      `${name}-tgw-association`,
      { transitGatewayAttachmentId: args.attachment.id, transitGatewayRouteTableId: hub.get('transitGatewayRouteTableId') },
      parent,
    );
    new aws.ec2transitgateway.RouteTablePropagation(
      `${name}-tgw-propagation`,
      { transitGatewayAttachmentId: args.attachment.id, transitGatewayRouteTableId: hub.get('transitGatewayHubRouteTableId') },
      parent,
    );
    const routed = { parent: this, dependsOn: [association] };
    ips.forEach(
      (ip, i) =>
        new aws.lb.TargetGroupAttachment(
          `${name}-shared-target-${i}`,
          { targetGroupArn: hub.entry('hubNlbTargetGroupArns', kind), targetId: ip, port: SPOKE_PORT, availabilityZone: 'all' },
          routed,
        ),
    );

    const ownTargets = new aws.lb.TargetGroup(
      `${name}-tg`,
      {
        port: SPOKE_PORT,
        protocol: 'TCP',
        targetType: 'ip',
        vpcId: hub.get('hubVpcId'),
        healthCheck: healthzCheck(),
        deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
        connectionTermination: true,
        tags: { Name: `ai-gateway-${args.stack}` },
      },
      parent,
    );
    ips.forEach((ip, i) => new aws.lb.TargetGroupAttachment(`${name}-own-target-${i}`, { targetGroupArn: ownTargets.arn, targetId: ip, port: SPOKE_PORT, availabilityZone: 'all' }, routed));
    new aws.lb.Listener(
      `${name}-listener`,
      { loadBalancerArn: hub.entry('hubNlbArns', kind), port: args.hubPort, protocol: 'TCP', defaultActions: [{ type: 'forward', targetGroupArn: ownTargets.arn }] },
      // Its port is fixed: a replacement must free it first.
      { parent: this, deleteBeforeReplace: true },
    );

    const alarm = new aws.cloudwatch.MetricAlarm(
      `${name}-healthy`,
      {
        name: `${SPOKE_ALARM_PREFIX}${args.stack}-healthy`,
        alarmDescription: `ai-gateway ${args.stack}: no healthy NLB address seen from the hub; drives its Route 53 health check`,
        namespace: 'AWS/NetworkELB',
        metricName: 'HealthyHostCount',
        dimensions: { LoadBalancer: hub.entry('hubNlbArnSuffixes', kind), TargetGroup: ownTargets.arnSuffix },
        statistic: 'Minimum',
        period: ALARM_PERIOD_SECONDS,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: 'LessThanThreshold',
        treatMissingData: 'breaching',
        alarmActions: [hub.get('alarmTopicArn')],
        okActions: [hub.get('alarmTopicArn')],
      },
      parent,
    );
    const healthCheck = new aws.route53.HealthCheck(
      `${name}-health`,
      {
        type: 'CLOUDWATCH_METRIC',
        cloudwatchAlarmName: alarm.name,
        cloudwatchAlarmRegion: args.hubRegion,
        insufficientDataHealthStatus: 'LastKnownStatus',
        tags: { Name: `ai-gateway-${args.stack}` },
      },
      parent,
    );
    this.recordName = hub.get('privateZoneName').apply((zone) => spokesHost(kind, zone));
    new aws.route53.Record(
      `${name}-record`,
      {
        zoneId: hub.get('privateZoneId'),
        name: this.recordName,
        type: 'A',
        ttl: DNS_TTL_SECONDS,
        records: ips,
        setIdentifier: args.stack,
        weightedRoutingPolicies: [{ weight: args.weight }],
        healthCheckId: healthCheck.id,
      },
      // Same name and set identifier: the old record must go first.
      { parent: this, deleteBeforeReplace: true },
    );
    this.registerOutputs({ recordName: this.recordName });
  }
}
