'use strict';
/** What the numbers were measured on: they mean little without it. */
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const { NODE_FLAGS, ROOT } = require('./children');
const { deployedNodeMajor } = require('./node');

function git(args) {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine() {
  const cpus = os.cpus();
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'runtime']) !== '';
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    ramGb: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nodeDeployedMajor: deployedNodeMajor(),
    nodeFlags: NODE_FLAGS,
    commit: commit ? `${commit}${dirty ? ' with uncommitted changes in runtime/' : ''}` : 'unknown',
  };
}

module.exports = { machine };
