/**
 * `ai-gateway key create` and `key hash`, run as the built bin (the suite runs after
 * `npm run build`): the printed hash verifies against the printed key, and the printed
 * config entry, pasted into a config, lets that key in and nobody else.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { hashKey } from '../../runtime/src/tenants/auth';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { generateKey } from '../../runtime/src/tenants/keys';
import { simulatedConfig, startGateway } from '../helpers/gateway';
import { chatAs } from './helpers';

const BIN = resolve(__dirname, '../../bin/ai-gateway.js');
const run = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, input });

describe('ai-gateway key', () => {
  it('create prints a new key, its hash and a tenants entry that admits that key', async () => {
    const out = run(['key', 'create', '--tenant', 'team-x']);
    expect(out.status).toBe(0);
    expect(out.stderr).toBe('');
    const key = /^key: (\S+)$/m.exec(out.stdout)?.[1];
    const hash = /^hash: (\S+)$/m.exec(out.stdout)?.[1];
    expect(key).toMatch(/^aigw-[A-Za-z0-9_-]{43}$/);
    expect(hash).toBe(hashKey(key!));
    expect(out.stdout).not.toMatch(new RegExp(`tenants:[\\s\\S]*${key}`)); // the key itself is never in the config entry

    const snippet = parseYaml(out.stdout.slice(out.stdout.indexOf('tenants:'))) as Pick<GatewayConfigInput, 'tenants'>;
    expect(snippet.tenants).toEqual([{ id: 'team-x', keys: [hash], models: ['*'] }]);
    const gw = await startGateway({ ...simulatedConfig(), ...snippet });
    try {
      expect((await chatAs(gw.url, key!)).status).toBe(200);
      expect((await chatAs(gw.url, `${key}x`)).status).toBe(401);
    } finally {
      await gw.close();
    }
  });

  it('makes a different key every time', () => {
    const keys = new Set(Array.from({ length: 50 }, generateKey));
    expect(keys.size).toBe(50);
  });

  it('hash prints the sha256: hash of a key given as argument or on stdin', () => {
    const arg = run(['key', 'hash', 'my-secret-key']);
    expect(arg.status).toBe(0);
    expect(arg.stdout).toBe(`${hashKey('my-secret-key')}\n`);
    const stdin = run(['key', 'hash'], 'my-secret-key\n');
    expect(stdin.stdout).toBe(`${hashKey('my-secret-key')}\n`);
  });

  it('exits 2 with the reason on bad use', () => {
    const badId = run(['key', 'create', '--tenant', 'team x']);
    expect(badId.status).toBe(2);
    expect(badId.stderr).toMatch(/invalid tenant id "team x": letters, digits/);
    const unknown = run(['key', 'rotate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown subcommand "key rotate"\nusage: ai-gateway key create/);
    const empty = run(['key', 'hash'], '');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/no key given/);
  });
});
