/**
 * The stack config of the platform program: one zod schema per stack kind, keyed by the
 * config keys of the `ai-gateway` namespace (`ai-gateway:network` is the `network` key).
 * Cross-field rules (address overlaps, kinds that need egress) live here too, so a
 * wrong file fails before any resource is declared.
 */
import { z } from 'zod';
import { MODEL_APIS } from '../runtime/src/core/embeddings';
import { capacitySchema, priceSchema, promptCacheSchema, ROUTINGS, type PriceConfig } from '../runtime/src/config/schema';
import { assignablePerPrivateSubnet } from './lib/address-plan';
import { cidrContains as cidrContainsStrict, cidrContainsIp, cidrsOverlap as cidrsOverlapStrict, isCidr, parseIp } from './lib/cidr';
import { HUB_ENDPOINT_SERVICES, interfaceEndpointServices } from './spoke/vpc-endpoints';

export const PROVIDER_KINDS = ['bedrock', 'third-party', 'on-prem'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Hub NLB listener ports a spoke may claim for its own health-checked path. */
export const SPOKE_PORT_RANGE = { from: 8100, to: 8199 } as const;

/** Field issues do not stop the cross-field rules, so these must tolerate bad CIDRs. */
const cidrsOverlap = (a: string, b: string): boolean => isCidr(a) && isCidr(b) && cidrsOverlapStrict(a, b);
const cidrContains = (outer: string, inner: string): boolean => isCidr(outer) && isCidr(inner) && cidrContainsStrict(outer, inner);

const missingOr = (expected: string) => (iss: { input?: unknown }) => (iss.input === undefined ? `missing: expected ${expected}` : `expected ${expected}`);

export const accountIdSchema = z.string({ error: missingOr('a 12-digit AWS account id (quoted in YAML)') }).regex(/^\d{12}$/, 'expected a 12-digit AWS account id (quoted in YAML)');

const regionSchema = z.string({ error: missingOr('an AWS region like us-east-1') }).regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'expected an AWS region like us-east-1');

export const cidrSchema = z.string({ error: missingOr('a CIDR like 10.1.0.0/16') }).refine(isCidr, 'expected a CIDR like 10.1.0.0/16 (host bits zero)');

const vpcCidrSchema = cidrSchema.refine((c) => {
  const prefix = Number(c.split('/')[1]);
  return prefix >= 16 && prefix <= 24;
}, 'a VPC CIDR must be between /16 and /24');

const roleArnSchema = z
  .string({ error: missingOr('an IAM role ARN') })
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'expected an IAM role ARN like arn:aws:iam::111111111111:role/name');

const nameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'lowercase letters, digits and "-", starting with a letter');

export const accountSchema = z.strictObject({
  id: accountIdSchema,
  region: regionSchema,
  /** Role the deployer assumes in this account; the ambient credentials when absent. */
  deployRoleArn: roleArnSchema.optional(),
});

export const networkSchema = z.strictObject({
  cidr: vpcCidrSchema,
  azCount: z.number().int().min(2, 'at least 2 Availability Zones').max(4).default(2),
  /** One NAT gateway per AZ for egress to the internet (third-party APIs, other regions). */
  natGateway: z.boolean().default(false),
});

const throttleSchema = z.strictObject({
  burstLimit: z.number().int().positive(),
  rateLimit: z.number().positive(),
});

const teamSchema = z.strictObject({
  name: nameSchema,
  throttle: throttleSchema,
  quota: z.strictObject({
    limit: z.number().int().positive(),
    period: z.enum(['DAY', 'WEEK', 'MONTH']),
  }),
});

/** The shared-state cache (ElastiCache for Valkey, one shard): node size and replicas. */
export const cacheSchema = z.strictObject({
  nodeType: z
    .string()
    .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'expected an ElastiCache node type like cache.t4g.small')
    .default('cache.t4g.small'),
  /** Replicas of the primary, each in the next AZ: at least 1 for Multi-AZ automatic failover. */
  replicas: z.number().int().min(1, 'at least 1: Multi-AZ automatic failover needs a replica').max(5).default(1),
});

