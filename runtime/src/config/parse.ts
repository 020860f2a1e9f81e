/** Validates a config document and names the key path of any error; JSON text without YAML. */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { configSchema, type GatewayConfig } from './schema';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Turns the text of a config into the config, or throws a ConfigError naming `source`. */
export type ConfigTextParser = (text: string, source: string) => GatewayConfig;

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

/** JSON only: what the Lambda proxy reads (inline, SSM), without the YAML parser in its bundle. */
export const parseConfigJson: ConfigTextParser = (text, source) => {
  if (text.trim() === '') throw new ConfigError(`invalid config ${source}: the text is empty`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`invalid config ${source}: not JSON: ${(err as Error).message}`);
  }
  return parseConfig(doc, source);
};

/** A config file's text, or a ConfigError naming the file. */
export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
