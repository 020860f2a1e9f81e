/**
 * The spoke runtime on Fargate: cluster with Container Insights, the task (role `spoke`,
 * config rendered from the stack, logs to a KMS-encrypted group), the service behind the
 * spoke NLB, and autoscaling that tracks requests per task.
 *
 * An NLB publishes no request count (ALBRequestCountPerTarget is ALB only), so the policy
 * tracks a metric math expression: the runtime's own request metric (CloudWatch embedded
 * metric format in its logs) divided by Container Insights' RunningTaskCount.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SpokeConfig } from '../config-schema';
import { EncryptionKey } from '../lib/encryption-key';
import { policyJson, serviceTrustPolicy, type PolicyStatement } from '../lib/iam';
import { SPOKE_PORT } from '../lib/naming';
import type { Network } from '../lib/network';
import type { SpokeLoadBalancer } from './load-balancer';
import type { SecretEnv } from './runtime-config';

/** The runtime's request metric (see docs/infra.md, "Autoscaling"). */
export const REQUEST_METRIC = { namespace: 'AIGateway', name: 'Requests', serviceDimension: 'Service' } as const;
export const CONTAINER_NAME = 'gateway';

export interface GatewayServiceArgs {
  stack: string;
  network: Network;
  service: SpokeConfig['service'];
  loadBalancer: SpokeLoadBalancer;
  /** GATEWAY_CONFIG_JSON: the rendered, validated runtime config. */
  runtimeConfigJson: string;
  /** What the task role may do (Bedrock invoke on the configured models). */
  taskStatements: PolicyStatement[];
  /** Environment variables ECS fills from hub secrets at task start. */
  secrets: { env: SecretEnv; arn: pulumi.Output<string> }[];
  /** The hub key that encrypts those secrets (and the image). */
  hubKmsKeyArn: pulumi.Output<string>;
  /** Egress beyond HTTPS, e.g. the on-prem model server. */
  extraEgress: aws.types.input.ec2.SecurityGroupEgress[];
  accountId: string;
  region: string;
  partition: string;
}

