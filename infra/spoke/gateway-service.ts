/**
 * The spoke runtime on Fargate: cluster with Container Insights, the task (role `spoke`,
 * config from its SSM parameter, the shared-state token and third-party keys from Secrets
 * Manager, logs to a KMS-encrypted group), the service behind the spoke NLB, and
 * autoscaling that tracks requests per task.
 *
 * An NLB publishes no request count (ALBRequestCountPerTarget is ALB only), so the policy
 * tracks a metric math expression: the runtime's own request metric (CloudWatch embedded
 * metric format in its logs) divided by Container Insights' RunningTaskCount.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SpokeConfig } from '../config-schema';
import { policyJson, serviceTrustPolicy, type PolicyStatement } from '../lib/iam';
import { CONFIG_POLL_SECONDS, METRICS_NAMESPACE, metricsEnvironment, RUNTIME_ENV, RUNTIME_METRICS, SERVICE_DIMENSION } from '../lib/metrics';
import { SPOKE_PORT } from '../lib/naming';
import type { Network } from '../lib/network';
import type { RuntimeConfigParameter } from '../lib/runtime-config-parameter';
import { REDIS_PORT } from '../lib/state-cache';
import type { SpokeLoadBalancer } from './load-balancer';
import type { SecretEnv } from './runtime-config';

/** The runtime's request metric (see docs/infra.md, "Autoscaling"). */
export const REQUEST_METRIC = { namespace: METRICS_NAMESPACE, name: RUNTIME_METRICS.requests, serviceDimension: SERVICE_DIMENSION } as const;
export const CONTAINER_NAME = 'gateway';

export interface TaskSecurityGroupArgs {
  network: Network;
  loadBalancer: SpokeLoadBalancer;
  /** Egress beyond HTTPS and the shared-state cache, e.g. the on-prem model server. */
  extraEgress: aws.types.input.ec2.SecurityGroupEgress[];
}

/**
 * The tasks' security group, made before the service: the shared-state cache admits this
 * group alone, and the service's config needs the cache's address.
 */
export function taskSecurityGroup(name: string, args: TaskSecurityGroupArgs, opts?: pulumi.CustomResourceOptions): aws.ec2.SecurityGroup {
  const { network } = args;
  return new aws.ec2.SecurityGroup(
    name,
    {
      vpcId: network.vpc.id,
      description: 'ai-gateway spoke tasks: the spoke NLB only',
      ingress: [{ description: 'spoke NLB (traffic and /healthz checks)', protocol: 'tcp', fromPort: SPOKE_PORT, toPort: SPOKE_PORT, securityGroups: [args.loadBalancer.securityGroup.id] }],
      egress: [
        { description: 'HTTPS: providers, VPC endpoints', protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] },
        { description: 'shared-state cache (private subnets)', protocol: 'tcp', fromPort: REDIS_PORT, toPort: REDIS_PORT, cidrBlocks: network.privateSubnetCidrs },
        ...args.extraEgress,
      ],
      tags: { Name: name },
    },
    opts,
  );
}

export interface GatewayServiceArgs {
  /** The `Service` dimension of its metrics, and the ECS service name. */
  serviceName: string;
  /** A fixed name: the hub grants its keys and image to exactly this role (lib/naming). */
  executionRoleName: string;
  network: Network;
  service: SpokeConfig['service'];
  loadBalancer: SpokeLoadBalancer;
  securityGroup: aws.ec2.SecurityGroup;
  /** The spoke's key: logs, the runtime config, the shared-state token. */
  kmsKey: aws.kms.Key;
  /** The runtime config: GATEWAY_CONFIG_JSON at task start, then polled. */
  configParameter: RuntimeConfigParameter;
  /** The shared-state cache's AUTH token (GATEWAY_REDIS_AUTH_TOKEN). */
  stateAuthSecretArn: pulumi.Input<string>;
  /** What the task role may do beyond reading its config (Bedrock invoke on the configured models). */
  taskStatements: PolicyStatement[];
  /** Environment variables ECS fills from hub secrets at task start. */
  secrets: { env: SecretEnv; arn: pulumi.Output<string> }[];
  /** The hub key that encrypts those secrets (and the image). */
  hubKmsKeyArn: pulumi.Output<string>;
  accountId: string;
  region: string;
  partition: string;
}

