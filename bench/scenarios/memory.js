'use strict';
/**
 * Memory: resident set size of the gateway process while it holds 1,000, 3,000 and
 * 5,000 concurrent slow streams (one chunk every 2 s from the upstream). Per-stream cost
 * is (RSS with N streams - RSS when idle and warm) / N, and the slope of RSS over the
 * three levels (the cost of one more stream, free of the heap slack a warm process has).
 * Once the clients leave, the upstream must see its streams closed too: a leak check.
 */
const { setTimeout: sleep } = require('node:timers/promises');
const { Agent, request } = require('undici');
const { rssKb, startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, JSON_HEADERS, providerConfig } = require('../lib/configs');
const { ensureFdLimit } = require('../lib/fd-limit');
const { cannon, PATH } = require('../lib/load');
const { median } = require('../lib/stats');

/** One provider endpoint: a stream holds its upstream connection, and the gateway opens as many as it needs. */
const PORTS = 1;

async function sampleRss(pid, samples = 3, gapMs = 700) {
  const out = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(gapMs);
    out.push(rssKb(pid));
  }
  return median(out);
}

function fail(state, why) {
  state.failed++;
  state.reasons[why] = (state.reasons[why] ?? 0) + 1;
}

/** Opens `n` streams that stay open (their bodies are read and dropped) until aborted or done. */
function openStreams(url, n, state, agent, maxTokens = 128) {
  const body = chatBody({ stream: true, maxTokens });
  return (async () => {
    for (let i = 0; i < n; i++) {
      const ac = new AbortController();
      state.controllers.push(ac);
      request(url + PATH, { dispatcher: agent, method: 'POST', headers: JSON_HEADERS, body, signal: ac.signal }).then(
        (res) => {
          if (res.statusCode !== 200) {
            fail(state, `status ${res.statusCode}`);
            res.body.dump().catch(() => undefined);
            return;
          }
          res.body.once('data', () => state.started++);
          res.body.on('data', () => undefined);
          res.body.on('end', () => state.ended++);
          res.body.on('error', () => undefined);
        },
        (err) => {
          if (!ac.signal.aborted) fail(state, err.code ?? err.message);
        },
      );
      // Ramp up in steps so that the accept queue never overflows.
      if (i % 200 === 199) await sleep(100);
    }
  })();
}

/** V8 heap used and external memory (KB) from the gateway's /metrics, when it has them. */
async function heapKb(url) {
  try {
    const text = await fetch(`${url}/metrics`).then((r) => (r.ok ? r.text() : ''));
    const value = (name) => Number(text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, 'm'))?.[1]) / 1024;
    return { heapUsedKb: value('nodejs_heap_size_used_bytes'), externalKb: value('nodejs_external_memory_bytes') };
  } catch {
    return { heapUsedKb: NaN, externalKb: NaN };
  }
}

async function waitStarted(state, target, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (state.started + state.failed < target && Date.now() < until) await sleep(100);
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}

async function run({ quick, log }) {
  const levels = quick ? [200, 600, 1000] : [1000, 3000, 5000];
  const top = levels[levels.length - 1];
  ensureFdLimit(2 * top + 1024);
  const ports = PORTS;
  const up = await startUpstreamProcess({ ports, latencyMs: 0, chunks: 60, chunkIntervalMs: 2000 });
  const urls = up.ports.map((_, i) => up.url(i));
  const gw = await startGatewayProcess({ name: 'memory', config: providerConfig([{ id: 'acct', urls }]) });
  const agent = new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 60_000 });
  const state = { controllers: [], started: 0, ended: 0, failed: 0, reasons: {} };
  try {
    // Warm: JIT, pools and buffers as after real traffic, then let it settle.
    await cannon({ url: gw.url, body: chatBody(), connections: 32, durationS: 2 });
    // Warm-up streams end on their own (2 chunks): cancelled streams would count against routes.
    const warm = { controllers: [], started: 0, ended: 0, failed: 0, reasons: {} };
    await openStreams(gw.url, 100, warm, agent, 2);
    for (let i = 0; i < 100 && warm.ended + warm.failed < 100; i++) await sleep(100);
    // Quiet for a while: V8's memory reducer shrinks the heap of an idle process.
    await sleep(quick ? 2000 : 8000);
    const idleKb = await sampleRss(gw.pid);
    const idleHeap = await heapKb(gw.url);
    log(`  idle RSS ${(idleKb / 1024).toFixed(1)} MB`);

    const rows = [];
    let open = 0;
    for (const level of levels) {
      await openStreams(gw.url, level - open, state, agent);
      open = level;
      await waitStarted(state, level, 30_000);
      await sleep(2000);
      const kb = await sampleRss(gw.pid);
      const heap = await heapKb(gw.url);
      rows.push({
        streams: level,
        started: state.started,
        failed: state.failed,
        reasons: { ...state.reasons },
        rssKb: kb,
        kbPerStream: (kb - idleKb) / level,
        heapKbPerStream: (heap.heapUsedKb - idleHeap.heapUsedKb) / level,
        externalKbPerStream: (heap.externalKb - idleHeap.externalKb) / level,
      });
      log(
        `  ${level} streams (${state.started} started, ${state.failed} failed${state.failed ? ` ${JSON.stringify(state.reasons)}` : ''}): RSS ${(kb / 1024).toFixed(1)} MB, ${((kb - idleKb) / level).toFixed(1)} KB per stream`,
      );
    }

    for (const c of state.controllers) c.abort();
    await sleep(3000);
    const after = await up.cmd('stats');
    const afterKb = rssKb(gw.pid);
    const health = await fetch(`${gw.url}/healthz`).then((r) => r.json());
    const routesOut = health.routes.filter((r) => r.state !== 'healthy').length;
    log(`  /healthz after the cancellations: ${health.status}, ${routesOut} of ${health.routes.length} routes not healthy`);
    log(`  after the clients left: ${after.activeStreams} upstream streams still open, RSS ${(afterKb / 1024).toFixed(1)} MB`);
    return {
      meta: { levels, upstreamPorts: ports, chunkIntervalMs: 2000 },
      idleKb,
      idleHeap,
      rows,
      upstreamStreamsLeftOpen: after.activeStreams,
      healthAfterCancel: { status: health.status, routesOut, routes: health.routes.length, lastFailure: health.routes.find((r) => r.lastFailure)?.lastFailure },
      rssAfterKb: afterKb,
      kbPerStreamAtTop: rows[rows.length - 1].kbPerStream,
      slopeKbPerStream: slope(
        rows.map((r) => r.streams),
        rows.map((r) => r.rssKb),
      ),
      allStarted: rows.every((r) => r.started >= r.streams && r.failed === 0),
    };
  } finally {
    for (const c of state.controllers) c.abort();
    await agent.destroy().catch(() => undefined);
    await Promise.all([gw.stop(), up.stop()]);
  }
}

module.exports = { id: 'memory', run };