/** Thresholds of the alarms on the runtime's own metrics (per service, one-minute periods). */
export const runtimeAlarmsSchema = z.strictObject({
  /** Errors / Requests, percent. */
  errorRatePercent: z.number().positive().max(100).default(5),
  /** Failovers / Requests, percent: failover works, but this much means a provider is in trouble. */
  failoverRatePercent: z.number().positive().max(100).default(25),
  latencyP99Ms: z.number().int().positive().default(60_000),
  ttftP99Ms: z.number().int().positive().default(10_000),
  /** Below this many requests in a minute the rates are not judged (one error in two requests is noise). */
  minRequestsPerMinute: z.number().int().positive().default(20),
});

/**
 * Extra tags on every resource (provider default tags). AWS's tag rules: keys of 1-128 and
 * values of 0-256 letters, digits, spaces and _.:/=+-@, no key starting with the reserved
 * `aws:`, and at most 50 tags a resource, of which the program sets up to 3 itself
 * (`ai-gateway:stack`, `managed-by`, `ai-gateway:spoke-account`). A tag AWS refuses would fail
 * every resource at create time instead of here.
 */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const tagsSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(128, 'a tag key has at most 128 characters')
      .regex(TAG_TEXT, 'a tag key takes letters, digits, spaces and _.:/=+-@ only')
      .refine((key) => !key.toLowerCase().startsWith('aws:'), 'tag keys starting with "aws:" are reserved for AWS'),
    z.string().max(256, 'a tag value has at most 256 characters').regex(TAG_TEXT, 'a tag value takes letters, digits, spaces and _.:/=+-@ only'),
  )
  .refine((tags) => Object.keys(tags).length <= 47, 'at most 47 tags: AWS allows 50 a resource and the program adds up to 3')
  .default({});

const providerKindSchema = z.enum(PROVIDER_KINDS, { error: () => `expected one of ${PROVIDER_KINDS.join(', ')}` });

/** AWS's rule for an sts:ExternalId: 2-1224 characters of letters, digits and +=,.@:/-. */
const externalIdSchema = z
  .string({ error: missingOr('an external id (2-1224 characters: letters, digits, +=,.@:/-)') })
  .regex(/^[\w+=,.@:/-]{2,1224}$/, 'expected 2-1224 characters: letters, digits, +=,.@:/-');

const spokeStackNameSchema = z.string().regex(/^spoke-[a-z0-9][a-z0-9-]{0,9}$/, 'expected a spoke stack name like spoke-a');

/**
 * One spoke the hub knows: who may register it (its deploy role, with the registrar's
 * external id), whose task execution role may read the hub's keys and pull the image, and
 * the address and port it claims, checked against the other spokes here and against the
 * spoke's own stack file when the spoke deploys (it reads this registry from the hub).
 */
export const spokeRegistryEntrySchema = z.strictObject({
  stack: spokeStackNameSchema,
  accountId: accountIdSchema,
  /** The role the spoke stack deploys with (its account.deployRoleArn); it must exist before the hub trusts it. */
  deployRoleArn: roleArnSchema,
  kind: z.enum(PROVIDER_KINDS, { error: () => `expected one of ${PROVIDER_KINDS.join(', ')}` }),
  cidr: vpcCidrSchema,
  hubPort: z
    .number()
    .int()
    .min(SPOKE_PORT_RANGE.from, `expected a port in ${SPOKE_PORT_RANGE.from}-${SPOKE_PORT_RANGE.to}`)
    .max(SPOKE_PORT_RANGE.to, `expected a port in ${SPOKE_PORT_RANGE.from}-${SPOKE_PORT_RANGE.to}`),
});
export type SpokeRegistryEntry = z.output<typeof spokeRegistryEntrySchema>;

/** A runtime key the proxy has no use for: named with where it belongs rather than as an unknown key. */
const spokeOnly = (why: string) => z.never({ error: why }).optional();

