/**
 * The hub account: network, Transit Gateway (shared with the spokes, VPN to on-prem),
 * one provider hub per kind behind the private zone, the Lambda proxy behind API
 * Gateway with its shared-state cache and its config parameter, secrets, the image
 * registry, the role spokes register through, monitoring (with the sink the spokes'
 * metrics arrive in) and CloudTrail. Its outputs are what spoke stacks read
 * (lib/hub-exports).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { HubConfig, ProviderKind } from '../config-schema';
import { NLB_SLOTS } from '../lib/address-plan';
import { bundleLambda } from '../lib/bundle';
import { EncryptionKey } from '../lib/encryption-key';
import { modelPriceBounds, type HubExportsInput } from '../lib/hub-exports';
import { partitionOf } from '../lib/iam';
import { runtimeServiceName } from '../lib/metrics';
import { Network } from '../lib/network';
import { RuntimeConfigParameter, validatedConfigJson } from '../lib/runtime-config-parameter';
import { StateCache } from '../lib/state-cache';
import { VpcEndpoints } from '../lib/vpc-endpoints';
import { AuditTrail } from './audit-trail';
import { GatewayApi } from './gateway-api';
import { ImageRegistry } from './image-registry';
import { Monitoring } from './monitoring';
import { ObservabilitySink } from './observability-sink';
import { ProviderHub } from './provider-hub';
import { renderProxyConfig } from './proxy-config';
import { PROXY_ALIAS, ProxyFunction, proxySecurityGroup } from './proxy-function';
import { SpokeRegistrar } from './spoke-registrar';
import { ThirdPartySecrets } from './third-party-secrets';
import { HubTransit } from './transit';
import { HUB_ENDPOINT_SERVICES } from '../spoke/vpc-endpoints';

// Config polling and the cache token: the proxy's interface endpoints (spoke/vpc-endpoints, beside the spokes').
export { HUB_ENDPOINT_SERVICES };

export interface HubStackArgs {
  /** The Pulumi stack name (`hub`): names the proxy's parameter, cache and metrics service. */
  stack: string;
  config: HubConfig;
  /** Third-party API keys from secret config, by vendor name. */
  apiKeys: Record<string, pulumi.Output<string>>;
  /** Path of runtime/src/lambda.ts, bundled into the proxy. */
  lambdaEntry: string;
  /** The repository root and runtime/Dockerfile, for the opt-in image build. */
  image: { context: string; dockerfile: string };
}

export class HubStack extends pulumi.ComponentResource {
  readonly exports: HubExportsInput;

