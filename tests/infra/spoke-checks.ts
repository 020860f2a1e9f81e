/**
 * What every spoke stack must declare, as checks over one recorded run: used for each
 * Pulumi.spoke-*.yaml on disk and for a spoke added by a new file alone.
 */
import { configSchema } from '../../runtime/src/config/schema';
import type { SpokeConfig } from '../../infra/config';
import { cidrContainsIp } from '../../infra/lib/cidr';
import { renderSpokeRuntimeConfig } from '../../infra/spoke/runtime-config';
import { fakeSecretValue, isSecretInput, ofType, parsedStackConfig, plain, REPO, type RecordedResource, type StackRun } from './pulumi-harness';

/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON */

type Container = { environment: { name: string; value: string }[]; secrets: { name: string; valueFrom: string }[] };
const containerEnv = (c: Container) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
const containerSecrets = (c: Container) => Object.fromEntries(c.secrets.map((e) => [e.name, e.valueFrom]));
/** The ARN AWS gives a parameter (the mocks return the same). */
const parameterArn = (p: RecordedResource, cfg: SpokeConfig) => `arn:aws:ssm:${cfg.account.region}:${cfg.account.id}:parameter${p.inputs.name}`;
const cacheGroup = (run: StackRun) => only(run, 'aws:elasticache/replicationGroup:ReplicationGroup');
const configParameter = (run: StackRun) => only(run, 'aws:ssm/parameter:Parameter');
const stateSecret = (run: StackRun) => only(run, 'aws:secretsmanager/secret:Secret', (s) => s.inputs.name === `ai-gateway/${run.stack}/state-auth-token`);
const kmsKeyArn = (run: StackRun, cfg: SpokeConfig) => `arn:aws:kms:${cfg.account.region}:${cfg.account.id}:key/${only(run, 'aws:kms/key:Key').name}`;
function policyStatements(run: StackRun, name: string): any[] {
  return JSON.parse(only(run, 'aws:iam/rolePolicy:RolePolicy', (p) => p.name === name).inputs.policy).Statement;
}
/** The task's container definition. */
export function taskContainer(run: StackRun): Container & Record<string, any> {
  return JSON.parse(ofType(run, 'aws:ecs/taskDefinition:TaskDefinition')[0].inputs.containerDefinitions)[0];
}

export function spokeConfig(stack: string, dir = REPO): SpokeConfig {
  const parsed = parsedStackConfig(stack, dir);
  if (parsed.kind !== 'spoke') throw new Error(`${stack} is not a spoke`);
  return parsed.config;
}

function only(run: StackRun, type: string, filter: (r: RecordedResource) => boolean = () => true): RecordedResource {
  const found = ofType(run, type).filter(filter);
  expect(found.map((r) => r.name)).toHaveLength(1);
  return found[0];
}

/** The spoke's registration in the hub: the `<stack>-hub` component's resources. */
const isRegistration = (run: StackRun) => (r: RecordedResource) => r.type.startsWith('aws:') && r.name.startsWith(`${run.stack}-hub-`);
const id = (r: RecordedResource) => `${r.name}-id`;
const privateSubnets = (run: StackRun) => ofType(run, 'aws:ec2/subnet:Subnet').filter((s) => s.name.includes('-private-'));
const privateRouteTables = (run: StackRun) => ofType(run, 'aws:ec2/routeTable:RouteTable').filter((s) => s.name.includes('-private-'));

type Hub = Record<string, any>;