export const hubConfigSchema = z
  .strictObject({
    account: accountSchema,
    network: networkSchema.extend({
      natGateway: z.boolean().default(true),
      /** Every spoke VPC CIDR is carved from this pool; the hub routes it to the Transit Gateway. */
      spokeCidrPool: cidrSchema,
    }),
    privateZone: z.string({ error: missingOr('a private DNS zone like gateway.internal') }).regex(/^([a-z0-9-]+\.)+[a-z0-9-]+$/, 'expected a DNS name like gateway.internal'),
    providerHubs: z.array(providerKindSchema).min(1),
    sharing: z.strictObject({
      organizationArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/, 'expected an AWS Organizations ARN')
        .optional(),
      /** Spoke accounts outside the organization: RAM external principals. */
      externalAccountIds: z.array(accountIdSchema).default([]),
      /** The sts:ExternalId spokes present when they assume the registrar role. */
      registrarExternalId: externalIdSchema,
    }),
    /** Every spoke the hub trusts and routes: nothing is granted to a spoke missing here. */
    spokes: z.array(spokeRegistryEntrySchema).default([]),
    onPrem: z
      .strictObject({
        cidr: cidrSchema,
        customerGatewayIp: z.string().refine((ip) => parseIp(ip) !== undefined, 'expected the public IPv4 address of the on-prem VPN device'),
        bgpAsn: z.number().int().min(1).max(4_294_967_294),
      })
      .optional(),
    api: z.strictObject({
      stageName: z
        .string()
        .regex(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits and "_"')
        .default('live'),
      throttle: throttleSchema,
      wafRateLimitPer5Minutes: z.number().int().min(10).max(2_000_000_000),
      cognitoUserPoolArns: z.array(z.string().regex(/^arn:aws[a-z-]*:cognito-idp:/, 'expected a Cognito user pool ARN')).default([]),
      domain: z
        .strictObject({
          name: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, 'expected a DNS name'),
          /** A Regional custom domain takes a certificate of the API's own account and Region (checked below). */
          certificateArn: z
            .string({ error: missingOr('an ACM certificate ARN') })
            .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'expected an ACM certificate ARN like arn:aws:acm:us-east-1:111111111111:certificate/<id>'),
          /** The public hosted zone (in the hub account) that gets the name's alias record: the execute-api endpoint is off. */
          hostedZoneId: z
            .string({ error: missingOr('the Route 53 hosted zone id of the domain (the default endpoint is disabled, so the name must resolve)') })
            .regex(/^Z[A-Z0-9]{1,32}$/, 'expected a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ'),
        })
        .optional(),
      teams: z.array(teamSchema).min(1, 'at least one app team (a usage plan and an API key each)'),
    }),
    lambda: z.strictObject({
      memoryMb: z.number().int().min(128).max(10240).default(1024),
      timeoutSeconds: z.number().int().min(1).max(900).default(900),
      provisionedConcurrency: z.number().int().min(1, 'at least 1: cold starts are what provisioned concurrency removes'),
    }),
    /** Logical models the proxy offers, which provider hubs serve each, and what they serve (chat or embeddings). */
    models: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          providers: z.array(providerKindSchema).min(1),
          api: z.enum(MODEL_APIS).default('chat'),
          /** The proxy's price bound (budgets hold against it): the dearest price of the model's targets on any spoke. */
          price: z.optional(priceSchema),
          /** Session affinity at the proxy (which spoke) and checkpoints the proxy adds (`auto`). */
          promptCache: z.optional(promptCacheSchema),
          routing: spokeOnly('set routing in the spoke stacks (ai-gateway:models[].routing): the proxy has one route per spoke, the spokes order their targets'),
        }),
      )
      .min(1),
    /**
     * Opt-in: `pulumi up -s hub` builds runtime/Dockerfile and pushes it to the hub's ECR
     * repository (needs Docker with buildx where pulumi runs). Without it, CI builds and
     * pushes the image and spokes name it in service.image, as before.
     */
    imageBuild: z
      .strictObject({
        /** The image tag; the repository's tags are immutable, so each runtime release takes a new one. */
        tag: z
          .string({ error: missingOr('an image tag like 0.1.0') })
          .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'expected an image tag like 0.1.0')
          .refine((tag) => tag !== 'latest', "pin a version tag, not latest (the repository's tags are immutable)"),
        /** The spokes' service.architecture. */
        architecture: z.enum(['ARM64', 'X86_64']).default('ARM64'),
      })
      .optional(),
    /** Third-party vendors whose API keys the hub keeps in Secrets Manager. */
    thirdParty: z.array(z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9]{0,30}$/, 'lowercase letters and digits') })).default([]),
    capacity: spokeOnly('set capacity in the spoke stacks (ai-gateway:capacity): the spokes hold the quotas and enforce the class the proxy sends'),
    /** The proxy's shared state (tenant limits, quotas across Lambda instances). */
    cache: cacheSchema.prefault({}),
    alarms: runtimeAlarmsSchema.extend({ email: z.email().optional() }).prefault({}),
    tags: tagsSchema,
  })
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (cidrsOverlap(cfg.network.cidr, cfg.network.spokeCidrPool)) {
      issue(['network', 'spokeCidrPool'], `${cfg.network.spokeCidrPool} overlaps the hub VPC ${cfg.network.cidr}`);
    }
    // The Lambda proxy takes one ENI per subnet (per security group and subnet).
    checkAddressRoom(cfg.network, { endpoints: HUB_ENDPOINT_SERVICES.length, cacheNodes: cfg.cache.replicas + 1, runtime: cfg.network.azCount, runtimeName: 'Lambda ENIs' }, issue);
    if (cfg.onPrem) {
      for (const [key, cidr] of [
        ['cidr', cfg.network.cidr],
        ['spokeCidrPool', cfg.network.spokeCidrPool],
      ] as const) {
        if (cidrsOverlap(cfg.onPrem.cidr, cidr)) issue(['onPrem', 'cidr'], `${cfg.onPrem.cidr} overlaps network.${key} ${cidr}`);
      }
    } else if (cfg.providerHubs.includes('on-prem')) {
      issue(['onPrem'], 'required when providerHubs includes on-prem (the Site-to-Site VPN needs it)');
    }
    const certificate = cfg.api.domain && /^arn:[^:]+:acm:([^:]+):(\d{12}):/.exec(cfg.api.domain.certificateArn);
    if (certificate) {
      // API Gateway attaches a Regional domain's certificate from ACM in the API's own Region and account.
      const [, certRegion, certAccount] = certificate;
      if (certRegion !== cfg.account.region) {
        issue(
          ['api', 'domain', 'certificateArn'],
          `the certificate is in ${certRegion}; a Regional custom domain needs one in the hub's Region ${cfg.account.region} (request or import it there)`,
        );
      }
      if (certAccount !== cfg.account.id) issue(['api', 'domain', 'certificateArn'], `the certificate belongs to account ${certAccount}; it must be in the hub account ${cfg.account.id}`);
    }
    if (!cfg.sharing.organizationArn && cfg.sharing.externalAccountIds.length === 0) {
      issue(['sharing'], 'name the spoke accounts: organizationArn and/or externalAccountIds');
    }
    checkSpokeRegistry(cfg, issue);
    cfg.models.forEach((m, i) =>
      m.providers.forEach((p, j) => {
        if (!cfg.providerHubs.includes(p)) issue(['models', i, 'providers', j], `"${p}" is not in providerHubs (${cfg.providerHubs.join(', ')})`);
      }),
    );
    uniqueBy(cfg.api.teams, (t) => t.name, ['api', 'teams'], issue);
    uniqueBy(cfg.models, (m) => m.name, ['models'], issue);
    uniqueBy(cfg.thirdParty, (t) => t.name, ['thirdParty'], issue);
  });

