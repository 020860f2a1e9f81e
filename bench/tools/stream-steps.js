#!/usr/bin/env node
'use strict';
/**
 * Where a stream's time to first byte goes inside gateway builds, at c=1: medians of
 * request -> upstream call, upstream call -> its headers, headers -> first byte to the
 * client, and the client's own TTFB, for the current build and any others (`--ab DIR`,
 * a copy of another build's dist/ under node_modules/.cache/ab/ so that it resolves this
 * project's packages), measured in interleaved rounds so that all builds see the same
 * machine. The gateways' own steps barely move with the machine's mood; the client's
 * TTFB moves a lot.
 *
 * `--api chat,messages` measures both APIs (each build once per API), interleaved the same way.
 * `--role proxy,all-in-one` measures the proxy hop of two-tier (in front of a spoke of the
 * same build, which is not measured) beside the all-in-one gateway; default all-in-one.
 *
 *   node bench/tools/stream-steps.js [--rounds 12] [--seconds 1] [--api chat|messages|chat,messages] [--role all-in-one|proxy|...] [--ab node_modules/.cache/ab/base ...]
 */
const { readFileSync } = require('node:fs');
const { basename, join, resolve } = require('node:path');
const { parseArgs } = require('node:util');
const { ROOT, runTool, startGatewayProcess, startUpstreamProcess, workDir } = require('../lib/children');
const { apiNamed, proxyConfig } = require('../lib/configs');
const { streamLoad } = require('../lib/load');
const { percentile } = require('../lib/stats');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '1' },
    ab: { type: 'string', multiple: true, default: [] },
    api: { type: 'string', default: 'chat' },
    role: { type: 'string', default: 'all-in-one' },
  },
});
const PRELOAD = join(__dirname, 'stream-steps-preload.js');

runTool(async () => {
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 0, chunks: 20, chunkIntervalMs: 1 });
  const accounts = [{ id: 'acct', urls: [up.url(0)] }];
  const builds = [['this', join(ROOT, 'dist')], ...values.ab.map((d) => [basename(d), resolve(d)])];
  const apis = values.api.split(',');
  const gateways = [];
  const roles = values.role.split(',');
  for (const [build, dist] of builds) {
    const cli = join(dist, 'runtime/src/entry/cli.js');
    for (const apiName of apis) {
      const api = apiNamed(apiName);
      for (const role of roles) {
        if (!['all-in-one', 'proxy'].includes(role)) throw new Error(`--role ${role}: all-in-one or proxy`);
        const name = [build, apis.length > 1 ? apiName : '', roles.length > 1 ? role : ''].filter(Boolean).join('/');
        const id = `steps-${name.replaceAll('/', '-')}`;
        const file = join(workDir(), `${id}.json`);
        process.env.STREAM_STEPS_FILE = file;
        const config = role === 'proxy' ? proxyConfig([(await startGatewayProcess({ name: `${id}-spoke`, role: 'spoke', config: api.config(accounts), cli })).url]) : api.config(accounts);
        const g = await startGatewayProcess({ name: id, role, config, cli, nodeArgs: ['-r', PRELOAD] });
        gateways.push({ name, g, api, file, ttfb: [] });
      }
    }
  }
  const load = ({ g, api }, ms) => streamLoad({ url: g.url, ...api.request(true), connections: 1, durationMs: ms });
  const flush = async () => {
    for (const { g } of gateways) process.kill(g.pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 500));
  };
  for (const b of gateways) await load(b, 1500); // warm-up, then dropped
  await flush();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (let i = 0; i < gateways.length; i++) {
      const b = gateways[(i + round) % gateways.length];
      b.ttfb.push(...(await load(b, Number(values.seconds) * 1000)).ttfb);
    }
  }
  await flush();
  const us = (xs) => `${Math.round(percentile(xs, 0.5) * 1000)} us`.padStart(8);
  for (const { name, file, ttfb } of gateways) {
    const rows = JSON.parse(readFileSync(file, 'utf8')).filter((r) => r.call !== undefined && r.headers !== undefined && r.out !== undefined);
    const step = (f) => us(rows.map(f));
    console.log(
      `${name.padEnd(16)} n=${rows.length}  request->call ${step((r) => r.call - r.in)}  call->headers ${step((r) => r.headers - r.call)}  headers->first byte ${step((r) => r.out - r.headers)}  request->first byte ${step((r) => r.out - r.in)}  client TTFB p50 ${percentile(ttfb, 0.5).toFixed(3)} ms`,
    );
  }
});
