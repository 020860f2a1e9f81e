/**
 * The role spoke stacks assume in the hub account to register themselves: Transit
 * Gateway route-table association and propagation, NLB targets and their own listener
 * and target group, their weighted record and health check, and the alarm behind it.
 * Write actions are limited to this Region and account, the private zone, and alarms
 * named `ai-gateway-spoke-*`.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { policyJson, spokeStatements, type SpokePrincipals } from '../lib/iam';
import { SPOKE_ALARM_PREFIX, SPOKE_REGISTRAR_ROLE_NAME } from '../lib/naming';

export interface SpokeRegistrarArgs {
  spokes: SpokePrincipals;
  accountId: string;
  region: string;
  partition: string;
  zoneId: pulumi.Input<string>;
}

export class SpokeRegistrar extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;

  constructor(name: string, args: SpokeRegistrarArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:SpokeRegistrar', name, {}, opts);
    const { partition, region, accountId } = args;
    const arn = (service: string, resource: string) => `arn:${partition}:${service}:${region}:${accountId}:${resource}`;
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: SPOKE_REGISTRAR_ROLE_NAME,
        description: 'Assumed by ai-gateway spoke stacks to register themselves in the hub',
        maxSessionDuration: 3600,
        assumeRolePolicy: policyJson(spokeStatements(args.spokes, partition, { Effect: 'Allow', Action: 'sts:AssumeRole' })),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: policyJson([
          {
            Sid: 'Read',
            Effect: 'Allow',
            Action: [
              'ec2:Describe*',
              'ec2:GetTransitGatewayRouteTableAssociations',
              'ec2:GetTransitGatewayRouteTablePropagations',
              'elasticloadbalancing:Describe*',
              'cloudwatch:DescribeAlarms',
              'route53:GetChange',
              'route53:GetHealthCheck*',
              'route53:ListHealthChecks',
            ],
            Resource: '*',
          },
          {
            Sid: 'TransitGatewayRouteTables',
            Effect: 'Allow',
            Action: [
              'ec2:AssociateTransitGatewayRouteTable',
              'ec2:DisassociateTransitGatewayRouteTable',
              'ec2:EnableTransitGatewayRouteTablePropagation',
              'ec2:DisableTransitGatewayRouteTablePropagation',
            ],
            Resource: [arn('ec2', 'transit-gateway-route-table/*'), arn('ec2', 'transit-gateway-attachment/*')],
          },
          {
            Sid: 'LoadBalancing',
            Effect: 'Allow',
            Action: [
              'elasticloadbalancing:RegisterTargets',
              'elasticloadbalancing:DeregisterTargets',
              'elasticloadbalancing:CreateTargetGroup',
              'elasticloadbalancing:DeleteTargetGroup',
              'elasticloadbalancing:ModifyTargetGroup',
              'elasticloadbalancing:ModifyTargetGroupAttributes',
              'elasticloadbalancing:CreateListener',
              'elasticloadbalancing:DeleteListener',
              'elasticloadbalancing:ModifyListener',
              'elasticloadbalancing:AddTags',
              'elasticloadbalancing:RemoveTags',
            ],
            Resource: [arn('elasticloadbalancing', 'targetgroup/*'), arn('elasticloadbalancing', 'loadbalancer/net/*'), arn('elasticloadbalancing', 'listener/net/*')],
          },
          {
            Sid: 'PrivateZoneRecords',
            Effect: 'Allow',
            Action: ['route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets', 'route53:GetHostedZone'],
            Resource: pulumi.interpolate`arn:${partition}:route53:::hostedzone/${args.zoneId}`,
          },
          {
            Sid: 'HealthChecks',
            Effect: 'Allow',
            Action: ['route53:CreateHealthCheck', 'route53:UpdateHealthCheck', 'route53:DeleteHealthCheck', 'route53:ChangeTagsForResource', 'route53:ListTagsForResource'],
            Resource: `arn:${partition}:route53:::healthcheck/*`,
          },
          {
            Sid: 'SpokeAlarms',
            Effect: 'Allow',
            Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:TagResource', 'cloudwatch:ListTagsForResource'],
            Resource: arn('cloudwatch', `alarm:${SPOKE_ALARM_PREFIX}*`),
          },
        ]),
      },
      { parent: this },
    );
    this.registerOutputs({ roleArn: this.role.arn });
  }
}
