#!/usr/bin/env node
'use strict';
/**
 * Where the gateway's main-thread time per request goes, against the floor proxy's: both
 * run under `node --cpu-prof` and take the same closed-loop JSON load (c=64 by default)
 * in short windows in turn; the samples of those windows only (not start-up or warm-up)
 * are summed by category (our code, each package, node core module, loopback writes, GC)
 * and divided by the requests served in them. The profiler slows JavaScript-heavy
 * processes more, and the machine drifts: read differences, and run it twice.
 *
 * `--target proxy` profiles the proxy role in front of a spoke (two-tier) instead of the
 * all-in-one gateway; the floor then stands in front of a second, unprofiled spoke, so
 * that both hops wait on the same kind of downstream.
 *
 * `--functions N` also lists the gateway's N functions of our code with the most self time.
 * `--api messages` sends Anthropic Messages requests to a gateway that serves them natively.
 *
 *   node bench/tools/profile-compare.js [--target gateway|proxy] [--api chat|messages] [--connections 64] [--seconds 2] [--reps 3] [--top 25]
 */
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const { runTool, startFloorProcess, startGatewayProcess, startUpstreamProcess, workDir } = require('../lib/children');
const { apiNamed, proxyConfig } = require('../lib/configs');
const { cannon } = require('../lib/load');

const OUR_CODE = 'our code (JSON.parse/stringify included)';

/** The category a profile node's own time counts under. */
function categoryOf(frame) {
  const url = frame.url;
  if (url.includes('node_modules/')) {
    const parts = url.split('node_modules/').pop().split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.includes('/runtime/src/')) return OUR_CODE;
  if (url.startsWith('node:'))
    return `node:${
      url
        .slice(5)
        .replace(/^internal\//, '')
        .split('/')[0]
    }`;
  if (frame.functionName === 'writev' || frame.functionName.startsWith('write')) return 'loopback writes (system calls)';
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  if (frame.functionName === 'runMicrotasks') return 'promise jobs (runMicrotasks)';
  return 'native/V8, other';
}

/** A frame of our code as `function file:line`, for `--functions`. */
function functionOf(frame) {
  if (categoryOf(frame) !== OUR_CODE) return undefined;
  return `${frame.functionName || '(anonymous)'} ${frame.url.split('/runtime/src/').pop()}:${frame.lineNumber + 1}`;
}

/** µs of main-thread time per request by category (or by `keyOf`), from the samples within `windows`. */
function perRequest(file, windows, requests, keyOf = categoryOf) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const inWindow = (from, to) => windows.some((w) => from >= w.fromUs && to <= w.toUs);
  const out = new Map();
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const from = t;
    t += profile.timeDeltas[i];
    if (!inWindow(from, t)) return;
    const frame = byId.get(id).callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') return;
    const k = keyOf(frame);
    if (k === undefined) return;
    out.set(k, (out.get(k) ?? 0) + profile.timeDeltas[i] / requests);
  });
  return out;
}

/** Profile timestamps are the monotonic clock in µs, as process.hrtime is. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'gateway' },
      api: { type: 'string', default: 'chat' },
      connections: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '2' },
      reps: { type: 'string', default: '3' },
      top: { type: 'string', default: '25' },
      functions: { type: 'string', default: '0' },
    },
  });
  if (!['gateway', 'proxy'].includes(values.target)) throw new Error(`--target: gateway or proxy, not ${values.target}`);
  const api = apiNamed(values.api);
  const connections = Number(values.connections);
  const load = (url, durationS) => cannon({ url, ...api.request(false), connections, durationS });
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0 });
  const profArgs = (name) => ['--cpu-prof', `--cpu-prof-dir=${join(workDir(), `profile-compare-${name}`)}`, '--cpu-prof-interval=100'];
  const accounts = [{ id: 'acct', urls: [up.url(0)] }];
  const spoke = async (name) => (await startGatewayProcess({ name, role: 'spoke', config: api.config(accounts) })).url;
  const targets =
    values.target === 'gateway'
      ? {
          floor: await startFloorProcess([up.url(0)], profArgs('floor')),
          gateway: await startGatewayProcess({ name: 'profile-compare', config: api.config(accounts), nodeArgs: profArgs('gateway') }),
        }
      : {
          floor: await startFloorProcess([await spoke('profile-floor-spoke')], profArgs('floor')),
          gateway: await startGatewayProcess({ name: 'profile-compare', role: 'proxy', config: proxyConfig([await spoke('profile-proxy-spoke')]), nodeArgs: profArgs('gateway') }),
        };
  const seen = { floor: { windows: [], requests: 0, rps: [] }, gateway: { windows: [], requests: 0, rps: [] } };
  for (const t of Object.values(targets)) await load(t.url, 2); // warm-up
  // Short windows in turn, so that the machine's drift falls on both alike.
  for (let r = 0; r < Number(values.reps); r++) {
    for (const name of r % 2 ? ['gateway', 'floor'] : ['floor', 'gateway']) {
      const fromUs = nowUs();
      const res = await load(targets[name].url, Number(values.seconds));
      seen[name].windows.push({ fromUs, toUs: nowUs() });
      seen[name].requests += res.ok;
      seen[name].rps.push(Math.round(res.rps));
    }
  }
  for (const t of Object.values(targets)) await t.stop(15_000); // profiles are written at exit
  const profileOf = (name, keyOf) => {
    const dir = join(workDir(), `profile-compare-${name}`);
    return perRequest(join(dir, readdirSync(dir)[0]), seen[name].windows, seen[name].requests, keyOf);
  };
  const f = profileOf('floor');
  const g = profileOf('gateway');
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  const row = (label, a, b) => console.log(`${label.padEnd(44)} ${a.toFixed(1).padStart(7)} ${b.toFixed(1).padStart(8)} ${(b - a).toFixed(1).padStart(7)}`);
  const label = values.target;
  console.log(`req/s under the profiler (c=${connections}), windows in turn: floor ${seen.floor.rps.join(', ')}; ${label} ${seen.gateway.rps.join(', ')}`);
  console.log(`${'µs of main-thread time per request'.padEnd(44)} ${'floor'.padStart(7)} ${label.padStart(8)} ${'diff'.padStart(7)}`);
  row('all', sum(f), sum(g));
  const rows = [...new Set([...f.keys(), ...g.keys()])].map((k) => [k, f.get(k) ?? 0, g.get(k) ?? 0]);
  rows.sort((a, b) => Math.abs(b[2] - b[1]) - Math.abs(a[2] - a[1]));
  for (const [k, a, b] of rows.slice(0, Number(values.top))) row(k, a, b);
  if (Number(values.functions) > 0) {
    console.log(`\n${label}: µs of self time per request in our code, by function`);
    const byFunction = [...profileOf('gateway', functionOf)].sort((a, b) => b[1] - a[1]);
    for (const [k, us] of byFunction.slice(0, Number(values.functions))) console.log(`${us.toFixed(2).padStart(7)}  ${k}`);
  }
}

runTool(main);
