#!/usr/bin/env node
'use strict';
/**
 * Instructions per request of one process (the floor proxy or a gateway build), counted
 * by valgrind's callgrind: unlike times on a shared machine, the count barely moves
 * between runs, so it tells whether a change to the hot path made it cheaper. Counts
 * user-space instructions only (not the kernel's network stack); the process runs ~50x
 * slower under valgrind, so loads are small and closed-loop.
 *
 *   node bench/tools/instructions-per-request.js [--target floor|gateway|proxy] [--dist DIR]
 *        [--api chat|messages] [--stream] [--requests 2000] [--warmup 1500] [--connections 4] [--keep FILE]
 * --keep saves the callgrind dump (for callgrind_annotate: V8's runtime, builtins and GC
 * are named there; JIT-compiled JavaScript is not).
 */
const { execFileSync, spawn } = require('node:child_process');
const { readdirSync, readFileSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { parseArgs } = require('node:util');
const { Pool } = require('undici');
const { NODE_FLAGS, ROOT, runTool, startGatewayProcess, startUpstreamProcess, track, waitForLine } = require('../lib/children');
const { apiNamed, proxyConfig } = require('../lib/configs');

async function drive(url, { api, requests, connections, stream }) {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const { path, headers, body } = api.request(stream);
  let left = requests;
  let failed = 0;
  async function worker() {
    while (left-- > 0) {
      const res = await pool.request({ path, method: 'POST', headers, body });
      await res.body.text();
      if (res.statusCode !== 200) failed++;
    }
  }
  await Promise.all(Array.from({ length: connections }, worker));
  await pool.close();
  return failed;
}

const control = (...args) => execFileSync('callgrind_control', args.map(String), { stdio: 'ignore' });

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'gateway' },
      dist: { type: 'string' },
      api: { type: 'string', default: 'chat' },
      stream: { type: 'boolean', default: false },
      requests: { type: 'string', default: '2000' },
      warmup: { type: 'string', default: '1500' },
      connections: { type: 'string', default: '4' },
      keep: { type: 'string' },
    },
  });
  const api = apiNamed(values.api);
  const dir = mkdtempSync(join(tmpdir(), 'ai-gateway-callgrind-'));
  const out = join(dir, 'callgrind.out');
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0, chunks: 20, chunkIntervalMs: 0 });
  const accounts = [{ id: 'acct', urls: [up.url(0)] }];
  // The main thread only: V8 compiles and collects garbage partly on helper threads, whose
  // share depends on timing; the main thread's count is what repeats.
  const valgrind = ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`];
  let args;
  let spoke;
  if (values.target === 'floor') {
    args = [...valgrind, process.execPath, ...NODE_FLAGS, join(__dirname, '..', 'floor-proxy.js'), '--target', up.url(0)];
  } else {
    const cli = values.dist ? resolve(values.dist, 'runtime/src/entry/cli.js') : join(ROOT, 'dist/runtime/src/entry/cli.js');
    const role = values.target === 'proxy' ? 'proxy' : 'all-in-one';
    if (role === 'proxy') spoke = await startGatewayProcess({ name: 'ipr-spoke', role: 'spoke', config: api.config(accounts) });
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(role === 'proxy' ? proxyConfig([spoke.url]) : api.config(accounts)));
    args = [...valgrind, process.execPath, ...NODE_FLAGS, '-e', `require(${JSON.stringify(cli)}).main(process.argv.slice(1))`, '--', '--config', file, '--role', role, '--port', '0'];
  }
  const child = track(spawn('valgrind', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT }), 'valgrind');
  const m = await waitForLine(child, /listening on (http:\/\/\S+)|\{"port":(\d+)\}/, 120_000);
  child.stdout.resume();
  const url = m[1] ?? `http://127.0.0.1:${m[2]}`;
  const load = { api, connections: Number(values.connections), stream: values.stream };
  await drive(url, { ...load, requests: Number(values.warmup) });
  control('-i', 'on', child.pid);
  const failed = await drive(url, { ...load, requests: Number(values.requests) });
  control('-i', 'off', child.pid);
  control('-d', child.pid);
  const files = readdirSync(dir).filter((f) => /^callgrind\.out.*-01$/.test(f));
  let total = 0;
  for (const f of files) {
    const t = /^totals: (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'));
    if (t && Number(t[1]) > total) {
      total = Number(t[1]);
      if (values.keep) writeFileSync(values.keep, readFileSync(join(dir, f)));
    }
  }
  console.log(
    `${values.target}${values.api === 'chat' ? '' : ` ${values.api}`}${values.dist ? ` (${values.dist})` : ''}${values.stream ? ' stream' : ''}: ${Math.round(total / Number(values.requests)).toLocaleString('en-US')} instructions per request (${values.requests} requests, ${failed} failed)`,
  );
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

runTool(main);