export class GatewayService extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly service: aws.ecs.Service;
  readonly taskRole: aws.iam.Role;
  readonly serviceName: string;

  constructor(name: string, args: GatewayServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:GatewayService', name, {}, opts);
    const parent = { parent: this };
    const { network, partition, accountId, region } = args;
    // A fixed name: the autoscaling metric and the runtime's metric dimension both use it.
    this.serviceName = `ai-gateway-${args.stack}`;

    const kms = new EncryptionKey(
      `${name}-kms`,
      { accountId, region, partition, users: ['logs'], description: `ai-gateway ${args.stack}: logs`, aliasName: `ai-gateway/${args.stack}` },
      parent,
    );
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: 30, kmsKeyId: kms.key.arn }, parent);
    this.cluster = new aws.ecs.Cluster(`${name}-cluster`, { settings: [{ name: 'containerInsights', value: 'enabled' }] }, parent);

    const ecsTrust = serviceTrustPolicy('ecs-tasks.amazonaws.com', { StringEquals: { 'aws:SourceAccount': accountId } });
    const executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy: ecsTrust }, parent);
    new aws.iam.RolePolicyAttachment(
      `${name}-execution`,
      { role: executionRole.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy` },
      parent,
    );
    const executionStatements: PolicyStatement[] = [
      // The runtime image sits in the hub's KMS-encrypted ECR repository.
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: args.hubKmsKeyArn, Condition: { StringEquals: { 'kms:ViaService': [`ecr.${region}.amazonaws.com`, `secretsmanager.${region}.amazonaws.com`] } } },
    ];
    if (args.secrets.length > 0) executionStatements.push({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: args.secrets.map((s) => s.arn) });
    new aws.iam.RolePolicy(`${name}-execution`, { role: executionRole.id, policy: policyJson(executionStatements) }, parent);

    this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy: ecsTrust }, parent);
    if (args.taskStatements.length > 0) new aws.iam.RolePolicy(`${name}-task`, { role: this.taskRole.id, policy: policyJson(args.taskStatements) }, parent);

    const container = {
      name: CONTAINER_NAME,
      image: args.service.image,
      essential: true,
      // The image's USER; the root filesystem stays read-only.
      user: '1000',
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: SPOKE_PORT, protocol: 'tcp' }],
      environment: [
        { name: 'GATEWAY_ROLE', value: 'spoke' },
        { name: 'GATEWAY_CONFIG_JSON', value: args.runtimeConfigJson },
        { name: 'PORT', value: String(SPOKE_PORT) },
        { name: 'HOST', value: '0.0.0.0' },
        { name: 'GATEWAY_METRICS_NAMESPACE', value: REQUEST_METRIC.namespace },
        { name: 'GATEWAY_METRICS_SERVICE', value: this.serviceName },
      ],
      secrets: args.secrets.map((s) => ({ name: s.env.name, valueFrom: s.arn })),
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': logGroup.name, 'awslogs-region': region, 'awslogs-stream-prefix': CONTAINER_NAME } },
      linuxParameters: { initProcessEnabled: true },
      stopTimeout: 30,
    };
    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: this.serviceName,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(args.service.cpu),
        memory: String(args.service.memoryMb),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: args.service.architecture },
        executionRoleArn: executionRole.arn,
        taskRoleArn: this.taskRole.arn,
        containerDefinitions: pulumi.jsonStringify([container]),
      },
      parent,
    );

    const taskSecurityGroup = new aws.ec2.SecurityGroup(
      `${name}-task`,
      {
        vpcId: network.vpc.id,
        description: 'ai-gateway spoke tasks: the spoke NLB only',
        ingress: [{ description: 'spoke NLB (traffic and /healthz checks)', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, securityGroups: [args.loadBalancer.securityGroup.id] }],
        egress: [{ description: 'HTTPS: providers, VPC endpoints', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }, ...args.extraEgress],
        tags: { Name: `${name}-task` },
      },
      parent,
    );
    this.service = new aws.ecs.Service(
      `${name}-service`,
      {
        name: this.serviceName,
        cluster: this.cluster.arn,
        taskDefinition: taskDefinition.arn,
        launchType: 'FARGATE',
        desiredCount: args.service.minTasks,
        networkConfiguration: { subnets: network.privateSubnets.map((s) => s.id), securityGroups: [taskSecurityGroup.id], assignPublicIp: false },
        loadBalancers: [{ targetGroupArn: args.loadBalancer.targetGroup.arn, containerName: CONTAINER_NAME, containerPort: SPOKE_PORT }],
        healthCheckGracePeriodSeconds: 30,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        propagateTags: 'SERVICE',
        enableEcsManagedTags: true,
      },
      // Autoscaling owns the task count after creation.
      { parent: this, dependsOn: [args.loadBalancer.listener], ignoreChanges: ['desiredCount'] },
    );
    this.autoscale(name, args);
    this.registerOutputs({ clusterName: this.cluster.name, serviceName: this.service.name });
  }

  private autoscale(name: string, args: GatewayServiceArgs): void {
    const target = new aws.appautoscaling.Target(
      `${name}-scaling`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${this.cluster.name}/${this.service.name}`,
        minCapacity: args.service.minTasks,
        maxCapacity: args.service.maxTasks,
      },
      { parent: this },
    );
    new aws.appautoscaling.Policy(
      `${name}-requests-per-task`,
      {
        policyType: 'TargetTrackingScaling',
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: args.service.requestsPerTaskPerMinute,
          scaleOutCooldown: 60,
          scaleInCooldown: 300,
          customizedMetricSpecification: {
            metrics: [
              {
                id: 'requests',
                returnData: false,
                metricStat: {
                  stat: 'Sum',
                  metric: { namespace: REQUEST_METRIC.namespace, metricName: REQUEST_METRIC.name, dimensions: [{ name: REQUEST_METRIC.serviceDimension, value: this.serviceName }] },
                },
              },
              {
                id: 'tasks',
                returnData: false,
                metricStat: {
                  stat: 'Average',
                  metric: {
                    namespace: 'ECS/ContainerInsights',
                    metricName: 'RunningTaskCount',
                    dimensions: [
                      { name: 'ClusterName', value: this.cluster.name },
                      { name: 'ServiceName', value: this.serviceName },
                    ],
                  },
                },
              },
              { id: 'requestsPerTask', label: 'requests per task per minute', expression: 'requests / tasks', returnData: true },
            ],
          },
        },
      },
      { parent: this },
    );
  }
}
