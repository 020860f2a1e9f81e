/**
 * The `deps` step of `npm test` (scripts/test-deps.js) on a machine without redis-server and
 * Chromium. apt-get and sudo are stand-ins on PATH that record their calls; apt-get
 * "installs" small executables that answer --version, as the real packages would.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '../../scripts/test-deps.js');
// A plain Node script (no types): the shape used here.
const { installPlan } = require(SCRIPT) as {
  installPlan(packages: string[], host: { uid: number; hasAptGet: boolean; hasSudo: boolean; sudoWithoutPassword: boolean }): { run?: string[][]; ask?: string };
};

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

interface Machine {
  bin: string;
  log: string;
  run(opts?: { asUser?: boolean; env?: Record<string, string> }): { status: number | null; stdout: string; stderr: string };
  calls(): string[];
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function executable(file: string, body: string): void {
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

/** A PATH of stand-ins only: nothing else of this machine's is found. */
function machine(tools: { aptGet?: boolean; sudo?: 'passwordless' | 'asks'; installed?: string[] }): Machine {
  const dir = mkdtempSync(join(tmpdir(), 'aigw-deps-'));
  dirs.push(dir);
  chmodSync(dir, 0o755); // readable by the unprivileged user of the sudo cases
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls.log');
  spawnSync('/bin/mkdir', ['-m', '0777', bin]);
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  const fake = (name: string) => executable(join(bin, name), `echo "${name} 1.0 (stand-in)"`);
  for (const name of tools.installed ?? []) fake(name);
  if (tools.aptGet) {
    executable(
      join(bin, 'apt-get'),
      `echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND apt-get $*" >> ${log}
if [ "$1" = install ]; then
  for pkg in "$@"; do
    case "$pkg" in
      redis-server) printf '#!/bin/sh\\necho "Redis server v=7.0.0 (stand-in)"\\n' > ${bin}/redis-server; /bin/chmod 755 ${bin}/redis-server ;;
      chromium|chromium-browser) printf '#!/bin/sh\\necho "Chromium 1.0 (stand-in)"\\n' > ${bin}/chromium; /bin/chmod 755 ${bin}/chromium ;;
    esac
  done
fi`,
    );
  }
  if (tools.sudo) {
    // sudo -n: fails when a password would be needed; otherwise runs VAR=value... command.
    executable(
      join(bin, 'sudo'),
      `echo "sudo $*" >> ${log}
[ "$1" = -n ] && shift
${tools.sudo === 'asks' ? 'echo "sudo: a password is required" >&2; exit 1' : '[ "$1" = true ] && exit 0; exec /usr/bin/env "$@"'}`,
    );
  }
  return {
    bin,
    log,
    run({ asUser = false, env = {} } = {}) {
      const childEnv = { PATH: bin, HOME: dir, ...env };
      // As root, the not-root cases run as nobody; run by anyone else, they are already not root.
      const [cmd, args] = asUser && isRoot ? ['/usr/bin/setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, SCRIPT]] : [process.execPath, [SCRIPT]];
      const r = spawnSync(cmd, args, { env: childEnv, encoding: 'utf8', timeout: 60_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    calls: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean),
  };
}

describe('npm test deps step (scripts/test-deps.js)', () => {
  it('finds redis-server and Chromium on PATH and installs nothing', () => {
    const m = machine({ aptGet: true, installed: ['redis-server', 'chromium'] });
    const r = m.run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`deps: redis-server ${m.bin}/redis-server (redis-server 1.0 (stand-in))`);
    expect(r.stdout).toContain(`deps: Chromium ${m.bin}/chromium (chromium 1.0 (stand-in))`);
    expect(m.calls()).toEqual([]);
  });

  it('finds Chromium under the name Ubuntu gives it', () => {
    const m = machine({ installed: ['redis-server', 'chromium-browser'] });
    const r = m.run();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`deps: Chromium ${m.bin}/chromium-browser`);
  });

  it('installs what is missing with apt-get, non-interactively, then finds it', () => {
    // Root runs apt-get itself; anyone else goes through passwordless sudo.
    const m = machine({ aptGet: true, sudo: 'passwordless', installed: ['redis-server'] });
    const r = m.run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/deps: installing chromium(-browser)? \(Chromium not found\) with apt-get/);
    const apt = m.calls().filter((c) => c.startsWith('DEBIAN_FRONTEND='));
    expect(apt).toHaveLength(2);
    expect(apt[0]).toBe('DEBIAN_FRONTEND=noninteractive apt-get update -q');
    expect(apt[1]).toMatch(/^DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium(-browser)?$/);
    expect(r.stdout).toContain(`deps: Chromium ${m.bin}/chromium (Chromium 1.0 (stand-in))`);
    expect(existsSync(join(m.bin, 'redis-server'))).toBe(true);
  });

  it('uses sudo -n when not root and sudo needs no password', () => {
    const m = machine({ aptGet: true, sudo: 'passwordless' });
    const r = m.run({ asUser: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(m.calls()).toEqual([
      'sudo -n true',
      'sudo -n apt-get update -q',
      expect.stringMatching(/^DEBIAN_FRONTEND=noninteractive apt-get update -q$/),
      expect.stringMatching(/^sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server chromium(-browser)?$/),
      expect.stringMatching(/^DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server chromium(-browser)?$/),
    ]);
  });

  it('stops at once with the exact command when it may not install (no root, sudo asks a password)', () => {
    const m = machine({ aptGet: true, sudo: 'asks' });
    const r = m.run({ asUser: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the tests need redis-server and Chromium, which are not installed\. Run:\n {2}sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server chromium(-browser)?\nthen npm test again\./);
    expect(m.calls()).toEqual(['sudo -n true']);
  });

  it('names what to install where there is no apt-get', () => {
    const m = machine({ installed: ['chromium'] });
    const r = m.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the tests need redis-server, which is not installed. Run:\n  install redis-server with this system\'s package manager (no apt-get here), or point REDIS_SERVER_BIN / CHROMIUM_PATH at them');
  });

  it('shows what apt-get said when it fails', () => {
    const m = machine({ installed: ['redis-server'] });
    executable(join(m.bin, 'apt-get'), 'echo "E: Unable to locate package chromium" >&2; exit 100');
    const r = m.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/"apt-get update -q" failed \(exit 100\):\nE: Unable to locate package chromium\nInstall chromium(-browser)? and run npm test again\./);
  });

  it('takes REDIS_SERVER_BIN / CHROMIUM_PATH as the only candidates, and says when one does not run', () => {
    const m = machine({ aptGet: true, installed: ['redis-server', 'chromium'] });
    executable(join(m.bin, 'my-chromium'), 'echo "Chromium 2.0"');
    const ok = m.run({ env: { CHROMIUM_PATH: join(m.bin, 'my-chromium') } });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`deps: Chromium ${m.bin}/my-chromium (Chromium 2.0)`);

    const broken = m.run({ env: { REDIS_SERVER_BIN: '/nonexistent/redis-server' } });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('REDIS_SERVER_BIN=/nonexistent/redis-server does not run (redis-server): fix or unset it');
    expect(m.calls()).toEqual([]);
  });

  it('plans the install for root, passwordless sudo and a person', () => {
    const packages = ['redis-server', 'chromium-browser'];
    expect(installPlan(packages, { uid: 0, hasAptGet: true, hasSudo: false, sudoWithoutPassword: false })).toEqual({
      run: [
        ['apt-get', 'update', '-q'],
        ['apt-get', 'install', '-y', '-q', 'redis-server', 'chromium-browser'],
      ],
    });
    expect(installPlan(packages, { uid: 1000, hasAptGet: true, hasSudo: false, sudoWithoutPassword: false })).toEqual({
      ask: 'as root: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server chromium-browser',
    });
  });
});
