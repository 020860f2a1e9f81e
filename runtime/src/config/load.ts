/** Reads the config file (YAML or JSON), validates it and names the key path of any error. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `providers.0.accounts.1.id` style path, `(root)` for the whole document. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], source: string): string {
  const lines = issues.map((i) => `  - ${formatIssuePath(i.path)}: ${i.message}`);
  return `invalid config ${source}:\n${lines.join('\n')}`;
}

export function parseConfig(doc: unknown, source = '(inline)'): GatewayConfig {
  const result = configSchema.safeParse(doc);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, source));
  return result.data;
}

export function parseConfigText(text: string, source = '(inline)'): GatewayConfig {
  let doc: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError(`invalid config ${source}: not YAML or JSON: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) throw new ConfigError(`invalid config ${source}: the file is empty`);
  return parseConfig(doc, source);
}

export function loadConfigFile(path: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text, path);
}

/** The config for a process: GATEWAY_CONFIG_JSON (inline, as Lambda gets it) or a file path. */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv, path = env.GATEWAY_CONFIG): GatewayConfig {
  if (path) return loadConfigFile(path);
  if (env.GATEWAY_CONFIG_JSON) return parseConfigText(env.GATEWAY_CONFIG_JSON, 'GATEWAY_CONFIG_JSON');
  throw new ConfigError('no config: pass --config FILE or set GATEWAY_CONFIG (or GATEWAY_CONFIG_JSON)');
}
