/** Validates a config document and names the key path of any error; JSON text without YAML. */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { echo } from '../core/echo';
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

/** `doc`: the document the issues are about, so list items on the path are named by their id (tenants.37 is tenant "team-b"). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], source: string, doc?: unknown): string {
  const lines = issues.map((i) => `  - ${formatIssuePath(i.path)}: ${i.message}${namedOnPath(doc, i.path)}`);
  return `invalid config ${source}:\n${lines.join('\n')}`;
}

/**
 * The list items a path runs through, by their `id` or `name` (` (in tenant "team-b")`),
 * so an operator with many tenants or providers need not count to find one; '' when none has one.
 */
function namedOnPath(doc: unknown, path: readonly PropertyKey[]): string {
  const names: string[] = [];
  let node = doc;
  for (let i = 0; i < path.length && typeof node === 'object' && node !== null; i++) {
    node = (node as Record<PropertyKey, unknown>)[path[i]];
    if (typeof path[i] !== 'number' || i === 0 || typeof node !== 'object' || node === null) continue;
    const { id, name } = node as { id?: unknown; name?: unknown };
    const label = typeof id === 'string' ? id : typeof name === 'string' ? name : undefined;
    if (label !== undefined) names.push(`${String(path[i - 1]).replace(/s$/, '')} "${echo(label)}"`);
  }
  return names.length === 0 ? '' : ` (in ${names.join(', ')})`;
}

export function parseConfig(doc: unknown, source = '(inline)'): GatewayConfig {
  const result = configSchema.safeParse(doc);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, source, doc));
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