const modelLimitsSchema = z.strictObject({
  rpm: z.number().int().positive(),
  tpm: z.number().int().positive(),
});

/** What the runtime takes per target, given once per provider model and rendered into every target that names it. */
const targetKeys = {
  /** Largest prompt + output the model takes: lets the runtime pick a larger fallback. */
  contextTokens: z.number().int().positive().optional(),
  /** USD per million tokens: the spoke prices what it serves (and reports it to the proxy); `routing: cost` needs it. */
  price: z.optional(priceSchema),
  /** Whether the model takes cache markers (default by provider and model id in the runtime). */
  promptCache: z.boolean().optional(),
};

/** A global profile (`global.`) routes to any commercial Region; a geographic one (`us.`, `eu.`, `apac.`, `us-gov.` ...) to the Regions listed. */
export const isGlobalProfile = (id: string): boolean => id.startsWith('global.');

const bedrockModelSchema = z
  .strictObject({
    /** Foundation model id, e.g. amazon.nova-pro-v1:0. */
    id: z.string().regex(/^[a-z0-9-]+\.[A-Za-z0-9.:_-]+$/, 'expected a Bedrock model id like amazon.nova-pro-v1:0'),
    /** Cross-Region inference profile to call instead, and (geographic profiles) the Regions it routes to. */
    inferenceProfile: z
      .strictObject({
        id: z
          .string()
          .regex(
            /^(?:[a-z]{2,4}|us-gov|global)\.[a-z0-9-]+\.[A-Za-z0-9.:_-]+$/,
            'expected an inference profile id like us.amazon.nova-pro-v1:0 or global.anthropic.claude-sonnet-4-5-20250929-v1:0',
          ),
        regions: z.array(regionSchema).min(1).optional(),
      })
      .optional(),
    limits: modelLimitsSchema,
    ...targetKeys,
  })
  .superRefine((model, ctx) => {
    const profile = model.inferenceProfile;
    if (!profile) return;
    const routesTo = profile.id.slice(profile.id.indexOf('.') + 1);
    if (routesTo !== model.id) ctx.addIssue({ code: 'custom', path: ['inferenceProfile', 'id'], message: `routes to ${routesTo}, not to this model (${model.id})` });
    // IAM must name the model wherever the profile may send a request.
    if (isGlobalProfile(profile.id) && profile.regions) {
      ctx.addIssue({
        code: 'custom',
        path: ['inferenceProfile', 'regions'],
        message: 'a global profile routes to any commercial Region (the model is allowed Region-less): leave regions out',
      });
    }
    if (!isGlobalProfile(profile.id) && !profile.regions) {
      ctx.addIssue({ code: 'custom', path: ['inferenceProfile', 'regions'], message: 'required for a geographic profile: the Regions it routes to (the model is allowed in each)' });
    }
  });

