/**
 * The one schema of the gateway config file. Every config type in the runtime (and the
 * spoke config that infra renders) is inferred from here, so a field exists in exactly
 * one place.
 */
import { isIP } from 'node:net';
import * as z from 'zod/mini';
import '../core/zod-messages';
import { MODEL_APIS } from '../core/embeddings';
import { embeddingsIssues } from './embeddings-rules';
import { DEFAULT_PRIORITY, PRIORITIES } from '../core/priority';

/** Shorthands for the checks used throughout. */
const text = (min = 1) => z.string().check(z.minLength(min));
const count = () => z.int().check(z.positive());

const id = z.string().check(z.minLength(1), z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits, ".", "_", ":" or "-"'));

export const PROVIDER_TYPES = ['bedrock', 'openai', 'anthropic', 'openai-compatible', 'simulated'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const credentialsSchema = z.union([
  z.strictObject({ env: text() }),
  z.strictObject({
    secretArn: z.string().check(z.regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$/, 'a Secrets Manager ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)')),
    /** When the SecretString is JSON: the field holding the key (default apiKey, api_key or key). */
    field: z.optional(text()),
  }),
  z.strictObject({ file: text() }),
]);

/** Limits of one provider model on one account; providers publish these per model. */
export const modelLimitsSchema = z.strictObject({
  rpm: z.optional(count()),
  tpm: z.optional(count()),
});

/** Behaviour of one `simulated` endpoint: what `npm start` and the benchmarks run on. */
export const simulationSchema = z.strictObject({
  latencyMs: z._default(z.number().check(z.nonnegative()), 50),
  tokensPerSecond: z._default(z.number().check(z.positive()), 200),
  failureRate: z._default(z.number().check(z.gte(0), z.lte(1)), 0),
  /** The endpoint's own quota: past it, 429 with Retry-After, as a real provider does. */
  quota: z.optional(modelLimitsSchema),
  seed: z.optional(z.int()),
});

const httpUrl = () => z.url({ protocol: /^https?$/ });

export const endpointSchema = z.strictObject({
  region: text(),
  /** Base URL override (OpenAI-style: ending in /v1). Bedrock: the runtime endpoint. */
  url: z.optional(httpUrl()),
});

/** A `simulated` provider's endpoint: an endpoint and how it behaves (other kinds take no such keys). */
export const simulatedEndpointSchema = z.strictObject({ ...endpointSchema.shape, ...simulationSchema.shape });

const accountOf = <E extends typeof endpointSchema | typeof simulatedEndpointSchema>(endpoint: E) =>
  z.strictObject({
    id,
    credentials: z.optional(credentialsSchema),
    /** Per provider model id; "*" is the default for models not listed. */
    limits: z._default(z.record(text(), modelLimitsSchema), {}),
    endpoints: z.array(endpoint).check(z.minLength(1)),
  });

const providerOf = <T extends z.ZodMiniType, E extends typeof endpointSchema | typeof simulatedEndpointSchema>(type: T, endpoint: E) =>
  z.strictObject({
    id,
    type,
    accounts: z.array(accountOf(endpoint)).check(z.minLength(1)),
    /** Extra headers sent upstream on every call (e.g. an org id); never logged. */
    headers: z.optional(z.record(z.string(), z.string())),
  });

const HOSTED_TYPES = PROVIDER_TYPES.filter((t): t is Exclude<ProviderType, 'simulated'> => t !== 'simulated');

/** The provider's `type` picks the shape of its endpoints. */
export const providerSchema = z
  .discriminatedUnion('type', [providerOf(z.enum(HOSTED_TYPES), endpointSchema), providerOf(z.literal('simulated'), simulatedEndpointSchema)], {
    // Worded as z.enum words it: the same message as every other key with a fixed set of values.
    error: (issue) => (issue.code === 'invalid_union' && issue.path?.at(-1) === 'type' ? `Invalid option: expected one of ${PROVIDER_TYPES.map((t) => `"${t}"`).join('|')}` : undefined),
  })
  .check(
    z.superRefine((p, ctx) => {
      p.accounts.forEach((a, i) => {
        if (p.type === 'bedrock' && a.credentials) {
          ctx.addIssue({
            code: 'custom',
            path: ['accounts', i, 'credentials'],
            message: 'bedrock accounts use the AWS credential chain (task role), not credentials',
          });
        }
        a.endpoints.forEach((e, j) => {
          // OpenAI and Anthropic have public default URLs; a self-hosted server has none.
          if (p.type === 'openai-compatible' && !e.url) {
            ctx.addIssue({ code: 'custom', path: ['accounts', i, 'endpoints', j, 'url'], message: 'openai-compatible endpoints need a url' });
          }
        });
      });
    }),
  );

export const timeoutsSchema = z.strictObject({
  connectMs: z.optional(count()),
  /** Streams: until the first chunk. */
  firstByteMs: z.optional(count()),
  /** Streams: between two chunks. */
  idleMs: z.optional(count()),
  /** Non-streamed answers: the whole attempt. */
  completeMs: z.optional(count()),
});

/** USD per million tokens; a self-hosted model may cost 0. */
const usdPerMTok = () => z.number().check(z.nonnegative());

export const priceSchema = z.strictObject({
  inputPerMTok: usdPerMTok(),
  outputPerMTok: usdPerMTok(),
  /** Input tokens read from the provider's prompt cache (default: the input price). */
  cachedInputPerMTok: z.optional(usdPerMTok()),
  /** Input tokens written to the provider's prompt cache (`cache_write_tokens`; Anthropic and Bedrock charge more for them; default: the input price). */
  cacheWritePerMTok: z.optional(usdPerMTok()),
});

export const targetSchema = z.strictObject({
  provider: id,
  model: text(),
  /** The largest prompt + output this provider model takes; picks a larger fallback after context_length_exceeded. */
  contextTokens: z.optional(count()),
  /** What this target charges; answers on it get a cost, budgets and `routing: cost` need it. */
  price: z.optional(priceSchema),
  /**
   * Bedrock and Anthropic targets: how `response_format` JSON reaches the model, the
   * provider's own structured output (`native`) or a forced tool call (`tool`); default
   * by model id (providers/structured/plan.ts).
   */
  structuredOutput: z.optional(z.enum(['native', 'tool'])),
  /** The provider bills a cancelled request in full: no hedged stream starts on or against it unless `hedge` says so. */
  cancelBilledInFull: z.optional(z.boolean()),
  /** Whether streams of this target may be hedged (default: unless `cancelBilledInFull`). */
  hedge: z.optional(z.boolean()),
  /** Whether this target takes cache markers (default by provider and model id: providers/prompt-cache-support.ts); false drops them. */
  promptCache: z.optional(z.boolean()),
});

const share = () => z.number().check(z.gte(0), z.lte(1));
const percentile = () => z.number().check(z.gt(0), z.lt(1));

/** How a model fails over beyond the fixed rules; every key optional (defaults: routing/failover-policy.ts, README). */
export const failoverSchema = z.strictObject({
  /** One quick retry, on a fresh connection, of a target's only route after a transient failure. */
  sameRouteRetry: z.optional(z.boolean()),
  /** The longest Retry-After waited out on a target's only route before falling back (0: never wait). */
  maxRetryAfterMs: z.optional(z.int().check(z.gte(0))),
  /** First-byte timeouts learnt per route: a multiple of a high percentile, between `minMs` and the fixed timeout. */
  adaptiveTimeouts: z.optional(
    z.strictObject({
      enabled: z.optional(z.boolean()),
      percentile: z.optional(percentile()),
      multiplier: z.optional(z.number().check(z.gte(1))),
      minMs: z.optional(count()),
      /** Observations a route needs before its own timeout replaces the fixed one. */
      minSamples: z.optional(count()),
      /** Whole answers too (their time grows with the answer's length: off by default). */
      wholeAnswers: z.optional(z.boolean()),
    }),
  ),
  /** Streams without a first chunk by the route's hedge delay start again on the next route; the first to answer wins. */
  hedging: z.optional(
    z.strictObject({
      /** Hedges per stream request of the model, at most (0: off). */
      share: z.optional(share()),
      percentile: z.optional(percentile()),
      minDelayMs: z.optional(count()),
      /** The hedge delay of a route without enough observations yet. */
      coldDelayMs: z.optional(count()),
    }),
  ),
});

/** Prompt caching and session affinity of one model (README "Prompt caching and session affinity"). */
export const promptCacheSchema = z.strictObject({
  /** Cache points after the system prompt and after the tools, added by the gateway (cache writes cost more: off by default). */
  auto: z.optional(z.boolean()),
  /** A request naming its session (x-session-id, prompt_cache_key) goes to the route that served it last (default true). */
  affinity: z.optional(z.boolean()),
  /** A request naming no session is grouped by a hash of its prefix up to its last cache marker (default false). */
  prefixAffinity: z.optional(z.boolean()),
  /** How long a session is remembered after its last request: the providers' cache lifetime (default 300000, 5 minutes). */
  sessionTtlMs: z.optional(count()),
});

export const ROUTINGS = ['ordered', 'cost'] as const;

export const modelSchema = z.strictObject({
  name: text(),
  /** What the model serves: chat completions (default) or embeddings. */
  api: z._default(z.enum(MODEL_APIS), 'chat'),
  targets: z.array(targetSchema).check(z.minLength(1)),
  timeouts: z.optional(timeoutsSchema),
  /** Embeddings: the targets name different provider models that share one vector space (the operator vouches for it). */
  interchangeable: z.optional(z.boolean()),
  /** Embeddings: inputs per provider call (at most, and never above the provider's own limit) and batches in flight at once. */
  batch: z.optional(z.strictObject({ size: z.optional(count()), concurrency: z.optional(count()) })),
  /** `ordered`: primary first, fallbacks after; `cost`: the cheapest target with headroom first. */
  routing: z._default(z.enum(ROUTINGS), 'ordered'),
  /** Overrides the top-level `failover` for this model. */
  failover: z.optional(failoverSchema),
  promptCache: z.optional(promptCacheSchema),
});

/** Shares of every route's rpm/tpm kept from lower capacity classes. */
export const capacitySchema = z
  .strictObject({
    /** Kept for critical requests: standard ones stop at 1 - criticalReserve. */
    criticalReserve: z._default(share(), 0),
    /** Batch requests stop here (default: where standard ones stop). */
    batchCeiling: z.optional(share()),
    /** How long a standard or batch request may wait for its class's headroom instead of a 429 (never past its deadline). */
    waitMs: z._default(z.int().check(z.gte(0), z.lte(60_000)), 0),
  })
  .check(
    z.superRefine((c, ctx) => {
      if (c.batchCeiling !== undefined && c.batchCeiling > 1 - c.criticalReserve + 1e-9) {
        ctx.addIssue({
          code: 'custom',
          path: ['batchCeiling'],
          message: `must be at most 1 - criticalReserve (${+(1 - c.criticalReserve).toFixed(6)}): batch never takes the critical reserve`,
        });
      }
    }),
  );

/** Spend is counted in whole nano-dollars, exact up to 2^53 of them. */
const usdCap = () => z.number().check(z.positive(), z.lte(9_000_000, 'at most 9000000 (spend is counted in nano-dollars, exact to about $9M)'));

/** Hard caps on what a tenant spends per UTC day and month. */
export const budgetSchema = z
  .strictObject({
    usdPerDay: z.optional(usdCap()),
    usdPerMonth: z.optional(usdCap()),
    /** Shares of a cap whose crossing is logged and counted once per period. */
    alertAt: z._default(z.array(z.number().check(z.gt(0), z.lte(1))), [0.8]),
    /** Output reserved for a request that sets no max_tokens (its real usage settles it). */
    defaultOutputTokens: z.optional(count()),
  })
  .check(z.refine((b) => b.usdPerDay !== undefined || b.usdPerMonth !== undefined, { message: 'a budget needs usdPerDay, usdPerMonth or both' }));

const keyHash = () => z.string().check(z.regex(/^sha256:[0-9a-f]{64}$/, '"sha256:" followed by 64 lowercase hex digits'));

export const tenantSchema = z
  .strictObject({
    id,
    /** SHA-256 hashes of the tenant's keys (`ai-gateway key create` prints one). */
    keys: z._default(z.array(keyHash()), []),
    /** Lambda role: API Gateway API key ids (`requestContext.identity.apiKeyId`) of this tenant. */
    apiKeyIds: z.optional(z.array(text())),
    /** Lambda role: a Cognito claim (`requestContext.authorizer.claims`) whose values mean this tenant. */
    cognito: z.optional(z.strictObject({ claim: text(), values: z.array(text()).check(z.minLength(1)) })),
    models: z._default(z.array(text()), ['*']),
    /** Capacity class of the tenant's requests (config `capacity`). */
    priority: z._default(z.enum(PRIORITIES), DEFAULT_PRIORITY),
    budget: z.optional(budgetSchema),
    limits: z.optional(
      z.strictObject({
        rpm: z.optional(count()),
        tpm: z.optional(count()),
        concurrency: z.optional(count()),
      }),
    ),
  })
  .check(
    z.superRefine((t, ctx) => {
      if (t.keys.length === 0 && !t.apiKeyIds?.length && !t.cognito) {
        ctx.addIssue({ code: 'custom', path: ['keys'], message: 'a tenant needs at least one of keys, apiKeyIds or cognito' });
      }
    }),
  );

/** `10.0.0.0/8`, `fd00::/8`, or one address. */
const network = z.string().check(
  z.superRefine((cidr, ctx) => {
    const [address, bits, extra] = cidr.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max))) {
      ctx.addIssue({ code: 'custom', message: 'an IPv4 or IPv6 network in CIDR notation (e.g. 10.0.0.0/8) or one address' });
    }
  }),
);

