#!/usr/bin/env node
'use strict';
/**
 * How much slower the gateway's own steps run when it idles between them: the same
 * JSON requests at c=1 through two all-in-one gateways, one in front of an upstream that
 * answers at once and one in front of an upstream that answers after `--latency` ms. The
 * gateway's own time (request to its upstream call, answer to reply written) is timed
 * inside it (bench/tools/own-time-preload.js). On a machine whose CPUs pay for idling
 * (a VM whose vCPUs halt and wake cold) the second gateway's steps take several times
 * the first's, which is why c=1 ratios favour hops that wait less (see the analysis).
 *
 *   node bench/tools/idle-cost.js [--latency 1] [--seconds 2] [--reps 3]
 */
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const { runTool, startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, providerConfig } = require('../lib/configs');
const { cannon } = require('../lib/load');

const PRELOAD = ['-r', join(__dirname, 'own-time-preload.js')];

/** The medians the gateway measured since the last call. */
function ownTime(gateway) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d) => {
      seen += d;
      const m = seen.match(/OWN-TIME (\{.*\})/);
      if (!m) return;
      gateway.child.stderr.off('data', onData);
      clearTimeout(timer);
      resolve(JSON.parse(m[1]));
    };
    const timer = setTimeout(() => reject(new Error('the gateway did not report its own time')), 5_000);
    gateway.child.stderr.on('data', onData);
    process.kill(gateway.pid, 'SIGUSR2');
  });
}

async function main() {
  const { values } = parseArgs({ options: { latency: { type: 'string', default: '1' }, seconds: { type: 'string', default: '2' }, reps: { type: 'string', default: '3' } } });
  const latencyMs = Number(values.latency);
  const cases = [];
  for (const latency of [0, latencyMs]) {
    const up = await startUpstreamProcess({ ports: 1, latencyMs: latency });
    const gateway = await startGatewayProcess({ name: `idle-cost-${latency}`, config: providerConfig([{ id: 'acct', urls: [up.url(0)] }]), nodeArgs: PRELOAD });
    cases.push({ label: `upstream answers after ${latency} ms`, gateway });
  }
  const body = chatBody();
  for (const c of cases) {
    await cannon({ url: c.gateway.url, body, connections: 1, durationS: 1 }); // warm-up
    await ownTime(c.gateway);
  }
  const fmt = (x) => x.toFixed(3).padStart(7);
  console.log(`${'c=1, medians in ms'.padEnd(30)} ${'requests'.padStart(8)} ${'to call'.padStart(7)} ${'answer to reply'.padStart(15)} ${'own'.padStart(7)}`);
  for (let r = 0; r < Number(values.reps); r++) {
    for (const c of cases) {
      await cannon({ url: c.gateway.url, body, connections: 1, durationS: Number(values.seconds) });
      const t = await ownTime(c.gateway);
      console.log(`${c.label.padEnd(30)} ${String(t.n).padStart(8)} ${fmt(t.toCallMs)} ${fmt(t.answerToReplyMs).padStart(15)} ${fmt(t.toCallMs + t.answerToReplyMs)}`);
    }
  }
}

runTool(main);
