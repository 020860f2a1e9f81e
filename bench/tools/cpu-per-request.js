#!/usr/bin/env node
'use strict';
/**
 * CPU time per request of each target process, from /proc/<pid>/stat around a closed-loop
 * load: a steadier measure than throughput on a shared machine, for checking one change to
 * the hot path at a time. Targets: the floor proxy, the all-in-one gateway, proxy + spoke,
 * and optionally the all-in-one gateway of another build (`--ab DIR`, a copy of dist/
 * placed where it resolves this project's node_modules; repeatable, each named by its
 * directory) for an A/B in the same run.
 * Each repetition runs every target back to back (rotating order); the report gives each
 * target's median CPU per request and its median ratio to the floor within a repetition.
 *
 *   node bench/tools/cpu-per-request.js [--api chat|messages] [--stream] [--connections 64] [--seconds 3] [--reps 5]
 *        [--only floor,gateway,two-tier] [--ab node_modules/.cache/ab/base [--ab ...]]
 * GATEWAY_EXTRA='{"observability":{"logLevel":"warn"}}' merges into the gateway configs; USER_ONLY=1
 * counts user CPU only (what our code costs, without the kernel's loopback networking),
 * MAIN_ONLY=1 the main thread's;
 * AB_NODE_ARGS='--max-semi-space-size=64' starts the A/B gateway with those node flags.
 */
const { readFileSync } = require('node:fs');
const { basename, resolve } = require('node:path');
const { parseArgs } = require('node:util');
const { runTool, startFloorProcess, startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { apiNamed, proxyConfig } = require('../lib/configs');
const { cannon, streamLoad } = require('../lib/load');
const { median } = require('../lib/stats');

const TICK_US = 1e6 / 100; // USER_HZ

/**
 * utime + stime of all threads; USER_ONLY=1 counts user time only (our code, not the kernel's
 * network stack); MAIN_ONLY=1 the main thread only (the one that bounds throughput: GC
 * helpers run beside it).
 */
function cpuUs(pid) {
  const stat = process.env.MAIN_ONLY ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  const fields = readFileSync(stat, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + (process.env.USER_ONLY ? 0 : Number(fields[12]))) * TICK_US;
}

async function main() {
  const { values } = parseArgs({
    options: {
      api: { type: 'string', default: 'chat' },
      stream: { type: 'boolean', default: false },
      connections: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '3' },
      reps: { type: 'string', default: '5' },
      only: { type: 'string', default: 'floor,gateway,two-tier' },
      ab: { type: 'string', multiple: true },
    },
  });
  const api = apiNamed(values.api);
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0, chunks: 20, chunkIntervalMs: 1 });
  const accounts = [{ id: 'acct', urls: [up.url(0)] }];
  const only = values.only.split(',');
  const extra = process.env.GATEWAY_EXTRA ? JSON.parse(process.env.GATEWAY_EXTRA) : {};
  const config = (c) => ({ ...c, ...extra });
  const targets = {};
  if (only.includes('floor')) {
    const f = await startFloorProcess([up.url(0)]);
    targets.floor = { url: f.url, pids: [f.pid] };
  }
  if (only.includes('gateway')) {
    const g = await startGatewayProcess({ name: 'cpu-gateway', config: config(api.config(accounts)) });
    targets.gateway = { url: g.url, pids: [g.pid] };
  }
  for (const dir of values.ab ?? []) {
    const cli = resolve(dir, 'runtime/src/entry/cli.js');
    const nodeArgs = (process.env.AB_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const g = await startGatewayProcess({ name: `cpu-${basename(dir)}`, config: config(api.config(accounts)), cli, nodeArgs });
    targets[basename(dir)] = { url: g.url, pids: [g.pid] };
  }
  if (only.includes('two-tier')) {
    const s = await startGatewayProcess({ name: 'cpu-spoke', role: 'spoke', config: config(api.config(accounts)) });
    const p = await startGatewayProcess({ name: 'cpu-proxy', role: 'proxy', config: config(proxyConfig([s.url])) });
    targets['two-tier'] = { url: p.url, pids: [p.pid, s.pid] };
  }
  const load = (url, s) => (values.stream ? streamLoad({ url, ...api.request(true), connections, durationMs: s * 1000 }) : cannon({ url, ...api.request(false), connections, durationS: s }));
  for (const t of Object.values(targets)) await load(t.url, 2); // warm-up
  const names = Object.keys(targets);
  const reps = [];
  for (let r = 0; r < Number(values.reps); r++) {
    const rep = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      const t = targets[name];
      const before = t.pids.map(cpuUs);
      const res = await load(t.url, seconds);
      const used = t.pids.map((pid, j) => cpuUs(pid) - before[j]);
      rep[name] = { rps: res.rps, us: used.map((u) => u / res.ok), errors: (res.non2xx ?? 0) + (res.errors ?? res.failed ?? 0) };
    }
    reps.push(rep);
  }
  const total = (x) => x.us.reduce((a, b) => a + b, 0);
  for (const name of names) {
    const runs = reps.map((r) => r[name]);
    const per = runs[0].us.map((_, i) => median(runs.map((x) => x.us[i])).toFixed(1)).join(' + ');
    const ratio =
      targets.floor && name !== 'floor'
        ? `  x floor ${median(reps.map((r) => total(r[name]) / total(r.floor))).toFixed(2)} (cpu) ${median(reps.map((r) => r[name].rps / r.floor.rps)).toFixed(3)} (rps)`
        : '';
    console.log(
      `${name.padEnd(12)} ${median(runs.map((x) => x.rps))
        .toFixed(0)
        .padStart(6)}/s  cpu us/request ${per}${ratio}  errors ${runs.reduce((a, x) => a + x.errors, 0)}`,
    );
  }
}

runTool(main);
