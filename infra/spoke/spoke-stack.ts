/**
 * One spoke account: its VPC and Transit Gateway attachment, the internal NLB with fixed
 * addresses, the shared-state cache, the runtime config parameter, the runtime on
 * Fargate, the metrics link to the hub, and (through the hub-account provider) its own
 * registration and alarms in the hub. Everything hub-side it needs comes from the hub
 * stack's outputs through a StackReference.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SpokeConfig } from '../config-schema';
import { EncryptionKey } from '../lib/encryption-key';
import { HubReference } from '../lib/hub-exports';
import { partitionOf, type PolicyStatement } from '../lib/iam';
import { METRICS_NAMESPACE, runtimeServiceName } from '../lib/metrics';
import { SPOKE_ACCOUNT_TAG, SPOKE_ALARM_PREFIX, spokeExecutionRoleName } from '../lib/naming';
import { Network } from '../lib/network';
import { RuntimeAlarms } from '../lib/runtime-alarms';
import { RuntimeConfigParameter, validatedConfigJson } from '../lib/runtime-config-parameter';
import { StateCache } from '../lib/state-cache';
import { VpcEndpoints } from '../lib/vpc-endpoints';
import { BEDROCK_COUNT_ACTION, BEDROCK_INVOKE_ACTIONS, bedrockCountResources, bedrockInvokeResources } from './bedrock-access';
import { GatewayService, taskSecurityGroup } from './gateway-service';
import { HubRegistration } from './hub-registration';
import { SpokeLoadBalancer } from './load-balancer';
import { renderSpokeRuntimeConfig, secretEnvs } from './runtime-config';
import { TransitAttachment } from './transit-attachment';
import { interfaceEndpointServices } from './vpc-endpoints';

/** Namespaces a spoke shares with the hub (its dashboard and alarms); logs stay in the spoke. */
export const SHARED_METRIC_NAMESPACES = [METRICS_NAMESPACE, 'ECS/ContainerInsights', 'AWS/ElastiCache'] as const;

export interface SpokeStackArgs {
  stack: string;
  config: SpokeConfig;
  /** The hub stack's outputs (index.ts has checked this spoke against its registry). */
  hubRef: pulumi.StackReference;
  /** Tags on every resource (the hub-account provider adds the spoke's account tag). */
  defaultTags: aws.types.input.ProviderDefaultTags;
}

export interface SpokeExports {
  spokeVpcId: pulumi.Output<string>;
  spokeVpcCidr: string;
  spokeNlbIps: string[];
  transitGatewayAttachmentId: pulumi.Output<string>;
  clusterName: pulumi.Output<string>;
  serviceName: pulumi.Output<string>;
  taskRoleArn: pulumi.Output<string>;
  spokeRecordName: pulumi.Output<string>;
  providerKind: string;
  /** The runtime's `Service` metric dimension. */
  metricsService: string;
  runtimeConfigParameterName: string;
  /** `state.redis` of the tasks (no credentials). */
  stateRedisUrl: pulumi.Output<string>;
}

export class SpokeStack extends pulumi.ComponentResource {
  readonly exports: SpokeExports;

