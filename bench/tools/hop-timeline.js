#!/usr/bin/env node
'use strict';
/**
 * Where one stream's time to first byte goes in two-tier, hop by hop, at c=1: a proxy in
 * front of a spoke in front of the fake upstream, both hops loaded with
 * stream-steps-preload.js (system monotonic clock), their marks matched request by
 * request (c=1: the n-th request of the proxy is the n-th of the spoke). Medians of:
 * the proxy's request side (arrival -> its call to the spoke), undici's part of that call
 * (request created -> headers on the socket), the wire to the spoke's request event, the
 * spoke's request side, its wait for the upstream's headers, its answer side (upstream
 * headers -> its first byte), the wire back to the proxy's undici headers, and the
 * proxy's answer side (-> the client's first byte).
 *
 *   node bench/tools/hop-timeline.js [--api chat|messages] [--seconds 6]
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const { runTool, startGatewayProcess, startUpstreamProcess, workDir } = require('../lib/children');
const { apiNamed, proxyConfig } = require('../lib/configs');
const { streamLoad } = require('../lib/load');
const { percentile } = require('../lib/stats');

const PRELOAD = join(__dirname, 'stream-steps-preload.js');

runTool(async () => {
  const { values } = parseArgs({ options: { api: { type: 'string', default: 'chat' }, seconds: { type: 'string', default: '6' } } });
  const api = apiNamed(values.api);
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0, chunks: 20, chunkIntervalMs: 1 });
  const marked = async (name, role, config) => {
    const file = join(workDir(), `${name}.json`);
    process.env.STREAM_STEPS_FILE = file;
    return { file, g: await startGatewayProcess({ name, role, config, nodeArgs: ['-r', PRELOAD] }) };
  };
  const spoke = await marked('timeline-spoke', 'spoke', api.config([{ id: 'acct', urls: [up.url(0)] }]));
  const proxy = await marked('timeline-proxy', 'proxy', proxyConfig([spoke.g.url]));
  const load = (ms) => streamLoad({ url: proxy.g.url, ...api.request(true), connections: 1, durationMs: ms });
  const flush = async () => {
    for (const { g } of [spoke, proxy]) process.kill(g.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 500));
  };
  await load(2000); // warm-up, then dropped
  await flush();
  const { ttfb } = await load(Number(values.seconds) * 1000);
  await flush();
  const p = JSON.parse(readFileSync(proxy.file, 'utf8'));
  const s = JSON.parse(readFileSync(spoke.file, 'utf8'));
  const whole = (r) => r.call !== undefined && r.sent !== undefined && r.headers !== undefined && r.out !== undefined;
  const rows = [];
  for (let i = 0; i < Math.min(p.length, s.length); i++) {
    const [a, b] = [p[i], s[i]];
    // The spoke's request must sit inside the proxy's call, else the two lists are out of step.
    if (!whole(a) || !whole(b) || b.in < a.sent || b.out > a.headers) continue;
    rows.push({
      'proxy request side': a.call - a.in,
      'proxy undici send': a.sent - a.call,
      'wire to spoke': b.in - a.sent,
      'spoke request side': b.call - b.in,
      'spoke waits upstream': b.headers - b.call,
      'spoke answer side': b.out - b.headers,
      'wire back': a.headers - b.out,
      'proxy answer side': a.out - a.headers,
      'proxy arrival -> first byte': a.out - a.in,
    });
  }
  if (rows.length === 0) throw new Error('no request matched in both hops');
  console.log(`${values.api}: ${rows.length} of ${p.length} streams matched in both hops; client TTFB p50 ${percentile(ttfb, 0.5).toFixed(3)} ms`);
  const medianUs = (k) =>
    Math.round(
      percentile(
        rows.map((r) => r[k]),
        0.5,
      ) * 1000,
    );
  for (const k of Object.keys(rows[0])) console.log(`  ${k.padEnd(30)} ${medianUs(k)} us`);
});
