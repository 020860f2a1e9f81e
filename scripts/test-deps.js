#!/usr/bin/env node
/**
 * The `deps` step of `npm test`: the suite runs a real redis-server and a headless Chromium.
 * Finds them; where missing, installs them as Debian and Ubuntu do (apt-get, non-interactive)
 * when root or with passwordless sudo, and otherwise stops at once with the exact command.
 * Run alone (`node scripts/test-deps.js`) it prints what it found.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { accessSync, constants, readFileSync } = require('node:fs');
const { delimiter, join } = require('node:path');

/** What the suite needs: the variable the test helpers read, the commands to look for, the apt package. */
const NEEDS = [
  { name: 'redis-server', env: 'REDIS_SERVER_BIN', commands: ['redis-server'], apt: () => 'redis-server' },
  // Ubuntu ships Chromium as chromium-browser (a deb that installs the snap).
  { name: 'Chromium', env: 'CHROMIUM_PATH', commands: ['chromium', 'chromium-browser'], apt: (os) => (os.ubuntu ? 'chromium-browser' : 'chromium') },
];

class DepsError extends Error {}

function which(command, env) {
  if (command.includes('/')) return command;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The binary's `--version` line when it runs, else undefined. */
function versionOf(file, env) {
  const r = spawnSync(file, ['--version'], { env, encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined;
}

/** { file, version } of a need, or undefined. A path set in its variable is the only candidate. */
function find(need, env) {
  const candidates = env[need.env] ? [env[need.env]] : need.commands;
  for (const command of candidates) {
    const file = which(command, env);
    const version = file && versionOf(file, env);
    if (version) return { file, version };
  }
  return undefined;
}

function readOsRelease(file = '/etc/os-release') {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // not Linux, or a minimal image: treated as Debian-like
  }
  const field = (key) => (text.match(new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm')) ?? [])[1] ?? '';
  const ids = [field('ID'), ...field('ID_LIKE').split(' ')];
  return { ubuntu: ids.includes('ubuntu') };
}

const NONINTERACTIVE = 'DEBIAN_FRONTEND=noninteractive';

/**
 * How to install `packages`: { run: [argv, ...] } when this process may (root, or sudo without
 * a password), else { ask: 'the command for a person to run' }.
 */
function installPlan(packages, { uid, hasAptGet, hasSudo, sudoWithoutPassword }) {
  const list = packages.join(' ');
  if (!hasAptGet) {
    return { ask: `install ${list} with this system's package manager (no apt-get here), or point REDIS_SERVER_BIN / CHROMIUM_PATH at them` };
  }
  // Commands run with DEBIAN_FRONTEND=noninteractive in their environment; sudo resets it, hence the argument.
  const install = ['apt-get', 'install', '-y', '-q', ...packages];
  if (uid === 0) return { run: [['apt-get', 'update', '-q'], install] };
  if (sudoWithoutPassword)
    return {
      run: [
        ['sudo', '-n', 'apt-get', 'update', '-q'],
        ['sudo', '-n', NONINTERACTIVE, ...install],
      ],
    };
  const sudo = hasSudo ? 'sudo ' : '';
  const command = `${sudo}apt-get update && ${sudo}${NONINTERACTIVE} apt-get install -y ${list}`;
  return { ask: hasSudo ? command : `as root: ${command}` };
}

/**
 * Finds every need, installing what is missing when allowed. Returns the environment for the
 * test runs ({ REDIS_SERVER_BIN, CHROMIUM_PATH }) and logs one line per need; throws DepsError
 * with what to run when something is missing and cannot be installed here.
 */
function ensureTestDeps(env = process.env, log = console.log, uid = process.getuid?.() ?? -1) {
  let found = NEEDS.map((need) => [need, find(need, env)]);
  const missing = found.filter(([, f]) => !f).map(([need]) => need);
  if (missing.length > 0) {
    const explicit = missing.filter((need) => env[need.env]);
    if (explicit.length > 0) {
      throw new DepsError(explicit.map((need) => `${need.env}=${env[need.env]} does not run (${need.name}): fix or unset it`).join('\n'));
    }
    const os = readOsRelease();
    const packages = missing.map((need) => need.apt(os));
    const hasSudo = uid !== 0 && which('sudo', env) !== undefined;
    const plan = installPlan(packages, {
      uid,
      hasAptGet: which('apt-get', env) !== undefined,
      hasSudo,
      sudoWithoutPassword: hasSudo && spawnSync('sudo', ['-n', 'true'], { env, stdio: 'ignore' }).status === 0,
    });
    const names = missing.map((need) => need.name).join(' and ');
    if (plan.ask) throw new DepsError(`the tests need ${names}, which ${missing.length > 1 ? 'are' : 'is'} not installed. Run:\n  ${plan.ask}\nthen npm test again.`);
    log(`deps: installing ${packages.join(' ')} (${names} not found) with apt-get: a minute or two`);
    for (const argv of plan.run) {
      const r = spawnSync(argv[0], argv.slice(1), { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (r.status !== 0) {
        const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n').slice(-15).join('\n');
        throw new DepsError(`"${argv.join(' ')}" failed (exit ${r.status ?? r.signal}):\n${output}\nInstall ${packages.join(' ')} and run npm test again.`);
      }
    }
    found = NEEDS.map((need) => [need, find(need, env)]);
    const still = found.filter(([, f]) => !f).map(([need]) => need);
    if (still.length > 0) {
      const each = still.map((need) => `${need.name} (looked for ${need.commands.join(', ')} on PATH; set ${need.env} to one that runs)`);
      throw new DepsError(`apt-get installed ${packages.join(' ')}, but this still does not run: ${each.join('; ')}`);
    }
  }
  const testEnv = {};
  for (const [need, f] of found) {
    testEnv[need.env] = f.file;
    log(`deps: ${need.name} ${f.file} (${f.version})`);
  }
  return testEnv;
}

module.exports = { ensureTestDeps, installPlan, readOsRelease, NEEDS, DepsError };

if (require.main === module) {
  try {
    ensureTestDeps();
  } catch (err) {
    if (!(err instanceof DepsError)) throw err;
    console.error(`deps: ${err.message}`);
    process.exitCode = 1;
  }
}
