'use strict';
/**
 * CPU profile of the all-in-one gateway under the overhead load (concurrency 64),
 * non-streamed and streamed, with `node --cpu-prof` on the gateway process. Only the
 * samples taken under load count (start-up and shutdown are cut off by time).
 */
const { readdirSync } = require('node:fs');
const { join } = require('node:path');
const { startGatewayProcess, startUpstreamProcess, workDir } = require('../lib/children');
const { chatBody, providerConfig } = require('../lib/configs');
const { cannon, streamLoad } = require('../lib/load');
const { summarizeProfile } = require('../lib/profile-summary');

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function profileOne(mode, { quick }) {
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0, chunks: 20, chunkIntervalMs: 1 });
  const dir = join(workDir(), `profile-${mode}`);
  const gw = await startGatewayProcess({
    name: `profile-${mode}`,
    config: providerConfig([{ id: 'acct', urls: [up.url(0)] }]),
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'],
  });
  const seconds = quick ? 2 : 6;
  const load = (s) =>
    mode === 'json'
      ? cannon({ url: gw.url, body: chatBody(), connections: 64, durationS: s })
      : streamLoad({ url: gw.url, body: chatBody({ stream: true }), connections: 64, durationMs: s * 1000 });
  let window;
  let result;
  try {
    await load(quick ? 1 : 2); // warm-up, not profiled
    const fromUs = nowUs();
    result = await load(seconds);
    window = { fromUs, toUs: nowUs() };
  } finally {
    // The profile is written when the process exits (SIGTERM -> graceful close -> exit).
    await gw.stop(15_000);
    await up.stop();
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`the gateway wrote no CPU profile in ${dir}`);
  const summary = summarizeProfile(join(dir, files[0]), 15, window);
  return { mode, rps: result.rps, seconds, ...summary };
}

async function run({ quick, log }) {
  const out = [];
  for (const mode of ['json', 'stream']) {
    const p = await profileOne(mode, { quick });
    log(
      `  ${mode}: ${p.rps.toFixed(0)}/s under the profiler; ${p.workMs.toFixed(0)} ms of work sampled; top: ${p.self
        .slice(0, 3)
        .map((f) => `${f.name} ${f.where} ${(f.share * 100).toFixed(1)}%`)
        .join(', ')}`,
    );
    out.push(p);
  }
  return { profiles: out };
}

module.exports = { id: 'profile', run };
