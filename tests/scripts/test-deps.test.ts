/**
 * The `deps` step of `npm test` (scripts/test-deps.js) on a machine without redis-server and
 * Chromium. apt-get and sudo are stand-ins on PATH that record their calls; apt-get
 * "installs" small executables that answer --version, as the real packages would. Who runs
 * it (root or not) is given, as a clock would be, so every case runs whoever runs the tests.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '../../scripts/test-deps.js');
// A plain Node script (no types): the shape used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script without types
const { ensureTestDeps, installPlan, readOsRelease, NEEDS } = require(SCRIPT) as {
  ensureTestDeps(this: void, env: NodeJS.ProcessEnv, log: (line: string) => void, uid: number): Record<string, string>;
  readOsRelease(this: void, file: string): { ubuntu: boolean };
  NEEDS: { apt(os: { ubuntu: boolean }): string }[];
  installPlan(this: void, packages: string[], host: { uid: number; hasAptGet: boolean; hasSudo: boolean; sudoWithoutPassword: boolean }): { run?: string[][]; ask?: string };
};

const ROOT = 0;
const USER = 1000;

interface Machine {
  bin: string;
  env: NodeJS.ProcessEnv;
  /** The step as `npm test` runs it, in-process, as root or a user. */
  ensure(uid: number): { env?: Record<string, string>; lines: string[]; error?: string };
  /** The script run alone: `node scripts/test-deps.js`. */
  run(env?: Record<string, string>): { status: number | null; stdout: string; stderr: string };
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
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls.log');
  mkdirSync(bin);
  writeFileSync(log, '');
  for (const name of tools.installed ?? []) executable(join(bin, name), `echo "${name} 1.0 (stand-in)"`);
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
  const env = { PATH: bin, HOME: dir };
  return {
    bin,
    env,
    ensure(uid) {
      const lines: string[] = [];
      try {
        return { env: ensureTestDeps(env, (line) => lines.push(line), uid), lines };
      } catch (err) {
        return { lines, error: (err as Error).message };
      }
    },
    run(extra = {}) {
      const r = spawnSync(process.execPath, [SCRIPT], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 60_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    calls: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean),
  };
}

