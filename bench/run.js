#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: builds dist/ if it is stale, runs every scenario against the compiled
 * gateway in separate processes, prints the tables and rewrites docs/benchmarks.md.
 *
 *   npm run bench                          everything (about 20 minutes on 2 cores)
 *   npm run bench -- --only overhead,memory   (scenarios: the names in SCENARIOS below)
 *   npm run bench -- --quick               short runs, for development (docs untouched)
 *   npm run bench -- --render              rewrite docs/benchmarks.md from the last full run
 *                                          (bench/results/last-run.json), e.g. after editing
 *                                          bench/analysis.md
 *   options: --no-build, --write-docs (also after --only/--quick), --json FILE,
 *            --node current (measure on this machine's Node, not the deployed major)
 */
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const { spawnSync } = require('node:child_process');
const { ensureBuilt } = require('./lib/build');
const { killAll, ROOT } = require('./lib/children');
const { writeDocs } = require('./lib/docs');
const { machine } = require('./lib/machine');
const { currentMajor, deployedNodeMajor, nodeBinary } = require('./lib/node');
const { scenarioSections, targetsSection } = require('./lib/report');
const { evaluate } = require('./lib/targets');

const LAST_RUN = join(__dirname, 'results', 'last-run.json');

/** In the order they run: the CPU-sensitive ones first, the socket-heavy one last. */
const SCENARIOS = [
  'overhead',
  'messages',
  'embeddings',
  'profile',
  'cold-start',
  'failover',
  'failover-outcomes',
  'throttling',
  'quota',
  'noisy-neighbour',
  'spend-overhead',
  'prompt-cache',
  'memory',
];

class UsageError extends Error {}

function options(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'no-build': { type: 'boolean', default: false },
        'write-docs': { type: 'boolean', default: false },
        json: { type: 'string' },
        render: { type: 'boolean', default: false },
        node: { type: 'string', default: 'deployed' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(`${err.message} (see --help)`);
  }
  if (values.help) {
    console.log(readFileSync(__filename, 'utf8').split('\n').slice(3, 14).join('\n').replace(/^ \*/gm, ''));
    process.exit(0);
  }
  const only = values.only
    ? values.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : SCENARIOS;
  const unknown = only.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length > 0) throw new UsageError(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  if (values.node !== 'deployed' && values.node !== 'current') throw new UsageError(`--node takes deployed or current, not ${values.node}`);
  return { ...values, only: SCENARIOS.filter((s) => only.includes(s)) };
}

/** docs/benchmarks.md again from the saved last full run (numbers unchanged, analysis re-read). */
function render() {
  const saved = JSON.parse(readFileSync(LAST_RUN, 'utf8'));
  writeDocs({ run: saved.run, results: saved.results, targets: evaluate(saved.results), quick: false, only: SCENARIOS, complete: true });
  console.log(`wrote docs/benchmarks.md from ${LAST_RUN} (run of ${saved.run.date})`);
  return 0;
}

async function main() {
  const opts = options(process.argv.slice(2));
  if (opts.render) return render();
  const log = (line) => console.log(line);
  const major = deployedNodeMajor();
  if (opts.node === 'deployed' && currentMajor() !== major) {
    // Every process the bench starts is spawned with process.execPath: running again on
    // the deployed Node measures the floor, the gateways and the Lambda bundle on it.
    const again = spawnSync(nodeBinary(major, log), [__filename, ...process.argv.slice(2)], { stdio: 'inherit' });
    return again.status ?? 1;
  }
  const started = Date.now();
  if (!opts['no-build']) ensureBuilt({ log });
  const run = {
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    date: new Date().toISOString(),
    machine: machine(),
    loadAtStart: os.loadavg(),
  };
  if (run.loadAtStart[0] > run.machine.cores * 0.5) {
    log(`warning: load average ${run.loadAtStart[0].toFixed(1)} on ${run.machine.cores} cores: other work is running and will skew the numbers`);
  }
  const results = {};
  for (const id of opts.only) {
    log(`\n== ${id}`);
    const t0 = Date.now();
    try {
      results[id] = await require(`./scenarios/${id}`).run({ quick: opts.quick, log });
    } catch (err) {
      log(`  FAILED: ${err.stack ?? err}`);
      results[id] = { error: String(err.message ?? err).split('\n')[0] };
    }
    log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  run.loadAtEnd = os.loadavg();
  run.seconds = (Date.now() - started) / 1000;
  const targets = evaluate(results);

  console.log(`\n${scenarioSections(results)}\n## Targets\n\n${targetsSection(targets)}\n`);
  console.log(`finished in ${(run.seconds / 60).toFixed(1)} min`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ run, results, targets }, null, 2));
  const complete = opts.only.length === SCENARIOS.length && !opts.quick;
  if (complete) {
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(LAST_RUN, JSON.stringify({ run, results }, null, 2));
  }
  if (complete || opts['write-docs']) {
    writeDocs({ run, results, targets, quick: opts.quick, only: opts.only, complete });
    console.log(`wrote ${join(ROOT, 'docs', 'benchmarks.md')}`);
  } else {
    console.log('docs/benchmarks.md left as it was (partial or quick run; --write-docs writes it anyway)');
  }
  return Object.values(results).some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err) => {
    console.error(err instanceof UsageError ? `bench: ${err.message}` : (err.stack ?? err));
    killAll();
    process.exit(1);
  },
);