export const spokeChecks: Record<string, (run: StackRun, cfg: SpokeConfig, hub: Hub) => void> = {
  'spoke resources use the spoke account; its hub registration uses the hub-account provider'(run, cfg, hub) {
    const aws = run.resources.filter((r) => r.type.startsWith('aws:'));
    const inHub = aws.filter(isRegistration(run));
    expect(inHub.length).toBeGreaterThanOrEqual(8);
    expect(inHub.filter((r) => r.provider !== 'hub-account').map((r) => r.name)).toEqual([]);
    expect(aws.filter((r) => !isRegistration(run)(r) && r.provider !== 'spoke-account').map((r) => r.name)).toEqual([]);
    expect(run.calls.filter((c) => c.provider !== 'spoke-account')).toEqual([]);
    const spokeProvider = only(run, 'pulumi:providers:aws', (p) => p.name === 'spoke-account');
    expect(JSON.parse(spokeProvider.inputs.allowedAccountIds)).toEqual([cfg.account.id]);
    const hubProvider = only(run, 'pulumi:providers:aws', (p) => p.name === 'hub-account');
    expect(JSON.parse(hubProvider.inputs.allowedAccountIds)).toEqual([cfg.hub.accountId]);
    // From the spoke's deploy role (the principal the hub trusts), the registrar with the hub's external id and a session tag of its account.
    expect(JSON.parse(hubProvider.inputs.assumeRoles)).toEqual([
      { roleArn: cfg.account.deployRoleArn, sessionName: `ai-gateway-${run.stack}` },
      { roleArn: cfg.hub.roleArn, sessionName: `ai-gateway-${run.stack}`, externalId: hub.spokeRegistrarExternalId, tags: { 'ai-gateway:spoke-account': cfg.account.id } },
    ]);
    expect(JSON.parse(hubProvider.inputs.defaultTags).tags['ai-gateway:spoke-account']).toBe(cfg.account.id);
    expect(only(run, 'pulumi:pulumi:StackReference').inputs.name).toBe(cfg.hub.stack);
  },

  "load balancer and target group names fit the 32-character limit with Pulumi's 8-character suffix"(run) {
    const named = run.resources.filter((r) => r.type === 'aws:lb/loadBalancer:LoadBalancer' || r.type === 'aws:lb/targetGroup:TargetGroup');
    expect(named.length).toBeGreaterThanOrEqual(3);
    named.forEach((r) => expect(`${r.name}-1234567`.length).toBeLessThanOrEqual(32));
  },

  'its VPC has the configured CIDR, private subnets in each AZ, and attaches to the hub Transit Gateway'(run, cfg, hub) {
    expect(only(run, 'aws:ec2/vpc:Vpc').inputs.cidrBlock).toBe(cfg.network.cidr);
    expect(privateSubnets(run)).toHaveLength(cfg.network.azCount);
    const attachment = only(run, 'aws:ec2transitgateway/vpcAttachment:VpcAttachment');
    expect(attachment.inputs.transitGatewayId).toBe(hub.transitGatewayId);
    expect([...attachment.inputs.subnetIds].sort()).toEqual(privateSubnets(run).map(id).sort());
    const accepters = ofType(run, 'aws:ram/resourceShareAccepter:ResourceShareAccepter');
    expect(accepters.map((a) => a.inputs.shareArn)).toEqual(cfg.hub.acceptRamShare ? [hub.ramShareArn] : []);
  },

  'every private route table sends the hub VPC (and on-prem, for an on-prem spoke) to the Transit Gateway'(run, cfg, hub) {
    const destinations = cfg.provider.kind === 'on-prem' ? [cfg.hub.cidr, cfg.hub.onPremCidr] : [cfg.hub.cidr];
    const tgwRoutes = ofType(run, 'aws:ec2/route:Route').filter((r) => r.inputs.transitGatewayId);
    for (const table of privateRouteTables(run)) {
      const mine = tgwRoutes.filter((r) => r.inputs.routeTableId === id(table));
      expect(mine.map((r) => r.inputs.destinationCidrBlock).sort()).toEqual([...destinations].sort());
      mine.forEach((r) => expect(r.inputs.transitGatewayId).toBe(hub.transitGatewayId));
    }
  },

  'an internal NLB with a fixed private IP in each subnet, /healthz checks every 5 s'(run) {
    const nlb = only(run, 'aws:lb/loadBalancer:LoadBalancer');
    expect(nlb.inputs).toMatchObject({ internal: true, loadBalancerType: 'network' });
    const subnets = privateSubnets(run);
    expect(nlb.inputs.subnetMappings).toHaveLength(subnets.length);
    for (const mapping of nlb.inputs.subnetMappings) {
      const subnet = subnets.find((s) => id(s) === mapping.subnetId);
      expect(cidrContainsIp(subnet?.inputs.cidrBlock, mapping.privateIpv4Address)).toBe(true);
    }
    expect(run.outputs.spokeNlbIps).toEqual(nlb.inputs.subnetMappings.map((m: any) => m.privateIpv4Address));
    const tg = only(run, 'aws:lb/targetGroup:TargetGroup', (t) => !isRegistration(run)(t));
    expect(tg.inputs).toMatchObject({ targetType: 'ip', port: 8080, protocol: 'TCP' });
    expect(tg.inputs.healthCheck).toMatchObject({ protocol: 'HTTP', path: '/healthz', interval: 5, healthyThreshold: 2, unhealthyThreshold: 2 });
    const listener = only(run, 'aws:lb/listener:Listener', (l) => !isRegistration(run)(l));
    expect(listener.inputs).toMatchObject({ port: 8080, protocol: 'TCP', loadBalancerArn: expect.stringContaining(nlb.name) });
  },

  'no security group admits 0.0.0.0/0; the NLB admits the hub VPC only and tasks the NLB only'(run, cfg) {
    const groups = ofType(run, 'aws:ec2/securityGroup:SecurityGroup');
    for (const sg of groups) {
      for (const rule of sg.inputs.ingress ?? []) {
        expect(rule.cidrBlocks ?? []).not.toContain('0.0.0.0/0');
        expect(rule.ipv6CidrBlocks ?? []).not.toContain('::/0');
      }
    }
    const nlbSg = groups.find((g) => g.name.endsWith('-lb-nlb'));
    expect(nlbSg?.inputs.ingress).toEqual([expect.objectContaining({ protocol: 'tcp', fromPort: 8080, toPort: 8080, cidrBlocks: [cfg.hub.cidr] })]);
    const taskSg = groups.find((g) => g.name.endsWith('-gateway-task'));
    expect(taskSg?.inputs.ingress).toEqual([expect.objectContaining({ fromPort: 8080, toPort: 8080, securityGroups: [id(nlbSg as RecordedResource)] })]);
    expect(taskSg?.inputs.ingress[0].cidrBlocks).toBeUndefined();
  },

  'the Fargate task runs the runtime as a spoke with its config rendered from the stack config'(run, cfg) {
    const cluster = only(run, 'aws:ecs/cluster:Cluster');
    expect(cluster.inputs.settings).toEqual([{ name: 'containerInsights', value: 'enabled' }]);
    const task = only(run, 'aws:ecs/taskDefinition:TaskDefinition');
    expect(task.inputs).toMatchObject({ requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: String(cfg.service.cpu), memory: String(cfg.service.memoryMb) });
    const [container] = JSON.parse(task.inputs.containerDefinitions);
    expect(container).toMatchObject({ image: cfg.service.image, user: '1000', readonlyRootFilesystem: true, portMappings: [{ containerPort: 8080, protocol: 'tcp' }] });
    const env = containerEnv(container);
    expect(env.GATEWAY_ROLE).toBe('spoke');
    // The config reaches the task from its SSM parameter (ECS reads it at task start).
    const parameter = only(run, 'aws:ssm/parameter:Parameter');
    expect(containerSecrets(container).GATEWAY_CONFIG_JSON).toBe(parameterArn(parameter, cfg));
    const value = plain<string>(parameter.inputs.value);
    const runtimeConfig = configSchema.parse(JSON.parse(value));
    expect(JSON.parse(value)).toEqual(renderSpokeRuntimeConfig(cfg, run.stack, run.outputs.stateRedisUrl));
    expect(runtimeConfig.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
    expect(runtimeConfig.models.map((m) => m.name).sort()).toEqual(cfg.models.map((m) => m.name).sort());
    expect(runtimeConfig.providers.flatMap((p) => p.accounts.map((a) => a.id))).toEqual(runtimeConfig.providers.map(() => run.stack));
    const logs = only(run, 'aws:cloudwatch/logGroup:LogGroup');
    expect(container.logConfiguration).toMatchObject({ logDriver: 'awslogs', options: { 'awslogs-group': logs.name } });
    expect(logs.inputs.kmsKeyId).toMatch(/^arn:aws:kms:/);
    expect(only(run, 'aws:kms/key:Key').inputs.enableKeyRotation).toBe(true);
  },

  'the service sits in private subnets behind the NLB target group, and autoscaling owns its task count'(run, cfg) {
    const service = only(run, 'aws:ecs/service:Service');
    expect(service.inputs).toMatchObject({ launchType: 'FARGATE', desiredCount: cfg.service.minTasks, name: `ai-gateway-${run.stack}` });
    expect(service.inputs.networkConfiguration.assignPublicIp).toBe(false);
    expect([...service.inputs.networkConfiguration.subnets].sort()).toEqual(privateSubnets(run).map(id).sort());
    const tg = only(run, 'aws:lb/targetGroup:TargetGroup', (t) => !isRegistration(run)(t));
    expect(service.inputs.loadBalancers).toEqual([{ targetGroupArn: expect.stringContaining(`targetgroup/${tg.name}/`), containerName: 'gateway', containerPort: 8080 }]);
    expect(service.ignoreChanges).toEqual(['desiredCount']);
    // The deployment fails unless the tasks reach a steady state (the circuit breaker rolls back a service that cannot start).
    expect(service.inputs).toMatchObject({ waitForSteadyState: true, deploymentCircuitBreaker: { enable: true, rollback: true } });
  },

  'autoscaling tracks requests per task (runtime metric / RunningTaskCount) between min and max tasks'(run, cfg) {
    const target = only(run, 'aws:appautoscaling/target:Target');
    expect(target.inputs).toMatchObject({ serviceNamespace: 'ecs', scalableDimension: 'ecs:service:DesiredCount', minCapacity: cfg.service.minTasks, maxCapacity: cfg.service.maxTasks });
    expect(target.inputs.resourceId).toBe(`service/${run.stack}-gateway-cluster/ai-gateway-${run.stack}`);
    const policy = only(run, 'aws:appautoscaling/policy:Policy');
    expect(policy.inputs.policyType).toBe('TargetTrackingScaling');
    expect(policy.inputs.resourceId).toBe(target.inputs.resourceId);
    const tracking = policy.inputs.targetTrackingScalingPolicyConfiguration;
    expect(tracking.targetValue).toBe(cfg.service.requestsPerTaskPerMinute);
    const metrics = tracking.customizedMetricSpecification.metrics;
    expect(metrics.find((m: any) => m.returnData).expression).toBe('requests / tasks');
    expect(metrics.find((m: any) => m.id === 'tasks').metricStat.metric).toMatchObject({ namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount' });
    expect(metrics.find((m: any) => m.id === 'requests').metricStat.metric.dimensions).toEqual([{ name: 'Service', value: `ai-gateway-${run.stack}` }]);
  },

  'IAM: the task may invoke exactly the configured Bedrock models; no wildcard resource'(run, cfg) {
    const policies = ofType(run, 'aws:iam/rolePolicy:RolePolicy').map((p) => ({ name: p.name, doc: JSON.parse(p.inputs.policy) }));
    const statements = policies.flatMap((p) => p.doc.Statement.map((s: any) => ({ ...s, policy: p.name })));
    const bedrock = statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('bedrock:')));
    if (cfg.provider.kind !== 'bedrock') {
      expect(bedrock).toEqual([]);
      return;
    }
    expect(bedrock).toHaveLength(2);
    const [invoke, count] = bedrock;
    // Converse and ConverseStream are authorized as InvokeModel and InvokeModelWithResponseStream.
    expect([...invoke.Action].sort()).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
    bedrock.forEach((s: any) => expect(s.policy).toBe(`${run.stack}-gateway-task`));
    const resources: string[] = invoke.Resource;
    resources.forEach((arn) => expect(arn).not.toContain('*'));
    // count_tokens on a Claude target calls CountTokens (runtime/src/providers/bedrock/claude-messages.ts): its own action, foundation models only.
    expect(count.Action).toBe('bedrock:CountTokens');
    const { models, regions } = cfg.provider;
    const counted = models.flatMap((m) => regions.map((region) => `arn:aws:bedrock:${region}::foundation-model/${m.id}`));
    expect([...count.Resource].sort()).toEqual([...new Set(counted)].sort());
    for (const model of cfg.provider.models) {
      for (const region of cfg.provider.regions) {
        const arn = model.inferenceProfile
          ? `arn:aws:bedrock:${region}:${cfg.account.id}:inference-profile/${model.inferenceProfile.id}`
          : `arn:aws:bedrock:${region}::foundation-model/${model.id}`;
        expect(resources).toContain(arn);
      }
    }
    const allowed = new Set(cfg.provider.models.flatMap((m) => [m.id, m.inferenceProfile?.id]));
    resources.forEach((arn) => expect(allowed.has(arn.slice(arn.lastIndexOf('/') + 1))).toBe(true));
  },

  'it registers itself in the hub: TGW route tables, hub NLB targets, its listener, alarm, health check and DNS record'(run, cfg, hub) {
    const kind = cfg.provider.kind;
    const attachment = only(run, 'aws:ec2transitgateway/vpcAttachment:VpcAttachment');
    const association = only(run, 'aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation');
    expect(association.inputs).toEqual({ transitGatewayAttachmentId: id(attachment), transitGatewayRouteTableId: hub.transitGatewayRouteTableId });
    const propagation = only(run, 'aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation');
    expect(propagation.inputs).toEqual({ transitGatewayAttachmentId: id(attachment), transitGatewayRouteTableId: hub.transitGatewayHubRouteTableId });

    const ips: string[] = run.outputs.spokeNlbIps;
    const attachments = ofType(run, 'aws:lb/targetGroupAttachment:TargetGroupAttachment');
    const shared = attachments.filter((a) => a.inputs.targetGroupArn === hub.hubNlbTargetGroupArns[kind]);
    expect(shared.map((a) => a.inputs.targetId).sort()).toEqual([...ips].sort());
    shared.forEach((a) => expect(a.inputs).toMatchObject({ port: 8080, availabilityZone: 'all' }));

    const own = only(run, 'aws:lb/targetGroup:TargetGroup', isRegistration(run));
    expect(own.inputs.vpcId).toBe(hub.hubVpcId);
    expect(own.inputs.healthCheck).toMatchObject({ path: '/healthz', interval: 5 });
    expect(
      attachments
        .filter((a) => a.inputs.targetGroupArn.includes(`targetgroup/${own.name}/`))
        .map((a) => a.inputs.targetId)
        .sort(),
    ).toEqual([...ips].sort());
    const listener = only(run, 'aws:lb/listener:Listener', isRegistration(run));
    expect(listener.inputs).toMatchObject({ loadBalancerArn: hub.hubNlbArns[kind], port: cfg.registration.hubPort, protocol: 'TCP' });

    const alarm = only(run, 'aws:cloudwatch/metricAlarm:MetricAlarm', (a) => a.inputs.metricName === 'HealthyHostCount');
    expect(alarm.inputs).toMatchObject({ name: `ai-gateway-spoke-${run.stack}-healthy`, namespace: 'AWS/NetworkELB', metricName: 'HealthyHostCount', period: 60 });
    expect(alarm.inputs.dimensions).toEqual({ LoadBalancer: hub.hubNlbArnSuffixes[kind], TargetGroup: `targetgroup/${own.name}/0123456789abcdef` });
    const check = only(run, 'aws:route53/healthCheck:HealthCheck');
    expect(check.inputs).toMatchObject({ type: 'CLOUDWATCH_METRIC', cloudwatchAlarmName: alarm.inputs.name, cloudwatchAlarmRegion: cfg.hub.region });
    const record = only(run, 'aws:route53/record:Record');
    expect(record.inputs).toMatchObject({
      zoneId: hub.privateZoneId,
      name: `${kind}.spokes.${hub.privateZoneName}`,
      type: 'A',
      ttl: 10,
      setIdentifier: run.stack,
      weightedRoutingPolicies: [{ weight: cfg.registration.weight }],
      healthCheckId: id(check),
    });
    expect([...record.inputs.records].sort()).toEqual([...ips].sort());
    expect(record.inputs.aliases).toBeUndefined();
  },
  'shared state: one Valkey replication group (one shard), Multi-AZ with automatic failover, in the private subnets'(run, cfg) {
    const group = cacheGroup(run);
    expect(group.provider).toBe('spoke-account');
    const nodes = cfg.cache.replicas + 1;
    expect(group.inputs).toMatchObject({
      engine: 'valkey',
      clusterMode: 'disabled',
      port: 6379,
      nodeType: cfg.cache.nodeType,
      numCacheClusters: nodes,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
    });
    expect(nodes).toBeGreaterThanOrEqual(2);
    // Primary and replica never share an AZ while there are AZs to spread over.
    expect(new Set(group.inputs.preferredCacheClusterAzs).size).toBe(Math.min(nodes, cfg.network.azCount));
    const subnetGroup = only(run, 'aws:elasticache/subnetGroup:SubnetGroup');
    expect(group.inputs.subnetGroupName).toBe(subnetGroup.inputs.name);
    expect([...subnetGroup.inputs.subnetIds].sort()).toEqual(privateSubnets(run).map(id).sort());
  },

  'shared state: TLS required, encrypted at rest with the spoke key, AUTH token generated and kept in Secrets Manager only'(run, cfg) {
    const group = cacheGroup(run);
    const keyArn = kmsKeyArn(run, cfg);
    expect(group.inputs).toMatchObject({ transitEncryptionEnabled: true, transitEncryptionMode: 'required', atRestEncryptionEnabled: true, kmsKeyId: keyArn });
    const generator = only(run, 'random:index/randomPassword:RandomPassword');
    expect(generator.inputs.length).toBeGreaterThanOrEqual(32);
    const token = fakeSecretValue(generator.name);
    expect(isSecretInput(group.inputs.authToken) && plain(group.inputs.authToken)).toBe(token);
    const secret = stateSecret(run);
    expect(secret.inputs.kmsKeyId).toBe(keyArn);
    // A fixed name: deleted without a recovery window, so the stack can be destroyed and deployed again.
    expect(secret.inputs.recoveryWindowInDays).toBe(0);
    const version = only(run, 'aws:secretsmanager/secretVersion:SecretVersion');
    expect(version.inputs.secretId).toBe(id(secret));
    expect(isSecretInput(version.inputs.secretString) && plain(version.inputs.secretString)).toBe(token);
    // The token reaches the cache and its secret, nothing else: no environment, config, policy or output.
    const elsewhere = run.resources.filter((r) => r !== group && r !== version && JSON.stringify(r.inputs).includes(token));
    expect(elsewhere.map((r) => r.name)).toEqual([]);
    expect(JSON.stringify(run.outputs)).not.toContain(token);
  },

  'shared state: port 6379 admits the task security group only, and the tasks may reach it'(run) {
    const groups = ofType(run, 'aws:ec2/securityGroup:SecurityGroup');
    const taskSg = groups.find((g) => g.name.endsWith('-gateway-task')) as RecordedResource;
    const cacheSgs = groups.filter((g) => cacheGroup(run).inputs.securityGroupIds.includes(id(g)));
    expect(cacheSgs).toHaveLength(1);
    const [cacheSg] = cacheSgs;
    expect(cacheSg.inputs.ingress).toEqual([expect.objectContaining({ protocol: 'tcp', fromPort: 6379, toPort: 6379, securityGroups: [id(taskSg)] })]);
    expect(cacheSg.inputs.ingress[0].cidrBlocks).toBeUndefined();
    expect(cacheSg.inputs.egress).toEqual([]);
    // No other group opens 6379, and no standalone rule widens any group.
    for (const g of groups.filter((other) => other !== cacheSg)) {
      for (const rule of g.inputs.ingress ?? []) expect(rule.fromPort <= 6379 && rule.toPort >= 6379).toBe(false);
    }
    expect(run.resources.filter((r) => /securityGroupIngressRule|securityGroupRule/.test(r.type)).map((r) => r.name)).toEqual([]);
    expect(taskSg.inputs.egress).toContainEqual(expect.objectContaining({ protocol: 'tcp', fromPort: 6379, toPort: 6379, cidrBlocks: privateSubnets(run).map((s) => s.inputs.cidrBlock) }));
  },

  'shared state: the tasks get state.redis (rediss://, no credentials) in their config and the token from Secrets Manager at start'(run, cfg) {
    const group = cacheGroup(run);
    const config = JSON.parse(plain<string>(configParameter(run).inputs.value));
    expect(config.state).toEqual({ redis: `rediss://master.${group.inputs.replicationGroupId}.abc123.use1.cache.amazonaws.com:6379` });
    expect(new URL(config.state.redis).password).toBe('');
    expect(run.outputs.stateRedisUrl).toBe(config.state.redis);
    const container = taskContainer(run);
    const secretArn = `arn:aws:secretsmanager:${cfg.account.region}:${cfg.account.id}:secret:${stateSecret(run).inputs.name}-AbCdEf`;
    expect(containerSecrets(container).GATEWAY_REDIS_AUTH_TOKEN).toBe(secretArn);
    expect(containerEnv(container).GATEWAY_REDIS_AUTH_TOKEN).toBeUndefined();
    const execution = policyStatements(run, `${run.stack}-gateway-execution`);
    expect(execution.find((st) => st.Action === 'secretsmanager:GetSecretValue')?.Resource).toContain(secretArn);
    expect(execution).toContainEqual(
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Resource: kmsKeyArn(run, cfg),
        Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${cfg.account.region}.amazonaws.com` } },
      }),
    );
  },

  'runtime config: a SecureString parameter under the spoke key, its name in the task environment, reachable without NAT'(run, cfg) {
    const parameter = configParameter(run);
    const value = plain<string>(parameter.inputs.value);
    expect(isSecretInput(parameter.inputs.value)).toBe(true);
    expect(parameter.inputs).toMatchObject({ name: `/ai-gateway/${run.stack}/runtime-config`, type: 'SecureString', keyId: kmsKeyArn(run, cfg) });
    expect(parameter.inputs.tier).toBe(Buffer.byteLength(value) > 4096 ? 'Advanced' : 'Standard');
    const env = containerEnv(taskContainer(run));
    expect(env.GATEWAY_CONFIG_SSM_PARAMETER).toBe(parameter.inputs.name);
    expect(Number(env.GATEWAY_CONFIG_POLL_SECONDS)).toBeGreaterThan(0);
    expect(run.outputs.runtimeConfigParameterName).toBe(parameter.inputs.name);
    const endpoints = ofType(run, 'aws:ec2/vpcEndpoint:VpcEndpoint').map((e) => e.inputs.serviceName);
    for (const service of ['ssm', 'secretsmanager']) expect(endpoints).toContain(`com.amazonaws.${cfg.account.region}.${service}`);
  },

  'runtime config IAM: the task role may read exactly that parameter, and decrypt it only through SSM; ECS may inject it'(run, cfg) {
    const arn = `arn:aws:ssm:${cfg.account.region}:${cfg.account.id}:parameter${configParameter(run).inputs.name}`;
    const viaSsm = { StringEquals: { 'kms:ViaService': `ssm.${cfg.account.region}.amazonaws.com`, 'kms:EncryptionContext:PARAMETER_ARN': arn } };
    const ssmOf = (statements: any[]) => statements.filter((st) => [st.Action].flat().some((a: string) => a.startsWith('ssm:')));
    const task = policyStatements(run, `${run.stack}-gateway-task`);
    expect(ssmOf(task)).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: arn })]);
    expect(task).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: kmsKeyArn(run, cfg), Condition: viaSsm }));
    const execution = policyStatements(run, `${run.stack}-gateway-execution`);
    expect(ssmOf(execution)).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'ssm:GetParameters', Resource: arn })]);
    expect(execution).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: kmsKeyArn(run, cfg), Condition: viaSsm }));
  },

  'metrics: the tasks name their namespace and service, and the spoke links its metrics (not its logs) to the hub sink'(run, cfg, hub) {
    const env = containerEnv(taskContainer(run));
    expect(env.GATEWAY_METRICS_NAMESPACE).toBe('AIGateway');
    expect(env.GATEWAY_METRICS_SERVICE).toBe(`ai-gateway-${run.stack}`);
    const link = only(run, 'aws:oam/link:Link');
    expect(link.provider).toBe('spoke-account');
    expect(link.inputs).toMatchObject({ sinkIdentifier: hub.observabilitySinkArn, resourceTypes: ['AWS::CloudWatch::Metric'] });
    expect(link.inputs.linkConfiguration.metricConfiguration.filter).toContain(`'AIGateway'`);
    expect(hub.observabilitySinkArn).toMatch(/^arn:aws:oam:/);
    expect(cfg.account.id).not.toBe(cfg.hub.accountId);
  },

  'metrics: alarms in the hub account on its error rate, failover rate, p99 latency and p99 time to first token'(run, cfg, hub) {
    const service = `ai-gateway-${run.stack}`;
    const alarms = ofType(run, 'aws:cloudwatch/metricAlarm:MetricAlarm').filter((a) => a.inputs.metricQueries);
    const named = (what: string) => alarms.find((a) => a.inputs.name === `ai-gateway-spoke-${run.stack}-${what}`) as RecordedResource;
    expect(alarms.map((a) => a.inputs.name).sort()).toEqual(['error-rate', 'failover-rate', 'latency-p99', 'ttft-p99'].map((w) => `ai-gateway-spoke-${run.stack}-${w}`));
    for (const alarm of alarms) {
      expect(alarm.provider).toBe('hub-account');
      expect(alarm.inputs.alarmActions).toEqual([hub.alarmTopicArn]);
      const metrics = alarm.inputs.metricQueries.filter((q: any) => q.metric);
      // Read from the spoke account, through the link.
      metrics.forEach((q: any) => expect(q).toMatchObject({ accountId: cfg.account.id, metric: { namespace: 'AIGateway', dimensions: { Service: service }, period: 60 } }));
      expect(alarm.inputs.metricQueries.filter((q: any) => q.returnData)).toHaveLength(1);
    }
    const metricNames = (a: RecordedResource) => a.inputs.metricQueries.filter((q: any) => q.metric).map((q: any) => `${q.metric.metricName}:${q.metric.stat}`);
    expect(metricNames(named('error-rate'))).toEqual(['Requests:Sum', 'Errors:Sum']);
    expect(named('error-rate').inputs.threshold).toBe(cfg.alarms.errorRatePercent);
    expect(named('error-rate').inputs.metricQueries.find((q: any) => q.returnData).expression).toBe(
      `IF(requests >= ${cfg.alarms.minRequestsPerMinute}, 100 * FILL(errors, 0) / requests, 0)`,
    );
    expect(metricNames(named('failover-rate'))).toEqual(['Requests:Sum', 'Failovers:Sum']);
    expect(named('failover-rate').inputs.threshold).toBe(cfg.alarms.failoverRatePercent);
    expect(metricNames(named('latency-p99'))).toEqual(['LatencyMs:p99']);
    expect(named('latency-p99').inputs.threshold).toBe(cfg.alarms.latencyP99Ms);
    expect(metricNames(named('ttft-p99'))).toEqual(['TtftMs:p99']);
    expect(named('ttft-p99').inputs.threshold).toBe(cfg.alarms.ttftP99Ms);
  },

  'what holds a fixed name, address or port (NLB, service, hub listener and record, parameter, cache) is deleted before its replacement'(run) {
    for (const type of [
      'aws:lb/loadBalancer:LoadBalancer',
      'aws:ecs/service:Service',
      'aws:route53/record:Record',
      'aws:ssm/parameter:Parameter',
      'aws:elasticache/replicationGroup:ReplicationGroup',
    ]) {
      const found = ofType(run, type);
      expect(found.length).toBeGreaterThan(0);
      expect(found.filter((r) => !r.deleteBeforeReplace).map((r) => r.name)).toEqual([]);
    }
    expect(only(run, 'aws:lb/listener:Listener', isRegistration(run)).deleteBeforeReplace).toBe(true);
    const nlb = only(run, 'aws:lb/loadBalancer:LoadBalancer');
    const reservations = ofType(run, 'aws:ec2/subnetCidrReservation:SubnetCidrReservation');
    for (const mapping of nlb.inputs.subnetMappings) {
      expect(
        reservations.some((r) => r.inputs.subnetId === mapping.subnetId && r.inputs.reservationType === 'explicit' && cidrContainsIp(r.inputs.cidrBlock, mapping.privateIpv4Address)),
      ).toBe(true);
    }
  },
};