describe('npm test deps step (scripts/test-deps.js)', () => {
  it('finds redis-server and Chromium on PATH, installs nothing and hands their paths to the tests', () => {
    const m = machine({ aptGet: true, sudo: 'passwordless', installed: ['redis-server', 'chromium'] });
    const r = m.ensure(USER);
    expect(r.env).toEqual({ REDIS_SERVER_BIN: `${m.bin}/redis-server`, CHROMIUM_PATH: `${m.bin}/chromium` });
    expect(r.lines).toEqual([`deps: redis-server ${m.bin}/redis-server (redis-server 1.0 (stand-in))`, `deps: Chromium ${m.bin}/chromium (chromium 1.0 (stand-in))`]);
    expect(m.calls()).toEqual([]);
  });

  it('finds Chromium under the name Ubuntu gives it', () => {
    const m = machine({ installed: ['redis-server', 'chromium-browser'] });
    expect(m.ensure(USER).env?.CHROMIUM_PATH).toBe(`${m.bin}/chromium-browser`);
  });

  it('as root, installs what is missing with apt-get, non-interactively, then finds it', () => {
    const m = machine({ aptGet: true, sudo: 'passwordless', installed: ['redis-server'] });
    const r = m.ensure(ROOT);
    expect(r.error).toBeUndefined();
    expect(r.lines[0]).toMatch(/^deps: installing chromium(-browser)? \(Chromium not found\) with apt-get: a minute or two$/);
    expect(m.calls()).toEqual(['DEBIAN_FRONTEND=noninteractive apt-get update -q', expect.stringMatching(/^DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium(-browser)?$/)]);
    expect(r.env).toEqual({ REDIS_SERVER_BIN: `${m.bin}/redis-server`, CHROMIUM_PATH: `${m.bin}/chromium` });
  });

  it('not root, installs through sudo -n when sudo needs no password', () => {
    const m = machine({ aptGet: true, sudo: 'passwordless' });
    const r = m.ensure(USER);
    expect(r.error).toBeUndefined();
    expect(m.calls()).toEqual([
      'sudo -n true',
      'sudo -n apt-get update -q',
      'DEBIAN_FRONTEND=noninteractive apt-get update -q',
      expect.stringMatching(/^sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server chromium(-browser)?$/),
      expect.stringMatching(/^DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server chromium(-browser)?$/),
    ]);
    expect(r.env).toEqual({ REDIS_SERVER_BIN: `${m.bin}/redis-server`, CHROMIUM_PATH: `${m.bin}/chromium` });
  });

  it('not root and sudo asks a password: stops at once with the exact command', () => {
    const m = machine({ aptGet: true, sudo: 'asks' });
    const r = m.ensure(USER);
    expect(r.error).toMatch(
      /^the tests need redis-server and Chromium, which are not installed\. Run:\n {2}sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server chromium(-browser)?\nthen npm test again\.$/,
    );
    expect(m.calls()).toEqual(['sudo -n true']);
  });

  it('not root and no sudo: the command to run as root', () => {
    const m = machine({ aptGet: true, installed: ['chromium'] });
    expect(m.ensure(USER).error).toContain('Run:\n  as root: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server\n');
    expect(m.calls()).toEqual([]);
  });

  it('run alone: exit status 1 and the message on stderr; without apt-get, names what to install', () => {
    const m = machine({ installed: ['chromium'] });
    const r = m.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "deps: the tests need redis-server, which is not installed. Run:\n  install redis-server with this system's package manager (no apt-get here), or point REDIS_SERVER_BIN / CHROMIUM_PATH at them\nthen npm test again.\n",
    );
  });

  it('shows what apt-get said when it fails', () => {
    const m = machine({ installed: ['redis-server'] });
    executable(join(m.bin, 'apt-get'), 'echo "E: Unable to locate package chromium" >&2; exit 100');
    expect(m.ensure(ROOT).error).toMatch(/^"apt-get update -q" failed \(exit 100\):\nE: Unable to locate package chromium\nInstall chromium(-browser)? and run npm test again\.$/);
  });

  it("says so when apt-get succeeds and the binary still does not run (Ubuntu's snap without snapd)", () => {
    const m = machine({ installed: ['redis-server'] });
    executable(join(m.bin, 'apt-get'), 'exit 0');
    expect(m.ensure(ROOT).error).toMatch(
      /^apt-get installed chromium(-browser)?, but this still does not run: Chromium \(looked for chromium, chromium-browser on PATH; set CHROMIUM_PATH to one that runs\)$/,
    );
  });

  it('takes REDIS_SERVER_BIN / CHROMIUM_PATH as the only candidates, and says when one does not run', () => {
    const m = machine({ aptGet: true, installed: ['redis-server', 'chromium'] });
    executable(join(m.bin, 'my-chromium'), 'echo "Chromium 2.0"');
    const ok = m.run({ CHROMIUM_PATH: join(m.bin, 'my-chromium') });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`deps: Chromium ${m.bin}/my-chromium (Chromium 2.0)`);

    const broken = m.run({ REDIS_SERVER_BIN: '/nonexistent/redis-server' });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('REDIS_SERVER_BIN=/nonexistent/redis-server does not run (redis-server): fix or unset it');
    expect(m.calls()).toEqual([]);
  });

  it('asks apt for chromium on Debian and chromium-browser on Ubuntu and its derivatives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aigw-os-'));
    dirs.push(dir);
    const packagesOn = (osRelease: string) => {
      const file = join(dir, 'os-release');
      writeFileSync(file, osRelease);
      const os = readOsRelease(file);
      return NEEDS.map((need) => need.apt(os));
    };
    expect(packagesOn('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')).toEqual(['redis-server', 'chromium']);
    expect(packagesOn('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n')).toEqual(['redis-server', 'chromium-browser']);
    expect(packagesOn('NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n')).toEqual(['redis-server', 'chromium-browser']);
    expect(installPlan(['redis-server', 'chromium-browser'], { uid: ROOT, hasAptGet: true, hasSudo: false, sudoWithoutPassword: false }).run).toEqual([
      ['apt-get', 'update', '-q'],
      ['apt-get', 'install', '-y', '-q', 'redis-server', 'chromium-browser'],
    ]);
  });
});