const plainModelSchema = z.strictObject({ id: z.string().min(1), limits: modelLimitsSchema, ...targetKeys });

export const spokeProviderSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('bedrock'),
    regions: z.array(regionSchema).min(1),
    models: z.array(bedrockModelSchema).min(1),
  }),
  z.strictObject({
    kind: z.literal('third-party'),
    vendors: z
      .array(
        z.strictObject({
          id: nameSchema,
          type: z.enum(['openai', 'anthropic', 'openai-compatible']),
          /** Name of the hub secret (ai-gateway:thirdParty) holding this vendor's API key. */
          secret: z.string().min(1),
          url: z.url({ protocol: /^https$/ }).optional(),
          models: z.array(plainModelSchema).min(1),
        }),
      )
      .min(1),
  }),
  z.strictObject({
    kind: z.literal('on-prem'),
    /** OpenAI-compatible server in the on-prem network, reached over the VPN. */
    url: z.url({ protocol: /^https?$/ }),
    models: z.array(plainModelSchema).min(1),
  }),
]);

/**
 * The task memory sizes Fargate takes for each task CPU (ECS Developer Guide, "Task CPU and
 * memory"): anything else fails RegisterTaskDefinition at deploy time. Empty for a CPU the
 * schema refuses anyway.
 */
export function fargateMemoryMb(cpu: number): number[] {
  const range = (from: number, to: number) => Array.from({ length: (to - from) / 1024 + 1 }, (_, i) => from + i * 1024);
  switch (cpu) {
    case 256:
      return [512, 1024, 2048];
    case 512:
      return range(1024, 4096);
    case 1024:
      return range(2048, 8192);
    case 2048:
      return range(4096, 16384);
    case 4096:
      return range(8192, 30720);
    default:
      return [];
  }
}

