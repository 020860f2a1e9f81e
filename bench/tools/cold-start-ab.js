#!/usr/bin/env node
'use strict';
/**
 * The Lambda cold start of this tree's bundle against another commit's, on this machine
 * now: the cold-start scenario's measure (a fresh `node` of the deployed major requires
 * index.js and answers one REST proxy event) for both, in alternating order. Each bundle
 * is made by its own commit's infra/lib/bundle.ts (that commit checked out in a temporary
 * git worktree, this tree's node_modules lent to it). It tells the machine's drift from the
 * bundle's: a run that misses the target against one that met it, measured side by side.
 *
 *   node bench/tools/cold-start-ab.js --against <commit> [--runs 9]
 */
const { execFileSync, spawnSync } = require('node:child_process');
const { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { parseArgs } = require('node:util');
const { buildSync } = require('esbuild');
const { ROOT, runTool, startUpstreamProcess } = require('../lib/children');
const { chatBody } = require('../lib/configs');
const { coldStartEnv } = require('../scenarios/cold-start');
const { deployedNodeMajor, nodeBinary } = require('../lib/node');
const { median } = require('../lib/stats');

const CACHE = join(ROOT, 'node_modules', '.cache', 'cold-start-ab');

/** `tree`'s Lambda package, made by its own bundle.ts, unpacked under the cache; the path of its index.js. */
function packageOf(tree, name) {
  const bundler = join(CACHE, `${name}-bundle.js`);
  // Under node_modules/.cache: the bundler's own imports (esbuild, @pulumi/pulumi) resolve from this tree.
  buildSync({ entryPoints: [join(tree, 'infra', 'lib', 'bundle.ts')], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: bundler, logLevel: 'silent' });
  const { bundleLambda, LAMBDA_FILE } = require(bundler);
  const b = bundleLambda(join(tree, 'runtime', 'src', 'lambda.ts'));
  const out = join(CACHE, name);
  rmSync(out, { recursive: true, force: true });
  for (const [file, text] of Object.entries(b.files)) {
    mkdirSync(dirname(join(out, file)), { recursive: true });
    writeFileSync(join(out, file), text);
  }
  return join(out, LAMBDA_FILE);
}

/** One fresh process: require() the bundle, answer one event; its times (ms). */
function coldRun(node, file, env) {
  const r = spawnSync(node, [join(ROOT, 'bench', 'scenarios', 'cold-start-child.js'), file, chatBody()], { env, encoding: 'utf8' });
  const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH '));
  if (r.status !== 0 || !line) throw new Error(`cold-start child of ${file} failed (exit ${r.status})\n${r.stderr}`);
  const out = JSON.parse(line.slice(6));
  if (out.status !== 200) throw new Error(`cold start of ${file}: the handler answered ${out.status}`);
  return out;
}

async function main() {
  const { values } = parseArgs({ options: { against: { type: 'string' }, runs: { type: 'string', default: '9' } } });
  if (!values.against) throw new Error('--against <commit>: the commit to compare this tree with');
  const node = nodeBinary(deployedNodeMajor(), console.log);
  const worktree = join(CACHE, 'worktree');
  mkdirSync(CACHE, { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  rmSync(worktree, { recursive: true, force: true });
  git('worktree', 'prune');
  git('worktree', 'add', '--detach', worktree, values.against);
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0 });
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(worktree, 'node_modules'));
    const files = { [values.against]: packageOf(worktree, 'other'), 'this tree': packageOf(ROOT, 'this') };
    const env = coldStartEnv(up.url(0));
    const names = Object.keys(files);
    const runs = Object.fromEntries(names.map((n) => [n, []]));
    for (let i = 0; i < Number(values.runs); i++) {
      for (const name of i % 2 ? [...names].reverse() : names) runs[name].push(coldRun(node, files[name], env));
    }
    console.log(`Node ${deployedNodeMajor()}, ${values.runs} fresh processes each, alternating; medians in ms`);
    for (const name of names) {
      const med = (k) => median(runs[name].map((r) => r[k])).toFixed(1);
      console.log(
        `${name.padEnd(12)} node start ${med('uptimeAtStartMs')}, require ${med('requireMs')}, first answer ${med('firstAnswerMs')}; index.js ${statSync(files[name]).size.toLocaleString('en-US')} bytes`,
      );
    }
  } finally {
    await up.stop();
    rmSync(worktree, { recursive: true, force: true });
    git('worktree', 'prune');
  }
}

runTool(main);
