/**
 * `ai-gateway key create [--tenant ID]`: a new random key, its `sha256:` hash and a
 * `tenants:` entry for the config. `ai-gateway key hash [KEY]`: the hash of an existing
 * key (read from stdin when not given, so it stays out of shell history).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hashKey } from './auth';
import { tenantSchema } from '../config/schema';
import { createTenantKey } from './keys';

export const KEY_USAGE = `usage: ai-gateway key create [--tenant ID]   a new key, its hash and a config entry
       ai-gateway key hash [KEY]             the sha256: hash of KEY (read from stdin without KEY)`;

export interface KeyCommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Standard input, read whole (for `key hash` without KEY). */
  stdin(): string;
}

export const processIo: KeyCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin: () => readFileSync(0, 'utf8'),
};

/** Runs `key ...` (argv after `key`); returns the exit status: 0 done, 2 usage error. */
export function runKeyCommand(argv: string[], io: KeyCommandIo = processIo): number {
  const usage = (problem: string) => {
    io.err(`${problem}\n${KEY_USAGE}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { tenant: { type: 'string', short: 't' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${KEY_USAGE}\n`);
    return 0;
  }
  const [sub, ...rest] = positionals;

  if (sub === 'create') {
    if (rest.length > 0) return usage(`unexpected argument "${rest[0]}"`);
    const tenant = values.tenant ?? 'my-team';
    const id = tenantSchema.shape.id.safeParse(tenant);
    if (!id.success) return usage(`invalid tenant id "${tenant}": ${id.error.issues[0]?.message ?? 'not a valid id'}`);
    const made = createTenantKey(tenant);
    io.out(
      [
        `key: ${made.key}`,
        `hash: ${made.hash}`,
        '',
        `# Give the key to the tenant now: only its hash is stored, it cannot be shown again.`,
        `# Add the hash to the tenant's keys in the config (keep an old hash until its clients have moved):`,
        made.snippet,
      ].join('\n'),
    );
    return 0;
  }

  if (sub === 'hash') {
    if (values.tenant !== undefined) return usage('--tenant only applies to "key create"');
    if (rest.length > 1) return usage(`unexpected argument "${rest[1]}"`);
    const key = (rest[0] ?? io.stdin()).trim();
    if (key === '') return usage('no key given: pass KEY or send it on stdin');
    io.out(`${hashKey(key)}\n`);
    return 0;
  }

  return usage(sub === undefined ? 'missing subcommand' : `unknown subcommand "key ${sub}"`);
}
