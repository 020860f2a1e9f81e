/** New tenant keys: random, shown once; only their hash goes into the config. */
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { hashKey } from './auth';

/** Prefix that makes a leaked gateway key easy to recognise (and to scan for). */
export const KEY_PREFIX = 'aigw-';

/** 32 random bytes (256 bits), base64url: safe in headers, shells and YAML. */
export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** A `tenants:` entry ready to paste into the config (YAML quotes ids such as "123" or "true"). */
export function tenantSnippet(tenantId: string, keyHash: string): string {
  const entry = stringify({ tenants: [{ id: tenantId, keys: [keyHash], models: ['*'] }] });
  return `${entry}    # limits: { rpm: 600, tpm: 1000000, concurrency: 20 }\n`;
}

export interface NewKey {
  key: string;
  hash: string;
  snippet: string;
}

export function createTenantKey(tenantId: string): NewKey {
  const key = generateKey();
  const hash = hashKey(key);
  return { key, hash, snippet: tenantSnippet(tenantId, hash) };
}
