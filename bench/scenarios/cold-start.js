'use strict';
/**
 * Cold start of the Lambda proxy: the deployment package of infra/lib/bundle.ts (its own
 * bundleLambda: index.js, lazy.js with the packages loaded on first use, and their stubs),
 * its size and the largest inputs of what every cold start parses, and the time from
 * require() of index.js to the first answer through the handler (a REST proxy event), each
 * in a fresh `node`.
 */
const { spawn } = require('node:child_process');
const { mkdirSync, readdirSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { buildSync } = require('esbuild');
const { ROOT, startUpstreamProcess, track, workDir } = require('../lib/children');
const { chatBody } = require('../lib/configs');
const { summarizeProfile } = require('../lib/profile-summary');
const { median } = require('../lib/stats');

/** infra/lib/bundle.ts, compiled once where it resolves this project's packages: the bench packages the Lambda as infra does. */
let infra;
function infraBundle() {
  if (infra) return infra;
  const out = join(ROOT, 'node_modules', '.cache', 'bench-infra', 'bundle.js');
  buildSync({ entryPoints: [join(ROOT, 'infra', 'lib', 'bundle.ts')], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: out, logLevel: 'silent' });
  return (infra = require(out));
}

/** The deployed package unpacked into a directory; `sourcemap` adds a .map beside each file (for the start-up profile only). */
function bundle({ sourcemap = false } = {}) {
  const { bundleLambda, LAMBDA_FILE } = infraBundle();
  const outDir = join(workDir(), sourcemap ? 'lambda-mapped' : 'lambda');
  const b = bundleLambda(join(ROOT, 'runtime', 'src', 'lambda.ts'), { sourcemap });
  for (const [file, text] of Object.entries(b.files)) {
    mkdirSync(dirname(join(outDir, file)), { recursive: true });
    writeFileSync(join(outDir, file), text);
  }
  const byPackage = new Map();
  for (const { path, bytes } of b.inputs) {
    const m = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const key = m ? m[1] : path.startsWith('runtime/') ? 'runtime/src (ours)' : path;
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytes);
  }
  const largest = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([name, bytes]) => ({ name, bytes }));
  return { file: join(outDir, LAMBDA_FILE), bytes: b.bytes, coldBytes: Buffer.byteLength(b.code), largest };
}

/** The environment of a cold start: the proxy role as the hub deploys it, `spokeUrl` standing in for a spoke (it speaks our API). */
function coldStartEnv(spokeUrl) {
  const config = { spokes: [{ id: 'spoke-a', url: spokeUrl }], models: [{ name: 'bench', targets: [{ provider: 'spokes', model: 'bench' }] }] };
  // As the hub sets it: the config inline, and the parameter its hot reload polls.
  return {
    PATH: process.env.PATH,
    GATEWAY_ROLE: 'proxy',
    GATEWAY_CONFIG_JSON: JSON.stringify(config),
    GATEWAY_CONFIG_SSM_PARAMETER: '/ai-gateway/hub/runtime-config',
    NODE_ENV: 'production',
  };
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
  log(`  package ${b.bytes.toLocaleString('en-US')} bytes, ${b.coldBytes.toLocaleString('en-US')} of them parsed at every cold start`);
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0 });
  try {
    const env = coldStartEnv(up.url(0));
    const runs = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) {
      const r = await coldRun(b.file, env);
      if (r.status !== 200) throw new Error(`cold start: the handler answered ${r.status}`);
      runs.push(r);
    }
    const med = (k) => median(runs.map((r) => r[k]));
    const result = {
      bundleBytes: b.bytes,
      coldBytes: b.coldBytes,
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

module.exports = { id: 'cold-start', run, coldStartEnv };
