/**
 * The one reader of stack config: takes every `ai-gateway:*` value of the stack, validates
 * it against the schema of the stack's kind (hub or spoke) and fails with every problem
 * named by its key path, e.g. `ai-gateway:network.cidr: expected a CIDR like 10.1.0.0/16`.
 */
import * as pulumi from '@pulumi/pulumi';
import type { z } from 'zod';
import { hubConfigSchema, spokeConfigSchema, type HubConfig, type SpokeConfig } from './config-schema';

export * from './config-schema';

/** The Pulumi project name, which is also the config namespace. */
export const PROJECT = 'ai-gateway';

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

export type StackKind = 'hub' | 'spoke';

export type StackConfig = { kind: 'hub'; stack: string; config: HubConfig; apiKeys: Record<string, pulumi.Output<string>> } | { kind: 'spoke'; stack: string; config: SpokeConfig };

/**
 * `hub` (or `hub-<suffix>`) is the hub; `spoke-<name>` is a spoke. Spoke names stay short:
 * they prefix load balancer and target group names, which AWS caps at 32 characters.
 */
export function stackKind(stack: string): StackKind {
  if (/^hub(-[a-z0-9-]{1,10})?$/.test(stack)) return 'hub';
  if (/^spoke-[a-z0-9][a-z0-9-]{0,9}$/.test(stack)) return 'spoke';
  throw new StackConfigError(`stack "${stack}" is neither "hub" nor "spoke-<name>" (name: up to 10 lowercase letters, digits or "-"): the stack name picks what is deployed`);
}

/** The config key holding one third-party vendor's API key (always set with --secret). */
export function apiKeyConfigKey(vendor: string): string {
  return `${vendor}ApiKey`;
}

/** `api.teams[0].name` style, as `pulumi config set --path` spells it. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined), doc);
}

function describeIssue(issue: z.core.$ZodIssue, doc: unknown, known: readonly string[]): string {
  const key = formatKeyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => (key ? `${PROJECT}:${key}.${k}: unknown key` : `${PROJECT}:${k}: unknown config key (known: ${known.join(', ')})`)).join('\n  - ');
  }
  // zod reports a bad discriminator as a union issue carrying the valid options.
  const union = issue as { discriminator?: unknown; options?: unknown };
  if (issue.code === 'invalid_union' && union.discriminator !== undefined && Array.isArray(union.options)) {
    const discriminator = typeof union.discriminator === 'string' ? union.discriminator : JSON.stringify(union.discriminator);
    const what = issue.path.length >= 2 ? `${String(issue.path[issue.path.length - 2])} ${discriminator}` : discriminator;
    const value = valueAt(doc, issue.path);
    const expected = union.options.map(String).join(', ');
    return `${PROJECT}:${key}: ${value === undefined ? `missing ${what}` : `unknown ${what} ${JSON.stringify(value)}`}; expected one of ${expected}`;
  }
  // A record key (e.g. a tag key) that fails its own schema: say why, not just "Invalid key".
  if (issue.code === 'invalid_key' && issue.issues.length > 0) {
    return `${PROJECT}:${key}: ${issue.issues.map((i) => i.message).join('; ')}`;
  }
  if (issue.code === 'invalid_type' && valueAt(doc, issue.path) === undefined && !issue.message.startsWith('missing')) {
    return `${PROJECT}:${key}: missing (expected ${issue.expected})`;
  }
  return `${PROJECT}:${key}: ${issue.message}`;
}

/** Validates the values of one stack, keyed without the namespace (`network`, not `ai-gateway:network`). */
export function parseStackConfig(stack: string, values: Record<string, unknown>): { kind: 'hub'; config: HubConfig } | { kind: 'spoke'; config: SpokeConfig } {
  const kind = stackKind(stack);
  const schema = kind === 'hub' ? hubConfigSchema : spokeConfigSchema;
  const result = schema.safeParse(values);
  if (!result.success) {
    const known = Object.keys(schema.shape);
    const lines = result.error.issues.map((i) => `  - ${describeIssue(i, values, known)}`);
    throw new StackConfigError(`invalid config for stack "${stack}":\n${lines.join('\n')}`);
  }
  return kind === 'hub' ? { kind, config: result.data as HubConfig } : { kind, config: result.data as SpokeConfig };
}

/** Pulumi keeps structured values as JSON text and plain values as-is. */
function decodeConfigValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;

/** Reads and validates this stack's config from the Pulumi runtime. */
export function readStackConfig(stack: string = pulumi.getStack()): StackConfig {
  const prefix = `${PROJECT}:`;
  const values: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [fullKey, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (key.endsWith('ApiKey')) secretKeys.push(key);
    else values[key] = decodeConfigValue(text);
  }
  const parsed = parseStackConfig(stack, values);
  if (parsed.kind === 'spoke') {
    if (secretKeys.length > 0) throw new StackConfigError(`${prefix}${secretKeys[0]}: API keys belong to the hub stack, not a spoke`);
    return { kind: 'spoke', stack, config: parsed.config };
  }
  const vendors = new Set(parsed.config.thirdParty.map((t) => apiKeyConfigKey(t.name)));
  const config = new pulumi.Config(PROJECT);
  const apiKeys: Record<string, pulumi.Output<string>> = {};
  for (const key of secretKeys) {
    if (!vendors.has(key)) throw new StackConfigError(`${prefix}${key}: no thirdParty entry named "${key.replace(/ApiKey$/, '')}"`);
    if (isConfigSecret && !isConfigSecret(`${prefix}${key}`)) {
      throw new StackConfigError(`${prefix}${key}: an API key must be set with \`pulumi config set --secret ${key}\`, never in plain text`);
    }
    apiKeys[key.replace(/ApiKey$/, '')] = config.requireSecret(key);
  }
  // A secret created empty would stop every spoke task that reads it from starting.
  const missing = parsed.config.thirdParty.map((t) => t.name).filter((name) => !(name in apiKeys));
  if (missing.length > 0) {
    throw new StackConfigError(
      missing
        .map(
          (name) =>
            `${prefix}${apiKeyConfigKey(name)}: missing: the secret ai-gateway/third-party/${name} would be created empty and spoke tasks reading it could not start; set it with \`pulumi config set --secret ${apiKeyConfigKey(name)} <key>\` (or drop "${name}" from thirdParty)`,
        )
        .join('\n'),
    );
  }
  return { kind: 'hub', stack, config: parsed.config, apiKeys };
}
