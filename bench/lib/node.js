'use strict';
/**
 * The bench measures on the Node.js line the platform deploys (infra/lib/node-runtime.ts:
 * the runtime image's base and the Lambda runtime), not on whatever Node this machine has:
 * V8's compiler and GC differ between majors, and the floor and the gateway differ in what
 * they lean on. Where this machine's Node is another major, the npm registry's Node binary
 * package for this platform (node-<os>-<arch>@<major>) is installed once under
 * node_modules/.cache/bench-node/ and the bench runs itself again on it.
 */
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const NODE_RUNTIME_TS = join(ROOT, 'infra', 'lib', 'node-runtime.ts');

/** The deployed major, read from the one constant that sets it. */
function deployedNodeMajor() {
  const match = /export const NODE_MAJOR = (\d+);/.exec(readFileSync(NODE_RUNTIME_TS, 'utf8'));
  if (!match) throw new Error(`no "export const NODE_MAJOR = <n>;" in ${NODE_RUNTIME_TS}`);
  return Number(match[1]);
}

const currentMajor = () => Number(process.versions.node.split('.')[0]);

/**
 * Path of a Node binary of `major` for this platform, installed from the npm registry on
 * first use. Throws with the command to run by hand when the install fails.
 */
function nodeBinary(major, log) {
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(ROOT, 'node_modules', '.cache', 'bench-node', String(major));
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (!existsSync(bin)) {
    const args = ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, `${pkg}@${major}`];
    log(`bench: installing Node ${major} for the bench (${pkg}@${major} from the npm registry, into ${prefix})`);
    try {
      execFileSync('npm', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (err) {
      throw new Error(
        `could not install Node ${major} (${err.message.split('\n')[0]}); run: npm ${args.join(' ')}  (or pass --node current to measure on this machine's Node ${process.version})`,
        { cause: err },
      );
    }
    if (!existsSync(bin)) throw new Error(`${pkg}@${major} installed without ${bin}`);
  }
  return bin;
}

module.exports = { currentMajor, deployedNodeMajor, nodeBinary };
