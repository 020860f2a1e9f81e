'use strict';
/**
 * Open-file limits: thousands of concurrent streams need thousands of sockets in this
 * process and in the gateway. Children inherit our limit, so raising our own soft limit
 * (up to the hard one, with prlimit from util-linux) raises theirs too.
 */
const { execFileSync } = require('node:child_process');

function limits() {
  const out = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
  const num = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(out[0]), hard: num(out[1]) };
}

/** Makes sure at least `needed` descriptors may be open; returns the soft limit now in force. */
function ensureFdLimit(needed) {
  let { soft, hard } = limits();
  if (soft >= needed) return soft;
  if (hard < needed) throw new Error(`needs ${needed} open files but the hard limit is ${hard}: raise it (e.g. ulimit -Hn ${needed}) and run again`);
  try {
    const target = hard === Infinity ? needed : hard;
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${hard === Infinity ? 'unlimited' : hard}`]);
  } catch (err) {
    throw new Error(`needs ${needed} open files, the soft limit is ${soft} and prlimit failed (${err.message}); run \`ulimit -n ${needed}\` first`, { cause: err });
  }
  ({ soft } = limits());
  if (soft < needed) throw new Error(`needs ${needed} open files but the soft limit is still ${soft}; run \`ulimit -n ${needed}\` first`);
  return soft;
}

module.exports = { ensureFdLimit, fdLimits: limits };