  constructor(name: string, args: HubStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:hub:HubStack', name, {}, opts);
    const parent = { parent: this };
    const cfg = args.config;
    const { id: accountId, region } = cfg.account;
    const partition = partitionOf(region);
    const spokes = cfg.spokes;

    const kms = new EncryptionKey(
      `${name}-kms`,
      {
        accountId,
        region,
        partition,
        users: ['logs', 'cloudtrail', 'cloudwatch-alarms'],
        spokes,
        description: 'ai-gateway hub: logs, secrets, trail, alarms, images',
        aliasName: 'ai-gateway/hub',
      },
      parent,
    );
    const network = new Network(`${name}`, cfg.network, parent);
    const zone = new aws.route53.Zone(
      `${name}-zone`,
      { name: cfg.privateZone, comment: 'ai-gateway provider hubs and spokes', vpcs: [{ vpcId: network.vpc.id, vpcRegion: region }] },
      parent,
    );
    const transit = new HubTransit(`${name}-transit`, { network, spokeCidrPool: cfg.network.spokeCidrPool, sharing: cfg.sharing, onPrem: cfg.onPrem }, parent);
    const providerHubs = cfg.providerHubs.map(
      (kind) => new ProviderHub(`${name}-${kind}`, { kind, slot: NLB_SLOTS[kind], network, zone, zoneName: cfg.privateZone, spokeCidrPool: cfg.network.spokeCidrPool, region }, parent),
    );

    // Config polling and the cache token stay on the AWS network, NAT or not.
    new VpcEndpoints(`${name}-endpoints`, { network, region, services: HUB_ENDPOINT_SERVICES, s3Gateway: false }, parent);
    const proxySg = proxySecurityGroup(`${name}-proxy-sg`, { network, spokeCidrPool: cfg.network.spokeCidrPool }, parent);
    const state = new StateCache(
      `${name}-state`,
      { stack: args.stack, network, cache: cfg.cache, clientSecurityGroupId: proxySg.id, kmsKeyArn: kms.key.arn, purpose: 'the Lambda proxy' },
      parent,
    );
    // Validated here too, so a render that the runtime would reject fails the deploy.
    const proxyConfigJson = state.url.apply((url) => validatedConfigJson(renderProxyConfig(cfg, url), `stack ${args.stack}`));
    const configParameter = new RuntimeConfigParameter(`${name}-config`, { stack: args.stack, configJson: proxyConfigJson, kmsKeyArn: kms.key.arn, region }, parent);
    const proxyService = runtimeServiceName(args.stack);
    const proxy = new ProxyFunction(
      `${name}-proxy`,
      {
        network,
        securityGroup: proxySg,
        bundle: bundleLambda(args.lambdaEntry),
        runtimeConfigJson: proxyConfigJson,
        configParameter,
        stateAuthSecretArn: state.authSecret.arn,
        metricsService: proxyService,
        memoryMb: cfg.lambda.memoryMb,
        timeoutSeconds: cfg.lambda.timeoutSeconds,
        provisionedConcurrency: cfg.lambda.provisionedConcurrency,
        kmsKey: kms.key,
        partition,
      },
      parent,
    );
    const api = new GatewayApi(
      `${name}-gateway`,
      { api: cfg.api, alias: proxy.alias, functionName: proxy.function.name, timeoutMs: cfg.lambda.timeoutSeconds * 1000, kmsKey: kms.key, region, partition },
      parent,
    );
    const secrets = new ThirdPartySecrets(`${name}-secrets`, { names: cfg.thirdParty.map((t) => t.name), apiKeys: args.apiKeys, kmsKey: kms.key, spokes, partition }, parent);
    const registry = new ImageRegistry(`${name}-images`, { kmsKey: kms.key, spokes, partition, build: cfg.imageBuild ? { config: cfg.imageBuild, ...args.image } : undefined }, parent);
    const registrar = new SpokeRegistrar(
      `${name}-registrar`,
      {
        spokes,
        externalId: cfg.sharing.registrarExternalId,
        accountId,
        region,
        partition,
        zoneId: zone.zoneId,
        zoneName: cfg.privateZone,
        spokeRouteTableId: transit.spokeRouteTable.id,
        hubRouteTableId: transit.hubRouteTable.id,
        hubOwned: {
          loadBalancerArns: providerHubs.map((h) => h.loadBalancer.arn),
          listenerArns: providerHubs.map((h) => h.listener.arn),
          targetGroupArns: providerHubs.map((h) => h.targetGroup.arn),
          healthCheckIds: providerHubs.flatMap((h) => h.healthChecks.map((c) => c.id)),
          attachmentIds: [transit.hubAttachment.id, ...(transit.vpn ? [transit.vpn.transitGatewayAttachmentId] : [])],
        },
      },
      parent,
    );
    const monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        functionName: proxy.function.name,
        aliasName: PROXY_ALIAS,
        apiName: api.restApi.name,
        stageName: api.stage.stageName,
        nlbs: providerHubs.map((h, i) => ({ kind: cfg.providerHubs[i], loadBalancerArnSuffix: h.loadBalancer.arnSuffix, targetGroupArnSuffix: h.targetGroup.arnSuffix })),
        kmsKey: kms.key,
        email: cfg.alarms.email,
        region,
        proxyService,
        runtimeAlarms: cfg.alarms,
      },
      parent,
    );
    const sink = new ObservabilitySink(`${name}-observability`, { spokes, partition }, parent);
    new AuditTrail(`${name}-audit`, { kmsKey: kms.key, accountId, region, partition }, parent);

    const byKind = <T>(pick: (hub: ProviderHub) => pulumi.Input<T>): pulumi.Output<Partial<Record<ProviderKind, T>>> =>
      pulumi.output(Object.fromEntries(providerHubs.map((h, i) => [cfg.providerHubs[i], pick(h)]))) as pulumi.Output<Partial<Record<ProviderKind, T>>>;
    this.exports = {
      gatewayUrl: api.url,
      apiDomainTarget: api.domainTarget,
      openaiBaseUrl: pulumi.interpolate`${api.url}/v1`,
      usagePlanIds: pulumi.output(api.usagePlanIds),
      apiKeyIds: pulumi.output(api.apiKeyIds),
      hubAccountId: accountId,
      hubRegion: region,
      hubVpcId: network.vpc.id,
      hubVpcCidr: cfg.network.cidr,
      spokeCidrPool: cfg.network.spokeCidrPool,
      onPremCidr: cfg.onPrem?.cidr,
      transitGatewayId: transit.transitGateway.id,
      transitGatewayRouteTableId: transit.spokeRouteTable.id,
      transitGatewayHubRouteTableId: transit.hubRouteTable.id,
      ramShareArn: transit.share.arn,
      ramExternalAccountIds: cfg.sharing.externalAccountIds,
      privateZoneId: zone.zoneId,
      privateZoneName: cfg.privateZone,
      hubNlbArns: byKind<string>((h) => h.loadBalancer.arn),
      hubNlbArnSuffixes: byKind<string>((h) => h.loadBalancer.arnSuffix),
      hubNlbTargetGroupArns: byKind<string>((h) => h.targetGroup.arn),
      hubNlbIps: byKind<string[]>((h) => h.ips),
      kmsKeyArn: kms.key.arn,
      thirdPartySecretArns: pulumi.output(secrets.arns),
      ecrRepositoryUrl: registry.repository.repositoryUrl,
      runtimeImageRef: registry.imageRef,
      spokeRegistrarRoleArn: registrar.role.arn,
      spokeRegistrarExternalId: cfg.sharing.registrarExternalId,
      spokeRegistry: cfg.spokes,
      modelPriceBounds: modelPriceBounds(cfg.models),
      alarmTopicArn: monitoring.topic.arn,
      lambdaAliasArn: proxy.alias.arn,
      dashboardName: monitoring.dashboard.dashboardName,
      observabilitySinkArn: sink.sink.arn,
      proxyConfigParameterName: configParameter.name,
      stateRedisUrl: state.url,
    };
    this.registerOutputs(this.exports);
  }
}
