/**
 * The hub stack's outputs that spoke stacks read through a StackReference: one type
 * shared by the producer (hub) and the consumers (spokes), so a renamed key breaks the
 * type check instead of a deploy.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { PriceConfig } from '../../runtime/src/config/schema';
import type { ProviderKind, SpokeRegistryEntry } from '../config-schema';

/** A hub model's price: the proxy's bound for budgets' holds, which no spoke serving the model may charge above. */
export interface ModelPriceBound {
  name: string;
  /** The provider kinds whose spokes serve the model. */
  providers: ProviderKind[];
  price: PriceConfig;
  /** Where the hub stack sets it, e.g. `ai-gateway:models[0].price`. */
  key: string;
}

/** The priced models of a hub config, as the hub exports them. */
export function modelPriceBounds(models: readonly { name: string; providers: ProviderKind[]; price?: PriceConfig }[]): ModelPriceBound[] {
  return models.flatMap((m, i) => (m.price ? [{ name: m.name, providers: m.providers, price: m.price, key: `ai-gateway:models[${i}].price` }] : []));
}

export interface HubExports {
  gatewayUrl: string;
  /** With api.domain: the API Gateway regional name the domain's alias record points at. */
  apiDomainTarget: string | undefined;
  /** Base URL for OpenAI SDKs: gatewayUrl + /v1. */
  openaiBaseUrl: string;
  usagePlanIds: Record<string, string>;
  /** API key ids only; the values never leave API Gateway. */
  apiKeyIds: Record<string, string>;
  hubAccountId: string;
  hubRegion: string;
  hubVpcId: string;
  hubVpcCidr: string;
  spokeCidrPool: string;
  onPremCidr: string | undefined;
  transitGatewayId: string;
  /** The route table spoke attachments associate with (routes to the hub and on-prem). */
  transitGatewayRouteTableId: string;
  /** The route table spoke attachments propagate into (what the hub and VPN see). */
  transitGatewayHubRouteTableId: string;
  ramShareArn: string;
  /** The accounts the share goes to outside the organization (sharing.externalAccountIds): they accept it, no other spoke can. */
  ramExternalAccountIds: string[];
  privateZoneId: string;
  privateZoneName: string;
  hubNlbArns: Partial<Record<ProviderKind, string>>;
  hubNlbArnSuffixes: Partial<Record<ProviderKind, string>>;
  hubNlbTargetGroupArns: Partial<Record<ProviderKind, string>>;
  hubNlbIps: Partial<Record<ProviderKind, string[]>>;
  kmsKeyArn: string;
  thirdPartySecretArns: Record<string, string>;
  ecrRepositoryUrl: string;
  /** With imageBuild: the runtime image pushed by the hub stack, by digest (for the spokes' service.image). */
  runtimeImageRef: string | undefined;
  spokeRegistrarRoleArn: string;
  /** The sts:ExternalId spokes present to the registrar role. */
  spokeRegistrarExternalId: string;
  /** The hub models' prices (the priced ones): a spoke checks its own prices against them. */
  modelPriceBounds: ModelPriceBound[];
  /** The spokes the hub trusts and routes (ai-gateway:spokes): a spoke checks its own entry against its stack file. */
  spokeRegistry: SpokeRegistryEntry[];
  alarmTopicArn: string;
  lambdaAliasArn: string;
  dashboardName: string;
  /** CloudWatch cross-account observability sink the spokes link their metrics to. */
  observabilitySinkArn: string;
  /** The proxy's runtime config in SSM (GATEWAY_CONFIG_SSM_PARAMETER). */
  proxyConfigParameterName: string;
  /** The proxy's `state.redis` (no credentials). */
  stateRedisUrl: string;
}

export type HubExportsInput = { [K in keyof HubExports]: pulumi.Input<HubExports[K]> };

/** A typed view over the hub's StackReference. */
export class HubReference {
  constructor(private readonly ref: pulumi.StackReference) {}

  get<K extends keyof HubExports>(key: K): pulumi.Output<HubExports[K]> {
    return this.ref.requireOutput(key) as pulumi.Output<HubExports[K]>;
  }

  /** One entry of a map output; fails the deployment with a clear message when absent. */
  entry<K extends keyof HubExports>(key: K, name: string): pulumi.Output<string> {
    return this.get(key).apply((map) => {
      const value = (map as Record<string, unknown> | undefined)?.[name];
      if (typeof value !== 'string') throw new Error(`the hub stack has no ${String(key)}["${name}"]: add "${name}" to the hub config and run pulumi up -s hub first`);
      return value;
    });
  }
}
