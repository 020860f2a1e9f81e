#!/usr/bin/env node
/**
 * `npm test`: the named steps below, in order, then one line over both Jest runs,
 * "tests: N passed, N failed[, N skipped]" (also in .test-results/summary.json).
 * A failed gate step stops the run; both Jest runs run once reached, and any failure
 * makes the exit status 1. Arguments after `npm test --` go to both Jest runs.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { ensureTestDeps, DepsError } = require('./test-deps');
const { ensureDeployedNode, NodeBinaryError } = require('./test-node');

const ROOT = join(__dirname, '..');
const RESULTS = join(ROOT, '.test-results');
const JEST = require.resolve('jest/bin/jest');

/**
 * A step returns true (passed) or false, or for a Jest run its counts. `gate` steps stop
 * the run when they fail; a new check is one more entry like `lint`. tests/infra run only on this
 * Node: Pulumi runs the program in its CLI's Node, the runtime runs on Lambda's and the
 * image's (Node 24).
 */
const STEPS = [
  { name: 'deps', gate: true, run: deps },
  { name: 'build', gate: true, run: () => npmRun('build') },
  { name: 'typecheck', gate: true, run: () => npmRun('typecheck') },
  // Not a gate: a lint finding fails the run (counted as one failure) but the tests still run.
  { name: 'lint', run: () => npmRun('lint') },
  { name: 'jest', run: (ctx) => jest(ctx, 'jest', { file: process.execPath, version: process.versions.node }, []) },
  // --passWithNoTests: `npm test -- tests/infra` leaves this run nothing to run.
  { name: 'jest-node24', run: (ctx) => jest(ctx, 'jest-node24', ctx.deployedNode, ['--testPathIgnorePatterns', '/tests/infra/', '--passWithNoTests']) },
];

function deps(ctx) {
  try {
    ctx.testEnv = ensureTestDeps();
    ctx.deployedNode = ensureDeployedNode();
    console.log(`deps: Node ${ctx.deployedNode.version} ${relative(ROOT, ctx.deployedNode.file)}`);
    return true;
  } catch (err) {
    if (!(err instanceof DepsError || err instanceof NodeBinaryError)) throw err;
    console.error(`deps: ${err.message}`);
    return false;
  }
}

function run(command, args, env = process.env) {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.error) console.error(`${command}: ${r.error.message}`);
  return r.status;
}

function npmRun(script) {
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  return run(npm[0], [...npm.slice(1), 'run', script]) === 0;
}

/** A Jest run on `node`, counted from its JSON report; a run that exits non-zero counts at least one failure. */
function jest(ctx, name, node, args) {
  const report = join(RESULTS, `${name}.json`);
  rmSync(report, { force: true });
  console.log(`Node ${node.version} (${node.file})`);
  const status = run(node.file, [JEST, '--json', `--outputFile=${report}`, ...args, ...ctx.jestArgs], { ...process.env, ...ctx.testEnv });
  let counts = { passed: 0, failed: 0, skipped: 0 };
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests + r.numRuntimeErrorTestSuites, skipped: r.numPendingTests + r.numTodoTests };
  } catch {
    console.error(`${name}: no Jest report at ${relative(ROOT, report)}`);
  }
  if (status !== 0 && counts.failed === 0) counts.failed = 1;
  return { ...counts, node: node.version };
}

function summaryLine({ passed, failed, skipped }) {
  return `tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

function main(argv) {
  mkdirSync(RESULTS, { recursive: true });
  const ctx = { jestArgs: argv, testEnv: {}, deployedNode: undefined };
  const results = [];
  let stopped = false;
  for (const step of STEPS) {
    if (stopped) {
      results.push({ step: step.name, status: 'not run' });
      continue;
    }
    console.log(`\n== npm test: ${step.name} ==`);
    const started = Date.now();
    const outcome = step.run(ctx);
    const counts = typeof outcome === 'object' ? outcome : undefined;
    const ok = counts ? counts.failed === 0 : outcome === true;
    results.push({ step: step.name, status: ok ? 'passed' : 'failed', seconds: (Date.now() - started) / 1000, ...counts });
    if (!ok && step.gate) stopped = true;
  }

  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) {
    // A failed step that is not a Jest run counts as one failed test, so the line never hides it.
    if (r.passed === undefined && r.status === 'failed') total.failed += 1;
    for (const key of Object.keys(total)) total[key] += r[key] ?? 0;
  }
  const line = summaryLine(total);
  writeFileSync(join(RESULTS, 'summary.json'), `${JSON.stringify({ ...total, line, steps: results }, null, 2)}\n`);

  console.log('\n== npm test: summary ==');
  for (const r of results) {
    const time = r.seconds === undefined ? '' : `${r.seconds.toFixed(1)} s`;
    const tests = r.passed === undefined ? '' : `  ${summaryLine(r).slice('tests: '.length)} (Node ${r.node})`;
    console.log(`  ${r.step.padEnd(12)} ${r.status.padEnd(8)} ${time.padStart(8)}${tests}`);
  }
  console.log(line);
  return total.failed === 0 && results.every((r) => r.status === 'passed') ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