export const spokeConfigSchema = z
  .strictObject({
    /** A spoke deploys with its deploy role: the hub's registrar trusts that role by ARN. */
    account: accountSchema.extend({ deployRoleArn: roleArnSchema }),
    hub: z.strictObject({
      /** StackReference name of the hub stack, e.g. acme/ai-gateway/hub. */
      stack: z.string().regex(/^([\w.-]+\/){0,2}[\w.-]+$/, 'expected a stack name like org/ai-gateway/hub'),
      accountId: accountIdSchema,
      region: regionSchema,
      /** Role in the hub account this spoke assumes to register itself there. */
      roleArn: roleArnSchema,
      /** The hub VPC CIDR and on-prem CIDR, checked here so overlaps fail before deploy. */
      cidr: cidrSchema,
      onPremCidr: cidrSchema.optional(),
      /** True for accounts outside the hub's organization: accept the RAM share. */
      acceptRamShare: z.boolean().default(false),
    }),
    network: networkSchema,
    provider: spokeProviderSchema,
    /** Logical models this spoke serves: ordered targets among the provider's model ids. */
    models: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          targets: z.array(z.string().min(1)).min(1),
          /** What the model serves; embeddings models' targets name one provider model unless interchangeable. */
          api: z.enum(MODEL_APIS).default('chat'),
          interchangeable: z.boolean().optional(),
          /** `cost`: the cheapest target with headroom first (every target's provider model needs a price). */
          routing: z.enum(ROUTINGS).optional(),
          promptCache: z.optional(promptCacheSchema),
        }),
      )
      .min(1),
    /** Capacity classes: shares of each route's quota kept for critical requests (the proxy sends the class). */
    capacity: z.optional(capacitySchema),
    registration: z.strictObject({
      weight: z.number().int().min(0).max(255).default(100),
      hubPort: z
        .number()
        .int()
        .min(SPOKE_PORT_RANGE.from, `expected a port in ${SPOKE_PORT_RANGE.from}-${SPOKE_PORT_RANGE.to}, unique among spokes`)
        .max(SPOKE_PORT_RANGE.to, `expected a port in ${SPOKE_PORT_RANGE.from}-${SPOKE_PORT_RANGE.to}, unique among spokes`),
    }),
    service: z.strictObject({
      image: z
        .string()
        .regex(
          /^[\w.-]+(:\d+)?\/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
          'expected an image reference with a tag or digest, like 111111111111.dkr.ecr.us-east-1.amazonaws.com/ai-gateway-runtime:0.1.0',
        )
        .refine((img) => !img.endsWith(':latest'), 'pin a version tag or digest, not :latest'),
      cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)], { error: 'expected a Fargate task CPU: 256, 512, 1024, 2048 or 4096' }).default(1024),
      memoryMb: z.number().int().min(512).max(30720).default(2048),
      architecture: z.enum(['ARM64', 'X86_64']).default('ARM64'),
      minTasks: z.number().int().min(1, 'at least 1 task per spoke').default(2),
      maxTasks: z.number().int().min(1).default(10),
      /** Target of the autoscaling policy: requests per task per minute. */
      requestsPerTaskPerMinute: z.number().int().positive().default(600),
    }),
    /** The tasks' shared quota state. */
    cache: cacheSchema.prefault({}),
    /** Alarms on this spoke's runtime metrics, declared in the hub account. */
    alarms: runtimeAlarmsSchema.prefault({}),
    tags: tagsSchema,
  })
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const { hub, network, provider } = cfg;
    if (cidrsOverlap(network.cidr, hub.cidr)) issue(['network', 'cidr'], `${network.cidr} overlaps the hub VPC ${hub.cidr} (ai-gateway:hub.cidr)`);
    if (hub.onPremCidr && cidrsOverlap(network.cidr, hub.onPremCidr)) {
      issue(['network', 'cidr'], `${network.cidr} overlaps the on-prem network ${hub.onPremCidr} (ai-gateway:hub.onPremCidr)`);
    }
    if (cfg.account.region !== hub.region) {
      issue(['account', 'region'], `must equal hub.region ${hub.region}: a Transit Gateway attaches VPCs of its own Region only`);
    }
    const roleAccount = /::(\d{12}):/.exec(hub.roleArn)?.[1];
    if (roleAccount !== hub.accountId) issue(['hub', 'roleArn'], `the role must be in the hub account ${hub.accountId}`);
    if (cfg.service.maxTasks < cfg.service.minTasks) issue(['service', 'maxTasks'], 'must be at least service.minTasks');
    // A deployment runs up to twice the tasks (deploymentMaximumPercent 200), each with its own ENI.
    checkAddressRoom(
      network,
      {
        endpoints: interfaceEndpointServices(provider.kind).length,
        cacheNodes: cfg.cache.replicas + 1,
        runtime: 2 * cfg.service.maxTasks,
        runtimeName: 'tasks (2 x service.maxTasks over the AZs)',
      },
      issue,
    );
    const sizes = fargateMemoryMb(cfg.service.cpu);
    if (sizes.length > 0 && !sizes.includes(cfg.service.memoryMb)) {
      const expected = sizes.length <= 4 ? `one of ${sizes.join(', ')}` : `${sizes[0]} to ${sizes[sizes.length - 1]} in steps of 1024`;
      issue(['service', 'memoryMb'], `${cfg.service.memoryMb} is not a Fargate task size with service.cpu ${cfg.service.cpu}: expected ${expected}`);
    }

    const catalog = providerModelCatalog(provider);
    if (provider.kind === 'bedrock') {
      // VPC endpoints reach Bedrock in the VPC's own Region only; other Regions need a NAT path.
      const remote = provider.regions.filter((r) => r !== cfg.account.region);
      if (remote.length > 0 && !network.natGateway) {
        issue(['network', 'natGateway'], `must be true: Bedrock in ${remote.join(', ')} is outside the VPC's Region`);
      }
    } else if (provider.kind === 'third-party') {
      if (!network.natGateway) issue(['network', 'natGateway'], 'must be true: third-party APIs are on the internet');
      uniqueBy(provider.vendors, (v) => v.id, ['provider', 'vendors'], issue);
      provider.vendors.forEach((v, i) => {
        if (v.type === 'openai-compatible' && !v.url) issue(['provider', 'vendors', i, 'url'], 'required for an openai-compatible vendor');
      });
    } else {
      if (!hub.onPremCidr) {
        issue(['hub', 'onPremCidr'], 'required for an on-prem spoke (its route to the on-prem network)');
      } else {
        const host = URL.canParse(provider.url) ? new URL(provider.url).hostname : '';
        if (parseIp(host) !== undefined && isCidr(hub.onPremCidr) && !cidrContainsIp(hub.onPremCidr, host)) {
          issue(['provider', 'url'], `${host} is outside the on-prem network ${hub.onPremCidr}`);
        }
      }
    }
    const seen = new Set<string>();
    catalog.forEach(({ id }) => {
      if (seen.has(id)) issue(['provider'], `model id "${id}" is listed twice; targets name models by id`);
      seen.add(id);
    });
    cfg.models.forEach((m, i) =>
      m.targets.forEach((t, j) => {
        if (!seen.has(t)) issue(['models', i, 'targets', j], `"${t}" is not a model of this spoke's provider (${[...seen].join(', ')})`);
      }),
    );
    const byId = new Map(catalog.map((c) => [c.id, c]));
    cfg.models.forEach((m, i) => {
      const unpriced = m.routing === 'cost' ? [...new Set(m.targets)].flatMap((t) => byId.get(t) ?? []).filter((c) => !c.price) : [];
      if (unpriced.length > 0) {
        issue(['models', i, 'routing'], `cost needs a price on every target; none at ${unpriced.map((c) => `ai-gateway:${c.key}.price ("${c.id}")`).join(', ')}`);
      }
    });
    uniqueBy(cfg.models, (m) => m.name, ['models'], issue);
  });