/**
 * A DNS server as node:dns takes it: `ip`, `ip:port` or `[ipv6]:port`. Checked here, or a
 * host name would stop the proxy at start (and fail a reload) without naming its key.
 */
const dnsServer = z.string().check(
  z.superRefine((server, ctx) => {
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server) ?? /^([^:]+):(\d{1,5})$/.exec(server);
    const address = m ? m[1] : server;
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    const family = isIP(address);
    if (family === 0 || (server.startsWith('[') && family !== 6) || (port !== undefined && (port < 1 || port > 65535))) {
      ctx.addIssue({ code: 'custom', message: 'an IP address with an optional port (10.0.0.2, 10.0.0.2:53, [fd00::2]:53), not a host name' });
    }
  }),
);

/** Who may read the operator pages (/metrics, /status*) once the gateway has tenants. */
export const operatorsSchema = z.strictObject({
  /** SHA-256 hashes of operator keys (`ai-gateway key create` prints one), sent as a bearer key or a Basic password. */
  keys: z._default(z.array(keyHash()), []),
  /** Source networks whose requests need no key (the connection's address; on Lambda, API Gateway's sourceIp). */
  networks: z._default(z.array(network), []),
});

export const spokeSchema = z.strictObject({
  id,
  url: httpUrl(),
  /** Logical models this spoke serves; all of them when omitted. */
  models: z.optional(z.array(text())),
});

