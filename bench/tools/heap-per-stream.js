#!/usr/bin/env node
'use strict';
/**
 * What one open stream keeps on the gateway's V8 heap: heap snapshots of the compiled
 * gateway (in its own process) when idle and with N slow streams open, and the
 * difference per stream by object type. Not part of `npm run bench` (snapshots are
 * slow); run it when working on memory:
 *   node bench/tools/heap-per-stream.js [streams=1000] [rows=40]
 */
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { Agent, request } = require('undici');
const { killAll, startGatewayProcess, startUpstreamProcess, workDir } = require('../lib/children');
const { chatBody, JSON_HEADERS, providerConfig } = require('../lib/configs');
const { cannon, PATH } = require('../lib/load');

/** Self size and count per "type name" of every node in a .heapsnapshot. */
function byType(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]];
    const name = type.includes('string') ? '(string)' : type === 'code' ? '(code)' : snap.strings[snap.nodes[i + ni]].slice(0, 60);
    const key = `${type} ${name}`;
    const agg = out.get(key) ?? { count: 0, bytes: 0 };
    agg.count++;
    agg.bytes += snap.nodes[i + si];
    out.set(key, agg);
  }
  return out;
}

/** Asks the gateway for a snapshot (SIGUSR2) and waits until the file is complete. */
async function snapshot(pid, dir) {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await sleep(500);
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!file) continue;
    let last = -1;
    for (;;) {
      await sleep(1000);
      const size = statSync(join(dir, file)).size;
      if (size > 0 && size === last) return join(dir, file);
      last = size;
    }
  }
}

async function main() {
  const streams = Number(process.argv[2] ?? 1000);
  const rows = Number(process.argv[3] ?? 40);
  const dir = join(workDir(), 'heap');
  require('node:fs').mkdirSync(dir, { recursive: true });
  const up = await startUpstreamProcess({ ports: Math.ceil(streams / 150), latencyMs: 0, chunks: 60, chunkIntervalMs: 2000 });
  const gw = await startGatewayProcess({
    name: 'heap',
    config: providerConfig([{ id: 'acct', urls: up.ports.map((_, i) => up.url(i)) }]),
    nodeArgs: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`],
  });
  await cannon({ url: gw.url, body: chatBody(), connections: 16, durationS: 2 });
  await sleep(1000);
  const idle = byType(await snapshot(gw.pid, dir));

  const agent = new Agent({ connections: null });
  let started = 0;
  for (let i = 0; i < streams; i++) {
    request(gw.url + PATH, { dispatcher: agent, method: 'POST', headers: JSON_HEADERS, body: chatBody({ stream: true }) }).then(
      (res) => {
        res.body.once('data', () => started++);
        res.body.on('data', () => undefined).on('error', () => undefined);
      },
      () => undefined,
    );
    if (i % 200 === 199) await sleep(100);
  }
  for (let i = 0; i < 100 && started < streams; i++) await sleep(100);
  await sleep(2000);
  const busy = byType(await snapshot(gw.pid, dir));

  const diff = [...busy].map(([key, b]) => {
    const a = idle.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (b.count - a.count) / started, bytes: (b.bytes - a.bytes) / started };
  });
  diff.sort((x, y) => y.bytes - x.bytes);
  const total = diff.reduce((s, d) => s + d.bytes, 0);
  console.log(`${started} streams open; V8 heap per stream: ${(total / 1024).toFixed(1)} KB (self sizes)\n`);
  console.log('bytes/stream  objects/stream  type and constructor');
  for (const d of diff.slice(0, rows)) console.log(`${d.bytes.toFixed(0).padStart(12)}  ${d.count.toFixed(1).padStart(14)}  ${d.key}`);
  await agent.destroy();
}

main().then(
  () => killAll(),
  (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