/** A provider model that targets may name: the id they name it by, its stack key (for messages naming it) and its price. */
export interface ProviderModelEntry {
  readonly id: string;
  /** e.g. `provider.vendors[0].models[1]`, under `ai-gateway:`. */
  readonly key: string;
  readonly price: PriceConfig | undefined;
}

/** Every provider model of a spoke, as targets name them. */
export function providerModelCatalog(provider: z.output<typeof spokeProviderSchema>): ProviderModelEntry[] {
  const entries = (models: { id: string; price?: PriceConfig }[], key: string) => models.map((m, j) => ({ id: m.id, key: `${key}[${j}]`, price: m.price }));
  switch (provider.kind) {
    case 'bedrock':
      // Targets name the inference profile when the model has one: that is what the runtime calls.
      return entries(
        provider.models.map((m) => ({ id: m.inferenceProfile?.id ?? m.id, price: m.price })),
        'provider.models',
      );
    case 'third-party':
      return provider.vendors.flatMap((v, i) => entries(v.models, `provider.vendors[${i}].models`));
    default:
      return entries(provider.models, 'provider.models');
  }
}

/**
 * Whether each private subnet has the addresses AWS must hand out there: one Transit Gateway
 * attachment ENI, one ENI per interface endpoint, its share of the cache nodes and of the
 * runtime's ENIs. A /24 VPC (/28 subnets, 5 assignable addresses each) holds no spoke: the
 * endpoints alone need 6 or 7, and their creation would fail with too few free addresses.
 */
