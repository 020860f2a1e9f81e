/**
 * The role spoke stacks assume in the hub account to register themselves: Transit
 * Gateway route-table association and propagation, NLB targets and their own listener
 * and target group, their weighted record and health check, and the alarms behind them.
 *
 * Who: only the registered spokes' deploy roles, by ARN, with the hub's external id, each
 * session tagged with its own account (SPOKE_ACCOUNT_TAG, bound to the caller's account).
 * What: a spoke creates listeners and target groups tagged with its account and may change
 * or delete only those; it registers targets into the hub's shared target groups and its
 * own; it writes A records under `*.spokes.<zone>` only; it associates attachments with the
 * spokes' route table and propagates into the hub's, nothing else. What the hub owns
 * (listeners, load balancers, target groups, health checks, its own attachments) is denied
 * explicitly, whatever else a future statement allows.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SpokeRegistryEntry } from '../config-schema';
import { accountRoot, policyJson, type PolicyStatement } from '../lib/iam';
import { SPOKE_ACCOUNT_TAG, SPOKE_ALARM_PREFIX, SPOKE_REGISTRAR_ROLE_NAME, spokesDomain } from '../lib/naming';

export interface HubOwned {
  loadBalancerArns: pulumi.Input<string>[];
  listenerArns: pulumi.Input<string>[];
  targetGroupArns: pulumi.Input<string>[];
  healthCheckIds: pulumi.Input<string>[];
  /** The hub VPC's and the VPN's Transit Gateway attachments. */
  attachmentIds: pulumi.Input<string>[];
}

export interface SpokeRegistrarArgs {
  spokes: readonly SpokeRegistryEntry[];
  externalId: string;
  accountId: string;
  region: string;
  partition: string;
  zoneId: pulumi.Input<string>;
  zoneName: string;
  /** Spoke attachments associate here. */
  spokeRouteTableId: pulumi.Input<string>;
  /** Spoke attachments propagate here. */
  hubRouteTableId: pulumi.Input<string>;
  hubOwned: HubOwned;
}

/** The caller's own account, from its session tag (see the trust policy). */
const CALLER_ACCOUNT = `\${aws:PrincipalTag/${SPOKE_ACCOUNT_TAG}}`;

export class SpokeRegistrar extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;

  constructor(name: string, args: SpokeRegistrarArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:SpokeRegistrar', name, {}, opts);
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: SPOKE_REGISTRAR_ROLE_NAME,
        description: 'Assumed by ai-gateway spoke stacks (their deploy roles) to register themselves in the hub',
        maxSessionDuration: 3600,
        assumeRolePolicy: policyJson(registrarTrust(args)),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(`${name}-policy`, { role: this.role.id, policy: policyJson(registrarPermissions(args)) }, { parent: this });
    this.registerOutputs({ roleArn: this.role.arn });
  }
}

/**
 * The registered deploy roles only, with the external id, and a session tag naming the
 * caller's own account (so a spoke cannot pass itself off as another).
 */