export class GatewayService extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly service: aws.ecs.Service;
  readonly taskRole: aws.iam.Role;
  readonly executionRole: aws.iam.Role;
  readonly serviceName: string;

  constructor(name: string, args: GatewayServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:GatewayService', name, {}, opts);
    const parent = { parent: this };
    const { network, partition, accountId, region } = args;
    // A fixed name: the autoscaling metric and the runtime's metric dimension both use it.
    this.serviceName = args.serviceName;

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: 30, kmsKeyId: args.kmsKey.arn }, parent);
    this.cluster = new aws.ecs.Cluster(`${name}-cluster`, { settings: [{ name: 'containerInsights', value: 'enabled' }] }, parent);

    const ecsTrust = serviceTrustPolicy('ecs-tasks.amazonaws.com', { StringEquals: { 'aws:SourceAccount': accountId } });
    this.executionRole = new aws.iam.Role(`${name}-execution`, { name: args.executionRoleName, assumeRolePolicy: ecsTrust }, parent);
    new aws.iam.RolePolicyAttachment(
      `${name}-execution`,
      { role: this.executionRole.name, policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy` },
      parent,
    );
    const viaSecretsManager = `secretsmanager.${region}.amazonaws.com`;
    const executionStatements: PolicyStatement[] = [
      // The runtime image sits in the hub's KMS-encrypted ECR repository; third-party keys in its secrets.
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: args.hubKmsKeyArn, Condition: { StringEquals: { 'kms:ViaService': [`ecr.${region}.amazonaws.com`, viaSecretsManager] } } },
      { Sid: 'InjectSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [...args.secrets.map((s) => s.arn), args.stateAuthSecretArn] },
      { Sid: 'DecryptStateToken', Effect: 'Allow', Action: 'kms:Decrypt', Resource: args.kmsKey.arn, Condition: { StringEquals: { 'kms:ViaService': viaSecretsManager } } },
      ...args.configParameter.injectStatements(),
    ];
    new aws.iam.RolePolicy(`${name}-execution`, { role: this.executionRole.id, policy: policyJson(executionStatements) }, parent);

    this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy: ecsTrust }, parent);
    new aws.iam.RolePolicy(`${name}-task`, { role: this.taskRole.id, policy: policyJson([...args.taskStatements, ...args.configParameter.readStatements()]) }, parent);

    const environment: Record<string, string> = {
      [RUNTIME_ENV.role]: 'spoke',
      PORT: String(SPOKE_PORT),
      HOST: '0.0.0.0',
      [RUNTIME_ENV.configParameter]: args.configParameter.name,
      [RUNTIME_ENV.configPollSeconds]: String(CONFIG_POLL_SECONDS),
      ...metricsEnvironment(this.serviceName),
    };
    const container = {
      name: CONTAINER_NAME,
      image: args.service.image,
      essential: true,
      // The image's USER; the root filesystem stays read-only.
      user: '1000',
      readonlyRootFilesystem: true,
      portMappings: [{ containerPort: SPOKE_PORT, protocol: 'tcp' }],
      environment: Object.entries(environment).map(([name, value]) => ({ name, value })),
      // Read by ECS at task start: a config change needs no new task definition.
      secrets: [
        { name: RUNTIME_ENV.configJson, valueFrom: args.configParameter.parameter.arn },
        { name: RUNTIME_ENV.redisAuthToken, valueFrom: args.stateAuthSecretArn },
        ...args.secrets.map((s) => ({ name: s.env.name, valueFrom: s.arn })),
      ],
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
        executionRoleArn: this.executionRole.arn,
        taskRoleArn: this.taskRole.arn,
        containerDefinitions: pulumi.jsonStringify([container]),
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
        networkConfiguration: { subnets: network.privateSubnets.map((s) => s.id), securityGroups: [args.securityGroup.id], assignPublicIp: false },
        loadBalancers: [{ targetGroupArn: args.loadBalancer.targetGroup.arn, containerName: CONTAINER_NAME, containerPort: SPOKE_PORT }],
        healthCheckGracePeriodSeconds: 30,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        // The update succeeds only once the tasks run and pass their checks (a rollback fails it): no green deploy that serves nothing.
        waitForSteadyState: true,
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        propagateTags: 'SERVICE',
        enableEcsManagedTags: true,
      },
      // Autoscaling owns the task count after creation.
      // A fixed name (the metric dimension): a replacement must delete the old service first.
      { parent: this, dependsOn: [args.loadBalancer.listener], ignoreChanges: ['desiredCount'], deleteBeforeReplace: true },
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
