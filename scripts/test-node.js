#!/usr/bin/env node
/**
 * The Node that Lambda (nodejs24.x) and the runtime image run, for the second Jest run of
 * `npm test`: the npm registry's binary package node-<platform>-<arch>, installed once into
 * .cache/ (gitignored; `npm ci` does not remove it). TEST_NODE_BIN names a binary to use
 * instead (for a platform without such a package). Run alone it prints the binary's path.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

/** Pinned: a bump is a reviewed change, like any dependency's. */
const DEPLOYED_NODE_VERSION = '24.22.3';
const ROOT = join(__dirname, '..');

class NodeBinaryError extends Error {}

function packageName(platform = process.platform, arch = process.arch) {
  return `node-${platform === 'win32' ? 'win' : platform}-${arch}`;
}

function versionOf(file) {
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '') : undefined;
}

function binaryIn(dir, pkg) {
  const installed = join(dir, 'node_modules', pkg);
  const { bin } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  return join(installed, typeof bin === 'string' ? bin : bin.node);
}

/** npm itself: the one running `npm test` when there is one. */
function npmCommand(env) {
  return env.npm_execpath ? [process.execPath, env.npm_execpath] : [process.platform === 'win32' ? 'npm.cmd' : 'npm'];
}

/** { file, version } of the deployed Node, installing it into .cache/node/ when not there yet. */
function ensureDeployedNode(env = process.env, log = console.log) {
  const major = DEPLOYED_NODE_VERSION.split('.')[0];
  if (env.TEST_NODE_BIN) {
    const version = versionOf(env.TEST_NODE_BIN);
    if (!version?.startsWith(`${major}.`)) {
      throw new NodeBinaryError(`TEST_NODE_BIN=${env.TEST_NODE_BIN} is ${version ? `Node ${version}` : 'not a Node that runs'}; the second test run needs Node ${major}`);
    }
    return { file: env.TEST_NODE_BIN, version };
  }
  const pkg = packageName();
  const spec = `${pkg}@${DEPLOYED_NODE_VERSION}`;
  const dir = join(ROOT, '.cache', 'node', spec);
  if (existsSync(dir)) {
    const file = binaryIn(dir, pkg);
    const version = versionOf(file);
    if (version === DEPLOYED_NODE_VERSION) return { file, version };
    rmSync(dir, { recursive: true, force: true });
  }
  log(`deps: installing Node ${DEPLOYED_NODE_VERSION} (${spec}, the Node Lambda and the image run) from the npm registry into .cache/node/`);
  // Installed beside its final place and renamed when complete: an interrupted install leaves no half a binary.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  writeFileSync(join(partial, 'package.json'), JSON.stringify({ private: true, dependencies: { [pkg]: DEPLOYED_NODE_VERSION } }));
  const [npm, ...npmArgs] = npmCommand(env);
  const r = spawnSync(npm, [...npmArgs, 'install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--loglevel=error'], {
    cwd: partial,
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n').slice(-8).join('\n');
    const missing = /E404|No match found/.test(output) ? ` (the registry has no ${spec} for ${process.platform}-${process.arch})` : '';
    throw new NodeBinaryError(`could not install ${spec} from the npm registry${missing}:\n${output}\nSet TEST_NODE_BIN to a Node ${major} binary to use instead.`);
  }
  const version = versionOf(binaryIn(partial, pkg));
  if (version !== DEPLOYED_NODE_VERSION) {
    rmSync(partial, { recursive: true, force: true });
    throw new NodeBinaryError(`${spec} installed but its binary ${version ? `says ${version}` : 'does not run'}; set TEST_NODE_BIN to a Node ${major} binary to use instead`);
  }
  if (existsSync(dir))
    rmSync(partial, { recursive: true, force: true }); // another run finished first
  else renameSync(partial, dir);
  return { file: binaryIn(dir, pkg), version };
}

module.exports = { ensureDeployedNode, NodeBinaryError, DEPLOYED_NODE_VERSION };

if (require.main === module) {
  try {
    console.log(ensureDeployedNode(process.env, console.error).file);
  } catch (err) {
    if (!(err instanceof NodeBinaryError)) throw err;
    console.error(`deps: ${err.message}`);
    process.exitCode = 1;
  }
}
