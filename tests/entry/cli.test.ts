/** The `ai-gateway` bin, as built by `npm ci` (dist/): exits non-zero with the config error. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCli } from '../../runtime/src/entry/cli';

const BIN = resolve(__dirname, '../../bin/ai-gateway.js');

describe('ai-gateway CLI', () => {
  it('exits non-zero naming the bad key path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'providers:\n  - id: x\n    type: simulated\n    accounts: [{ id: a, endpoints: [{ region: r, failureRate: 2 }] }]\n');
    const run = spawnSync(process.execPath, [BIN, '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`invalid config ${file}`);
    expect(run.stderr).toMatch(/providers\.0\.accounts\.0\.endpoints\.0\.failureRate: .*<=1/);
  });

  it('exits non-zero without a config, and on an unknown role', () => {
    const none = spawnSync(process.execPath, [BIN], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH } });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/no config: pass --config FILE or set GATEWAY_CONFIG/);
    const role = spawnSync(process.execPath, [BIN, '--config', 'x.yaml', '--role', 'hub'], { encoding: 'utf8', timeout: 20_000 });
    expect(role.status).toBe(2);
    expect(role.stderr).toMatch(/unknown role "hub"/);
  });

  it('prints its usage for --help and -h, on stdout, and exits 0', () => {
    for (const flag of ['--help', '-h']) {
      const run = spawnSync(process.execPath, [BIN, flag], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH } });
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^usage: ai-gateway --config FILE/);
      expect(run.stderr).toBe('');
    }
  });

  it('takes flags before environment', () => {
    expect(parseCli(['--config', 'a.yaml', '--port', '9000'], { GATEWAY_CONFIG: 'b.yaml', GATEWAY_ROLE: 'spoke', PORT: '1' })).toEqual({
      configPath: 'a.yaml',
      role: 'spoke',
      port: 9000,
      host: undefined,
    });
    expect(() => parseCli(['--port', '70000'], {})).toThrow(/invalid port "70000"/);
  });
});
