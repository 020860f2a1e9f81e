'use strict';
/**
 * Cold start of the Lambda proxy: the bundle of runtime/src/lambda.ts built with the
 * esbuild options of infra/lib/bundle.ts (bundle, platform node, target node24, cjs,
 * minify), its size and largest inputs, and the time from require() of the bundle to the
 * first answer through the handler (a REST proxy event), each in a fresh `node`.
 */
const { spawn } = require('node:child_process');
const { mkdirSync, readdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { buildSync } = require('esbuild');
const { ROOT, startUpstreamProcess, track, workDir } = require('../lib/children');
const { chatBody } = require('../lib/configs');
const { summarizeProfile } = require('../lib/profile-summary');
const { median } = require('../lib/stats');

/** The deployed bundle; `sourcemap` adds a .map beside it (for the start-up profile only). */
function bundle({ sourcemap = false } = {}) {
  const outDir = join(workDir(), sourcemap ? 'lambda-mapped' : 'lambda');
  mkdirSync(outDir, { recursive: true });
  const result = buildSync({
    ...(sourcemap ? { sourcemap: 'external', sourcesContent: false } : {}),
    entryPoints: [join(ROOT, 'runtime', 'src', 'lambda.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    write: false,
    outfile: join(outDir, 'index.js'),
    metafile: true,
    logLevel: 'silent',
  });
  for (const f of result.outputFiles) writeFileSync(f.path, f.contents);
  const out = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  const byPackage = new Map();
  for (const [path, info] of Object.entries(inputs)) {
    const m = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const key = m ? m[1] : path.startsWith('runtime/') ? 'runtime/src (ours)' : path;
    byPackage.set(key, (byPackage.get(key) ?? 0) + info.bytesInOutput);
  }
  const largest = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, bytes]) => ({ name, bytes }));
  return { file: out.path, bytes: out.contents.byteLength, largest };
}

function coldRun(file, env, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = track(spawn(process.execPath, [...nodeArgs, join(__dirname, 'cold-start-child.js'), file, chatBody()], { env, stdio: ['ignore', 'pipe', 'pipe'] }), 'cold-start');
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`cold-start child exited with ${code}\n${child.output()}`));
      const line = out.split('\n').find((l) => l.startsWith('BENCH '));
      if (!line) return reject(new Error(`cold-start child printed no result\n${out}`));
      resolve({ ...JSON.parse(line.slice(6)), wallMs });
    });
  });
}

async function run({ quick, log }) {
  const b = bundle();
  log(`  bundle ${b.bytes.toLocaleString('en-US')} bytes`);
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0 });
  try {
    // The proxy role, as deployed: the upstream stands in for a spoke (it speaks our API).
    const config = { spokes: [{ id: 'spoke-a', url: up.url(0) }], models: [{ name: 'bench', targets: [{ provider: 'spokes', model: 'bench' }] }] };
    const env = { PATH: process.env.PATH, GATEWAY_ROLE: 'proxy', GATEWAY_CONFIG_JSON: JSON.stringify(config), NODE_ENV: 'production' };
    const runs = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      const r = await coldRun(b.file, env);
      if (r.status !== 200) throw new Error(`cold start: the handler answered ${r.status}`);
      runs.push(r);
    }
    const med = (k) => median(runs.map((r) => r[k]));
    const result = {
      bundleBytes: b.bytes,
      largest: b.largest,
      runs: runs.length,
      requireMs: med('requireMs'),
      firstAnswerMs: med('firstAnswerMs'),
      nodeStartMs: med('uptimeAtStartMs'),
      wallMs: med('wallMs'),
    };
    // Where start-up goes: one more cold run under the profiler, on the same code with a source map.
    const mapped = bundle({ sourcemap: true });
    const profDir = join(workDir(), 'cold-start-profile');
    await coldRun(mapped.file, env, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    const profile = summarizeProfile(join(profDir, readdirSync(profDir)[0]), 10);
    result.startupProfile = { workMs: profile.workMs, packages: profile.packages, self: profile.self };
    log(`  require ${result.requireMs.toFixed(1)} ms, first answer ${result.firstAnswerMs.toFixed(1)} ms from the start of require() (medians of ${runs.length})`);
    return result;
  } finally {
    await up.stop();
  }
}

module.exports = { id: 'cold-start', run };