  constructor(name: string, args: SpokeStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:spoke:SpokeStack', name, {}, opts);
    const parent = { parent: this };
    const { config: cfg, stack } = args;
    const { id: accountId, region } = cfg.account;
    const partition = partitionOf(region);
    const hub = new HubReference(args.hubRef);
    const hubProvider = registrarProvider(stack, cfg, hub, args.defaultTags, this);

    const network = new Network(name, cfg.network, parent);
    const kms = new EncryptionKey(
      `${name}-kms`,
      { accountId, region, partition, users: ['logs'], description: `ai-gateway ${stack}: logs, runtime config, shared state`, aliasName: `ai-gateway/${stack}` },
      parent,
    );
    new VpcEndpoints(`${name}-endpoints`, { network, region, services: interfaceEndpointServices(cfg.provider.kind), s3Gateway: true }, parent);
    const onPremCidr = cfg.provider.kind === 'on-prem' ? cfg.hub.onPremCidr : undefined;
    const transit = new TransitAttachment(
      `${name}-transit`,
      { network, hub, acceptRamShare: cfg.hub.acceptRamShare, destinations: onPremCidr ? [cfg.hub.cidr, onPremCidr] : [cfg.hub.cidr] },
      parent,
    );
    const loadBalancer = new SpokeLoadBalancer(`${name}-lb`, { network, hubCidr: cfg.hub.cidr }, parent);
    const securityGroup = taskSecurityGroup(
      `${name}-gateway-task`,
      { network, loadBalancer, extraEgress: cfg.provider.kind === 'on-prem' && onPremCidr ? [onPremEgress(cfg.provider.url, onPremCidr)] : [] },
      parent,
    );
    const state = new StateCache(`${name}-state`, { stack, network, cache: cfg.cache, clientSecurityGroupId: securityGroup.id, kmsKeyArn: kms.key.arn, purpose: 'the spoke tasks' }, parent);

    // Validated here too: a config the runtime would reject fails the deploy, not the tasks.
    const configJson = state.url.apply((url) => validatedConfigJson(renderSpokeRuntimeConfig(cfg, stack, url), `stack ${stack}`));
    const configParameter = new RuntimeConfigParameter(`${name}-config`, { stack, configJson, kmsKeyArn: kms.key.arn, region }, parent);
    const envs = secretEnvs(cfg);
    const metricsService = runtimeServiceName(stack);
    const service = new GatewayService(
      `${name}-gateway`,
      {
        serviceName: metricsService,
        executionRoleName: spokeExecutionRoleName(stack),
        network,
        service: cfg.service,
        loadBalancer,
        securityGroup,
        kmsKey: kms.key,
        configParameter,
        stateAuthSecretArn: state.authSecret.arn,
        taskStatements: taskStatements(cfg, accountId, partition),
        secrets: envs.map((env) => ({ env, arn: hub.entry('thirdPartySecretArns', env.secret) })),
        hubKmsKeyArn: hub.get('kmsKeyArn'),
        accountId,
        region,
        partition,
      },
      parent,
    );
    // The hub's dashboard and alarms read this spoke's metrics through CloudWatch cross-account observability.
    const metricsLink = new aws.oam.Link(
      `${name}-metrics-link`,
      {
        sinkIdentifier: hub.get('observabilitySinkArn'),
        labelTemplate: '$AccountName',
        resourceTypes: ['AWS::CloudWatch::Metric'],
        linkConfiguration: { metricConfiguration: { filter: `Namespace IN (${SHARED_METRIC_NAMESPACES.map((n) => `'${n}'`).join(', ')})` } },
      },
      parent,
    );
    // Named `<stack>-hub`: its resources live in the hub account.
    const registration = new HubRegistration(
      `${name}-hub`,
      {
        stack,
        kind: cfg.provider.kind,
        hub,
        hubRegion: cfg.hub.region,
        attachment: transit.attachment,
        ips: loadBalancer.ips,
        weight: cfg.registration.weight,
        hubPort: cfg.registration.hubPort,
      },
      { parent: this, providers: [hubProvider] },
    );

    // In the hub account, named like its health alarm (the registrar role may write only those).
    new RuntimeAlarms(
      `${name}-hub-alarms`,
      { service: metricsService, namePrefix: `${SPOKE_ALARM_PREFIX}${stack}`, thresholds: cfg.alarms, topicArn: hub.get('alarmTopicArn'), metricsAccountId: accountId },
      { parent: this, providers: [hubProvider], dependsOn: [metricsLink] },
    );

    this.exports = {
      spokeVpcId: network.vpc.id,
      spokeVpcCidr: cfg.network.cidr,
      spokeNlbIps: loadBalancer.ips,
      transitGatewayAttachmentId: transit.attachment.id,
      clusterName: service.cluster.name,
      serviceName: service.service.name,
      taskRoleArn: service.taskRole.arn,
      spokeRecordName: registration.recordName,
      providerKind: cfg.provider.kind,
      metricsService,
      runtimeConfigParameterName: configParameter.name,
      stateRedisUrl: state.url,
    };
    this.registerOutputs(this.exports);
  }
}

function taskStatements(cfg: SpokeConfig, accountId: string, partition: string): PolicyStatement[] {
  if (cfg.provider.kind !== 'bedrock') return [];
  return [
    { Sid: 'InvokeConfiguredModels', Effect: 'Allow', Action: [...BEDROCK_INVOKE_ACTIONS], Resource: bedrockInvokeResources(cfg.provider, accountId, partition) },
    // POST /v1/messages/count_tokens on a Claude target calls CountTokens, which InvokeModel does not cover.
    { Sid: 'CountTokensOfConfiguredModels', Effect: 'Allow', Action: BEDROCK_COUNT_ACTION, Resource: bedrockCountResources(cfg.provider, partition) },
  ];
}

function onPremEgress(url: string, cidr: string): aws.types.input.ec2.SecurityGroupEgress {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return { description: 'on-prem model server over the VPN', protocol: 'tcp', fromPort: port, toPort: port, cidrBlocks: [cidr] };
}

/**
 * The hub-account provider: from the spoke's deploy role, the hub's registrar role with
 * its external id, the session tagged with this spoke's account (the registrar lets a
 * session change only what carries its account's tag, which it puts on everything).
 */
function registrarProvider(stack: string, cfg: SpokeConfig, hub: HubReference, defaultTags: aws.types.input.ProviderDefaultTags, parent: pulumi.Resource): aws.Provider {
  const session = `ai-gateway-${stack}`;
  return new aws.Provider(
    'hub-account',
    {
      region: cfg.hub.region as aws.Region,
      allowedAccountIds: [cfg.hub.accountId],
      assumeRoles: [
        { roleArn: cfg.account.deployRoleArn, sessionName: session },
        { roleArn: cfg.hub.roleArn, sessionName: session, externalId: hub.get('spokeRegistrarExternalId'), tags: { [SPOKE_ACCOUNT_TAG]: cfg.account.id } },
      ],
      defaultTags: pulumi.output(defaultTags).apply((d) => ({ tags: { ...d.tags, [SPOKE_ACCOUNT_TAG]: cfg.account.id } })),
    },
    { parent },
  );
}