export function registrarTrust(args: Pick<SpokeRegistrarArgs, 'spokes' | 'externalId' | 'partition' | 'accountId'>): PolicyStatement[] {
  if (args.spokes.length === 0) {
    // No spoke registered: nobody outside the hub account; an administrator still needs the id.
    return [
      {
        Sid: 'HubAccountOnly',
        Effect: 'Allow',
        Principal: { AWS: accountRoot(args.partition, args.accountId) },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': args.externalId } },
      },
    ];
  }
  const principals = { AWS: args.spokes.map((s) => s.deployRoleArn) };
  const ownAccountTag = { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: '${aws:PrincipalAccount}' };
  return [
    { Sid: 'SpokeDeployRoles', Effect: 'Allow', Principal: principals, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': args.externalId, ...ownAccountTag } } },
    {
      Sid: 'TagSessionWithOwnAccount',
      Effect: 'Allow',
      Principal: principals,
      Action: 'sts:TagSession',
      Condition: { StringEquals: ownAccountTag, 'ForAllValues:StringEquals': { 'aws:TagKeys': [SPOKE_ACCOUNT_TAG] } },
    },
  ];
}

export function registrarPermissions(args: SpokeRegistrarArgs): PolicyStatement[] {
  const { partition, region, accountId } = args;
  const arn = (service: string, resource: pulumi.Input<string>) => pulumi.interpolate`arn:${partition}:${service}:${region}:${accountId}:${resource}`;
  const elb = (resource: string) => `arn:${partition}:elasticloadbalancing:${region}:${accountId}:${resource}`;
  const ownedByCaller = { StringEquals: { [`aws:ResourceTag/${SPOKE_ACCOUNT_TAG}`]: CALLER_ACCOUNT } };
  const taggedForCaller = { StringEquals: { [`aws:RequestTag/${SPOKE_ACCOUNT_TAG}`]: CALLER_ACCOUNT } };
  // Spoke attachments belong to the spoke accounts: their ARNs carry those accounts, not the hub's.
  const anyAttachment = `arn:${partition}:ec2:${region}:*:transit-gateway-attachment/*`;
  const hub = args.hubOwned;
  return [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: [
        'ec2:DescribeTransitGatewayAttachments',
        'ec2:DescribeTransitGatewayRouteTables',
        'ec2:DescribeTransitGatewayVpcAttachments',
        'ec2:GetTransitGatewayRouteTableAssociations',
        'ec2:GetTransitGatewayRouteTablePropagations',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeListenerAttributes',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeTags',
        'elasticloadbalancing:DescribeTargetGroupAttributes',
        'elasticloadbalancing:DescribeTargetGroups',
        'elasticloadbalancing:DescribeTargetHealth',
        'cloudwatch:DescribeAlarms',
        'route53:GetHealthCheckCount',
        'route53:ListHealthChecks',
      ],
      Resource: '*',
    },
    {
      Sid: 'AssociateWithSpokesRouteTable',
      Effect: 'Allow',
      Action: ['ec2:AssociateTransitGatewayRouteTable', 'ec2:DisassociateTransitGatewayRouteTable'],
      Resource: [arn('ec2', pulumi.interpolate`transit-gateway-route-table/${args.spokeRouteTableId}`), anyAttachment],
    },
    {
      Sid: 'PropagateIntoHubRouteTable',
      Effect: 'Allow',
      Action: ['ec2:EnableTransitGatewayRouteTablePropagation', 'ec2:DisableTransitGatewayRouteTablePropagation'],
      Resource: [arn('ec2', pulumi.interpolate`transit-gateway-route-table/${args.hubRouteTableId}`), anyAttachment],
    },
    {
      Sid: 'CreateOwnTargetGroupsAndListeners',
      Effect: 'Allow',
      Action: ['elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:CreateListener'],
      Resource: [elb('targetgroup/*'), ...hub.loadBalancerArns],
      Condition: taggedForCaller,
    },
    {
      Sid: 'TagOnCreate',
      Effect: 'Allow',
      Action: 'elasticloadbalancing:AddTags',
      Resource: [elb('targetgroup/*'), elb('listener/net/*')],
      Condition: { ...taggedForCaller, StringEquals: { ...taggedForCaller.StringEquals, 'elasticloadbalancing:CreateAction': ['CreateTargetGroup', 'CreateListener'] } },
    },
    {
      Sid: 'ChangeOwnTargetGroupsAndListeners',
      Effect: 'Allow',
      Action: [
        'elasticloadbalancing:ModifyTargetGroup',
        'elasticloadbalancing:ModifyTargetGroupAttributes',
        'elasticloadbalancing:DeleteTargetGroup',
        'elasticloadbalancing:ModifyListener',
        'elasticloadbalancing:DeleteListener',
        'elasticloadbalancing:RegisterTargets',
        'elasticloadbalancing:DeregisterTargets',
      ],
      Resource: [elb('targetgroup/*'), elb('listener/net/*')],
      Condition: ownedByCaller,
    },
    {
      Sid: 'RetagOwnKeepingTheOwner',
      Effect: 'Allow',
      Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
      Resource: [elb('targetgroup/*'), elb('listener/net/*')],
      Condition: { ...ownedByCaller, 'ForAllValues:StringNotEquals': { 'aws:TagKeys': [SPOKE_ACCOUNT_TAG] } },
    },
    {
      Sid: 'JoinSharedTargetGroups',
      Effect: 'Allow',
      Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
      Resource: hub.targetGroupArns,
    },
    {
      Sid: 'SpokeRecordsOnly',
      Effect: 'Allow',
      Action: 'route53:ChangeResourceRecordSets',
      Resource: pulumi.interpolate`arn:${partition}:route53:::hostedzone/${args.zoneId}`,
      Condition: {
        'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`*.${spokesDomain(args.zoneName)}`] },
        'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsRecordTypes': ['A'] },
      },
    },
    {
      Sid: 'ReadZone',
      Effect: 'Allow',
      Action: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
      Resource: pulumi.interpolate`arn:${partition}:route53:::hostedzone/${args.zoneId}`,
    },
    { Sid: 'ReadChanges', Effect: 'Allow', Action: 'route53:GetChange', Resource: `arn:${partition}:route53:::change/*` },
    // CreateHealthCheck takes no resource; Route 53 health checks have no tag conditions, so the hub's own are denied below.
    { Sid: 'CreateHealthChecks', Effect: 'Allow', Action: 'route53:CreateHealthCheck', Resource: '*' },
    {
      Sid: 'HealthChecks',
      Effect: 'Allow',
      Action: [
        'route53:GetHealthCheck',
        'route53:GetHealthCheckStatus',
        'route53:UpdateHealthCheck',
        'route53:DeleteHealthCheck',
        'route53:ChangeTagsForResource',
        'route53:ListTagsForResource',
      ],
      Resource: `arn:${partition}:route53:::healthcheck/*`,
    },
    {
      Sid: 'SpokeAlarms',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms', 'cloudwatch:TagResource', 'cloudwatch:ListTagsForResource'],
      Resource: arn('cloudwatch', `alarm:${SPOKE_ALARM_PREFIX}*`),
    },
    {
      Sid: 'HubLoadBalancingStaysPut',
      Effect: 'Deny',
      Action: [
        'elasticloadbalancing:DeleteListener',
        'elasticloadbalancing:ModifyListener',
        'elasticloadbalancing:DeleteLoadBalancer',
        'elasticloadbalancing:ModifyLoadBalancerAttributes',
        'elasticloadbalancing:DeleteTargetGroup',
        'elasticloadbalancing:ModifyTargetGroup',
        'elasticloadbalancing:ModifyTargetGroupAttributes',
        'elasticloadbalancing:RemoveTags',
      ],
      Resource: [...hub.listenerArns, ...hub.loadBalancerArns, ...hub.targetGroupArns],
    },
    {
      Sid: 'HubHealthChecksStayPut',
      Effect: 'Deny',
      Action: ['route53:UpdateHealthCheck', 'route53:DeleteHealthCheck', 'route53:ChangeTagsForResource'],
      Resource: hub.healthCheckIds.map((id) => pulumi.interpolate`arn:${partition}:route53:::healthcheck/${id}`),
    },
    {
      Sid: 'HubAttachmentsStayPut',
      Effect: 'Deny',
      Action: ['ec2:DisassociateTransitGatewayRouteTable', 'ec2:DisableTransitGatewayRouteTablePropagation'],
      Resource: hub.attachmentIds.map((id) => arn('ec2', pulumi.interpolate`transit-gateway-attachment/${id}`)),
    },
  ];
}
