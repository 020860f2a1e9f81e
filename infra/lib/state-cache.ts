/**
 * The runtime's shared state (quota windows, cooldowns, tenant limits): ElastiCache for
 * Valkey as a replication group with one shard, a primary and its replicas spread over
 * the private subnets' AZs, Multi-AZ with automatic failover. TLS is required, data at
 * rest is encrypted with the stack's KMS key, and clients authenticate with an AUTH
 * token generated here and kept in Secrets Manager (never in config). Port 6379 admits
 * one security group: the runtime's.
 *
 * Why not ElastiCache Serverless: serverless caches are cluster-mode only (the runtime's
 * ioredis client is a single-endpoint client, and its heartbeat script touches keys in
 * different hash slots, which cluster mode refuses with CROSSSLOT) and take RBAC users,
 * not an AUTH token. See docs/infra.md.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { CacheConfig } from '../config-schema';
import type { Network } from './network';

export const REDIS_PORT = 6379;
export const CACHE_ENGINE = 'valkey';
export const CACHE_ENGINE_VERSION = '8.0';

export interface StateCacheArgs {
  stack: string;
  network: Network;
  cache: CacheConfig;
  /** The only security group admitted on 6379: the runtime's (Fargate tasks or the Lambda). */
  clientSecurityGroupId: pulumi.Input<string>;
  /** The stack's key: data at rest and the AUTH token's secret. */
  kmsKeyArn: pulumi.Input<string>;
  /** Who uses it, for descriptions. */
  purpose: string;
}

/** Replication group ids: 1-40 lowercase letters, digits and single hyphens, starting with a letter. */
export function replicationGroupId(stack: string): string {
  const id = `ai-gateway-${stack}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 40);
  return id.replace(/-$/, '');
}

export function stateAuthSecretName(stack: string): string {
  return `ai-gateway/${stack}/state-auth-token`;
}

/** The AZ of each node (primary first): round-robin over the network's AZs. */
export function nodeAzs<T>(azs: readonly T[], nodes: number): T[] {
  return Array.from({ length: nodes }, (_, i) => azs[i % azs.length]);
}

export class StateCache extends pulumi.ComponentResource {
  readonly replicationGroup: aws.elasticache.ReplicationGroup;
  readonly securityGroup: aws.ec2.SecurityGroup;
  /** Secrets Manager secret whose value is the AUTH token (the whole SecretString). */
  readonly authSecret: aws.secretsmanager.Secret;
  /** `rediss://<primary endpoint>:6379`, without credentials: what `state.redis` holds. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: StateCacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('ai-gateway:lib:StateCache', name, {}, opts);
    const parent = { parent: this };
    const { network, stack } = args;

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: network.vpc.id,
        description: `ai-gateway ${stack} shared state: ${args.purpose} only`,
        ingress: [{ description: args.purpose, protocol: 'tcp', fromPort: REDIS_PORT, toPort: REDIS_PORT, securityGroups: [args.clientSecurityGroupId] }],
        // The nodes start no connections.
        egress: [],
        tags: { Name: `${name}-cache` },
      },
      parent,
    );
    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-subnets`,
      { name: `${replicationGroupId(stack)}-state`, description: `ai-gateway ${stack}: private subnets`, subnetIds: network.privateSubnets.map((s) => s.id) },
      parent,
    );

    // Letters and digits only: ElastiCache refuses most symbols, and the token may end up in a URL.
    const token = new random.RandomPassword(`${name}-auth-token`, { length: 64, special: false }, parent);
    this.authSecret = new aws.secretsmanager.Secret(
      `${name}-auth-token`,
      {
        name: stateAuthSecretName(stack),
        description: `AUTH token of the ai-gateway ${stack} shared-state cache`,
        kmsKeyId: args.kmsKeyArn,
        // Deleted at once: a secret in its recovery window keeps its (fixed) name, so a stack
        // destroyed and deployed again (a spoke removed and re-added) could not create it for
        // days; and a token is worth nothing without the cache it was set on.
        recoveryWindowInDays: 0,
      },
      parent,
    );
    new aws.secretsmanager.SecretVersion(`${name}-auth-token`, { secretId: this.authSecret.id, secretString: token.result }, parent);

    const nodes = args.cache.replicas + 1;
    this.replicationGroup = new aws.elasticache.ReplicationGroup(
      `${name}-cache`,
      {
        replicationGroupId: replicationGroupId(stack),
        description: `ai-gateway ${stack} shared state (${args.purpose})`,
        engine: CACHE_ENGINE,
        engineVersion: CACHE_ENGINE_VERSION,
        nodeType: args.cache.nodeType,
        port: REDIS_PORT,
        // One shard, cluster mode off: the runtime speaks to one primary endpoint.
        clusterMode: 'disabled',
        numCacheClusters: nodes,
        preferredCacheClusterAzs: nodeAzs(network.availabilityZones, nodes),
        multiAzEnabled: true,
        automaticFailoverEnabled: true,
        subnetGroupName: subnets.name,
        securityGroupIds: [this.securityGroup.id],
        transitEncryptionEnabled: true,
        transitEncryptionMode: 'required',
        atRestEncryptionEnabled: true,
        kmsKeyId: args.kmsKeyArn,
        authToken: token.result,
        // A new token is added beside the old one, so running tasks keep working until redeployed.
        authTokenUpdateStrategy: 'ROTATE',
        // Token changes must apply at once (ElastiCache refuses them in the maintenance window).
        applyImmediately: true,
        autoMinorVersionUpgrade: true,
        // Quota windows live for minutes: a snapshot would restore stale counts.
        snapshotRetentionLimit: 0,
        tags: { Name: replicationGroupId(stack) },
      },
      // A fixed id: a replacement (most settings of a replication group force one) must free it first.
      { parent: this, deleteBeforeReplace: true },
    );
    this.url = pulumi.interpolate`rediss://${this.replicationGroup.primaryEndpointAddress}:${REDIS_PORT}`;
    this.registerOutputs({ url: this.url, authSecretArn: this.authSecret.arn });
  }
}