function checkAddressRoom(network: { cidr: string; azCount: number }, needs: { endpoints: number; cacheNodes: number; runtime: number; runtimeName: string }, issue: Issue): void {
  const { cidr, azCount } = network;
  const prefix = Number(cidr.split('/')[1]);
  if (!isCidr(cidr) || prefix < 16 || prefix > 24 || !Number.isInteger(azCount) || azCount < 1) return;
  const share = (n: number) => (Number.isFinite(n) && n > 0 ? Math.ceil(n / azCount) : 0);
  const parts = { 'Transit Gateway attachment': 1, 'interface endpoints': needs.endpoints, 'cache nodes': share(needs.cacheNodes), [needs.runtimeName]: share(needs.runtime) };
  const need = Object.values(parts).reduce((a, b) => a + b, 0);
  const room = assignablePerPrivateSubnet(cidr);
  if (need > room) {
    const detail = Object.entries(parts)
      .map(([what, n]) => `${what} ${n}`)
      .join(', ');
    issue(
      ['network', 'cidr'],
      `${cidr} leaves ${room} assignable addresses in each private subnet (after AWS's 5 and the NLB reservation); this stack needs ${need} there (${detail}): use a larger CIDR, e.g. a /20`,
    );
  }
}

function uniqueBy<T>(items: T[], key: (item: T) => string, path: (string | number)[], issue: (path: (string | number)[], message: string) => void): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) issue([...path, i], `duplicate "${k}"`);
    seen.add(k);
  });
}

type Issue = (path: (string | number)[], message: string) => void;

/** Each spoke's CIDR inside the pool and apart from the others, ports and names unique, accounts shared with. */
function checkSpokeRegistry(
  cfg: {
    network: { cidr: string; spokeCidrPool: string };
    providerHubs: ProviderKind[];
    onPrem?: { cidr: string };
    sharing: { organizationArn?: string; externalAccountIds: string[] };
    spokes: SpokeRegistryEntry[];
  },
  issue: Issue,
): void {
  const { spokeCidrPool } = cfg.network;
  cfg.spokes.forEach((spoke, i) => {
    const at = (key: string) => ['spokes', i, key];
    if (isCidr(spoke.cidr) && isCidr(spokeCidrPool) && !cidrContains(spokeCidrPool, spoke.cidr)) {
      issue(at('cidr'), `${spoke.cidr} is outside network.spokeCidrPool ${spokeCidrPool}: the hub routes only the pool to the Transit Gateway`);
    }
    if (cfg.onPrem && cidrsOverlap(spoke.cidr, cfg.onPrem.cidr)) issue(at('cidr'), `${spoke.cidr} overlaps the on-prem network ${cfg.onPrem.cidr}`);
    if (!cfg.providerHubs.includes(spoke.kind)) issue(at('kind'), `"${spoke.kind}" is not in providerHubs (${cfg.providerHubs.join(', ')})`);
    cfg.spokes.slice(0, i).forEach((other, j) => {
      if (cidrsOverlap(spoke.cidr, other.cidr)) issue(at('cidr'), `${spoke.cidr} overlaps spokes[${j}] (${other.stack}) ${other.cidr}`);
      if (spoke.hubPort === other.hubPort) issue(at('hubPort'), `${spoke.hubPort} is taken by spokes[${j}] (${other.stack}): each spoke has its own hub NLB port`);
      if (spoke.stack === other.stack) issue(at('stack'), `duplicate "${spoke.stack}"`);
      if (spoke.accountId === other.accountId) issue(at('accountId'), `${spoke.accountId} is spokes[${j}] (${other.stack}): one account per spoke`);
    });
    const roleAccount = /::(\d{12}):/.exec(spoke.deployRoleArn)?.[1];
    if (roleAccount !== spoke.accountId) issue(at('deployRoleArn'), `the role must be in the spoke account ${spoke.accountId}`);
    if (!cfg.sharing.organizationArn && !cfg.sharing.externalAccountIds.includes(spoke.accountId)) {
      issue(at('accountId'), `${spoke.accountId} is in neither sharing.externalAccountIds nor an organization (sharing.organizationArn): the Transit Gateway is not shared with it`);
    }
  });
}

export type HubConfig = z.output<typeof hubConfigSchema>;
export type SpokeConfig = z.output<typeof spokeConfigSchema>;
export type SpokeProvider = SpokeConfig['provider'];
export type BedrockProvider = Extract<SpokeProvider, { kind: 'bedrock' }>;
export type TeamConfig = HubConfig['api']['teams'][number];
export type CacheConfig = z.output<typeof cacheSchema>;
export type RuntimeAlarmsConfig = z.output<typeof runtimeAlarmsSchema>;