export const serverSchema = z.strictObject({
  port: z._default(z.int().check(z.gte(0), z.lte(65535)), 8080),
  host: z._default(z.string(), '127.0.0.1'),
  /** Large enough for several images as data: URLs (base64 adds a third to each). */
  maxBodyBytes: z._default(count(), 33_554_432),
  requestTimeoutMs: z._default(count(), 120_000),
  /** On SIGTERM/SIGINT, how long requests in flight may finish (within ECS's 30 s stop timeout). */
  shutdownGraceMs: z._default(count(), 25_000),
  /** A client connection this old is closed after its current answer, so keep-alive clients (a proxy) move to new instances. */
  connectionMaxAgeMs: z._default(count(), 20_000),
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Logs and metrics. Environment defaults (EMF on in Lambda and ECS) are resolved at startup. */
export const observabilitySchema = z.strictObject({
  logLevel: z._default(z.enum(LOG_LEVELS), 'info'),
  /** Log prompts and answers with each request (off: they may hold personal data). */
  logContent: z._default(z.boolean(), false),
  /** CloudWatch embedded-metric-format lines on stdout; default: on when running in Lambda or ECS. */
  emf: z.optional(z.boolean()),
  /** EMF namespace; default GATEWAY_METRICS_NAMESPACE, else `AIGateway`. One CloudWatch does not take loses every metric line. */
  metricsNamespace: z.optional(
    z.string().check(z.maxLength(255), z.regex(/^(?!AWS\/|:)(?=.*\S)[\x20-\x7e]+$/, 'a CloudWatch namespace: printable ASCII, not all blanks, not starting with ":" or "AWS/" (reserved)')),
  ),
  /** The `Service` metric dimension and log field; default GATEWAY_METRICS_SERVICE, else `ai-gateway`. */
  serviceName: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
});

/** Kinds of personal data a local guardrail masks before a prompt leaves the gateway. */
export const MASK_KINDS = ['email', 'phone', 'card'] as const;

/** A regular expression as text, compiled at load so a typo fails there (matched case-insensitively). */
const regexText = z.string().check(
  z.minLength(1),
  z.superRefine((pattern, ctx) => {
    try {
      new RegExp(pattern, 'i');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    }
  }),
);

export const guardrailSchema = z
  .strictObject({
    id,
    /** Logical models it applies to; every model when omitted. */
    models: z.optional(z.array(text()).check(z.minLength(1))),
    /** Tenants it applies to; every request (unauthenticated ones too) when omitted. */
    tenants: z.optional(z.array(text()).check(z.minLength(1))),
    local: z.optional(
      z.strictObject({
        deny: z._default(z.array(regexText), []),
        /** What a blocked client is told; default: that a denied pattern matched. */
        reason: z.optional(text()),
        mask: z._default(z.array(z.enum(MASK_KINDS)), []),
      }),
    ),
    bedrock: z.optional(
      z.strictObject({
        guardrailId: text(),
        version: z.string().check(z.regex(/^(DRAFT|[1-9][0-9]{0,7})$/, 'DRAFT or a version number')),
        region: text(),
        url: z.optional(httpUrl()),
        timeoutMs: z._default(count(), 5_000),
      }),
    ),
    /** When the guardrail itself fails (Bedrock unreachable, 5xx): refuse the request, or let it through unchecked. */
    onError: z._default(z.enum(['block', 'allow']), 'block'),
  })
  .check(z.refine((g) => g.local !== undefined || g.bedrock !== undefined, { message: 'a guardrail needs local rules, bedrock, or both' }));

export const configSchema = z
  .strictObject({
    server: z._default(serverSchema, () => serverSchema.parse({})),
    observability: z._default(observabilitySchema, () => observabilitySchema.parse({})),
    providers: z._default(z.array(providerSchema), []),
    models: z._default(z.array(modelSchema), []),
    /** Failover tuning for every model (each model's `failover` overrides it key by key). */
    failover: z.optional(failoverSchema),
    tenants: z._default(z.array(tenantSchema), []),
    /** Operator keys and networks for /metrics and /status* (open to everyone while there are no tenants and no operators). */
    operators: z.optional(operatorsSchema),
    spokes: z._default(z.array(spokeSchema), []),
    /** Checks (deny, masking, Bedrock guardrails) run on every request before it is routed. */
    guardrails: z._default(z.array(guardrailSchema), []),
    /** Capacity classes: shares of each route's rpm/tpm kept for critical tenants. */
    capacity: z.optional(capacitySchema),
    state: z.optional(z.strictObject({ redis: z.string().check(z.regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')) })),
    /** Proxy role: how spoke DNS names are resolved (default: the system resolver). */
    dns: z.optional(
      z.strictObject({
        /** `ip` or `ip:port` of DNS servers to ask instead of the system's. */
        servers: z.optional(z.array(dnsServer).check(z.minLength(1))),
        /** Bounds on how long a resolved address set is kept, whatever the record TTL says. */
        minTtlMs: z._default(count(), 1_000),
        maxTtlMs: z._default(count(), 60_000),
      }),
    ),
  })
  .check(
    z.superRefine((cfg, ctx) => {
      const unique = (items: { id: string }[], key: string) => {
        const seen = new Set<string>();
        items.forEach((item, i) => {
          if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [key, i, 'id'], message: `duplicate id "${item.id}"` });
          seen.add(item.id);
        });
      };
      unique(cfg.providers, 'providers');
      unique(cfg.tenants, 'tenants');
      unique(cfg.spokes, 'spokes');
      unique(cfg.guardrails, 'guardrails');
      cfg.providers.forEach((p, i) => unique(p.accounts, `providers.${i}.accounts`));
      const providerIds = new Set(cfg.providers.map((p) => p.id));
      const names = new Set<string>();
      cfg.models.forEach((m, i) => {
        if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model "${m.name}"` });
        names.add(m.name);
        // A proxy forwards to spokes and may name providers it does not run itself.
        if (cfg.spokes.length > 0) return;
        m.targets.forEach((t, j) => {
          const kind = cfg.providers.find((p) => p.id === t.provider)?.type;
          if (t.structuredOutput && kind && kind !== 'bedrock' && kind !== 'anthropic') {
            ctx.addIssue({
              code: 'custom',
              path: ['models', i, 'targets', j, 'structuredOutput'],
              message: `applies to bedrock and anthropic targets only; provider "${t.provider}" is ${kind} (response_format goes to it as it is)`,
            });
          }
          if (!providerIds.has(t.provider)) {
            ctx.addIssue({
              code: 'custom',
              path: ['models', i, 'targets', j, 'provider'],
              message: `unknown provider "${t.provider}" (known: ${[...providerIds].join(', ') || 'none'})`,
            });
          }
        });
      });
      for (const issue of embeddingsIssues(cfg.models, cfg.providers, cfg.spokes.length > 0)) ctx.addIssue({ code: 'custom', ...issue });
      checkPrices(cfg, ctx);
      cfg.spokes.forEach((s, i) =>
        s.models?.forEach((m, j) => {
          if (!names.has(m)) ctx.addIssue({ code: 'custom', path: ['spokes', i, 'models', j], message: `unknown model "${m}"` });
        }),
      );
      const tenantIds = new Set(cfg.tenants.map((t) => t.id));
      cfg.guardrails.forEach((g, i) => {
        g.models?.forEach((m, j) => {
          if (!names.has(m)) ctx.addIssue({ code: 'custom', path: ['guardrails', i, 'models', j], message: `unknown model "${m}"` });
        });
        g.tenants?.forEach((t, j) => {
          if (!tenantIds.has(t)) ctx.addIssue({ code: 'custom', path: ['guardrails', i, 'tenants', j], message: `unknown tenant "${t}"` });
        });
      });
      cfg.tenants.forEach((t, i) =>
        t.models.forEach((m, j) => {
          if (m !== '*' && !names.has(m)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'models', j], message: `unknown model "${m}"` });
        }),
      );
      // One identity, one tenant: a key, API key id or claim value shared by two tenants would be ambiguous.
      const owners = new Map<string, string>();
      cfg.tenants.forEach((t, i) => {
        const claim = (path: PropertyKey[], kind: string, values: readonly string[]) =>
          values.forEach((v, j) => {
            const owner = owners.get(`${kind}\n${v}`);
            if (owner !== undefined && owner !== t.id) {
              ctx.addIssue({ code: 'custom', path: ['tenants', i, ...path, j], message: `already given to tenant "${owner}"` });
            }
            owners.set(`${kind}\n${v}`, t.id);
          });
        claim(['keys'], 'key', t.keys);
        claim(['apiKeyIds'], 'apiKeyId', t.apiKeyIds ?? []);
        if (t.cognito) claim(['cognito', 'values'], `claim ${t.cognito.claim}`, t.cognito.values);
      });
    }),
  );

/** Cost routing and budgets read prices: every target they may use must have one. */
function checkPrices(
  cfg: { models: { name: string; routing: string; targets: { price?: unknown }[] }[]; tenants: { id: string; models: string[]; budget?: unknown }[] },
  ctx: { addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void },
): void {
  const budgeted = cfg.tenants.filter((t) => t.budget !== undefined);
  cfg.models.forEach((m, i) => {
    const payer = budgeted.find((t) => t.models.includes('*') || t.models.includes(m.name));
    const why =
      m.routing === 'cost' ? 'routing: cost needs a price on every target' : payer ? `tenant "${payer.id}" has a budget and may use this model: every target needs a price` : undefined;
    if (!why) return;
    m.targets.forEach((t, j) => {
      if (t.price === undefined) ctx.addIssue({ code: 'custom', path: ['models', i, 'targets', j, 'price'], message: why });
    });
  });
}

export type GatewayConfig = z.output<typeof configSchema>;
export type GatewayConfigInput = z.input<typeof configSchema>;
export type ProviderConfig = GatewayConfig['providers'][number];
export type AccountConfig = ProviderConfig['accounts'][number];
export type EndpointConfig = AccountConfig['endpoints'][number];
export type SimulatedProviderConfig = Extract<ProviderConfig, { type: 'simulated' }>;
export type SimulatedEndpointConfig = SimulatedProviderConfig['accounts'][number]['endpoints'][number];
export type ModelConfig = GatewayConfig['models'][number];
export type TargetConfig = ModelConfig['targets'][number];
export type FailoverConfig = z.output<typeof failoverSchema>;
export type TenantConfig = GatewayConfig['tenants'][number];
export type SpokeConfig = GatewayConfig['spokes'][number];
export type ModelLimits = z.output<typeof modelLimitsSchema>;
export type Credentials = z.output<typeof credentialsSchema>;
export type GuardrailConfig = GatewayConfig['guardrails'][number];
export type MaskKind = (typeof MASK_KINDS)[number];
export type ObservabilityConfig = z.output<typeof observabilitySchema>;
export type PriceConfig = z.output<typeof priceSchema>;
export type CapacityConfig = z.output<typeof capacitySchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type OperatorsConfig = z.output<typeof operatorsSchema>;

export const ROLES = ['all-in-one', 'proxy', 'spoke'] as const;
export type Role = (typeof ROLES)[number];
