'use strict';
/**
 * Failover outcomes (issue 18): what the adaptive first-chunk timeout, hedged streams and
 * the same-route retry buy, and what hedging costs.
 *
 * - Silent primary: a model with a primary and a fallback target; its routes' latency is
 *   learnt from 40 streams, then the primary accepts requests and never answers. Time to
 *   first token of the next stream with the fixed 20 s first-byte timeout (adaptive
 *   timeouts and hedging off), with the adaptive timeout alone, and with the defaults
 *   (adaptive timeout and hedging).
 * - One transient 500 on the primary's only route: time to a successful answer with the
 *   same-route retry (default) and with it off (the fallback at once), and which model answered.
 * - Hedging under normal load: streams back to back with a latency tail (exponential,
 *   mean 10 ms, over 20 ms), default settings: extra upstream requests per client request.
 */
const { request } = require('undici');
const { performance } = require('node:perf_hooks');
const { startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, JSON_HEADERS, MODEL } = require('../lib/configs');
const { streamLoad } = require('../lib/load');
const { median, percentile } = require('../lib/stats');

const PATH = '/v1/chat/completions';
const SERVER = { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, requestTimeoutMs: 120_000 };

/** A primary and a fallback target, each its own provider (upstream account) on the same upstream. */
function config(url, failover) {
  const provider = (id) => ({ id, type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r1', url: `${url}/${id}/v1` }] }] });
  return {
    server: SERVER,
    providers: [provider('primary'), provider('fallback')],
    models: [
      {
        name: MODEL,
        targets: [
          { provider: 'primary', model: 'bench-model' },
          { provider: 'fallback', model: 'bench-model' },
        ],
        failover,
      },
    ],
  };
}

/** One streamed request: time to the first body byte, the route that answered, whether it ended with [DONE]. */
async function stream(url) {
  const t0 = performance.now();
  const res = await request(url + PATH, { method: 'POST', headers: JSON_HEADERS, body: chatBody({ stream: true }) });
  let first;
  let text = '';
  for await (const chunk of res.body) {
    first ??= performance.now();
    text += chunk.toString('utf8');
  }
  return { status: res.statusCode, ttftMs: first - t0, route: String(res.headers['x-gateway-route'] ?? ''), whole: text.trimEnd().endsWith('data: [DONE]') };
}

async function json(url) {
  const t0 = performance.now();
  const res = await request(url + PATH, { method: 'POST', headers: JSON_HEADERS, body: chatBody() });
  await res.body.dump();
  return { status: res.statusCode, ms: performance.now() - t0, route: String(res.headers['x-gateway-route'] ?? '') };
}

const SILENT_MODES = {
  'fixed 20 s (adaptive timeout and hedging off)': { adaptiveTimeouts: { enabled: false }, hedging: { share: 0 } },
  'adaptive timeout only (hedging off)': { hedging: { share: 0 } },
  'defaults (adaptive timeout and hedging)': undefined,
};

async function silentPrimaryOnce(mode) {
  const up = await startUpstreamProcess({ latencyMs: 20, latencyJitterMs: 10, chunks: 5 });
  const gw = await startGatewayProcess({ name: 'silent-primary', config: config(up.url(0), SILENT_MODES[mode]) });
  try {
    for (let i = 0; i < 40; i++) {
      const warm = await stream(gw.url);
      if (warm.status !== 200 || !warm.whole) throw new Error(`warm-up stream failed: ${warm.status}`);
    }
    await up.cmd('account', { name: 'primary', conf: { silent: true } });
    const r = await stream(gw.url);
    if (r.status !== 200 || !r.whole) throw new Error(`the stream after the silence failed: ${r.status}`);
    return r;
  } finally {
    await Promise.all([gw.stop(), up.stop()]);
  }
}

async function transientOnce(sameRouteRetry, reps) {
  const up = await startUpstreamProcess({ latencyMs: 20 });
  const gw = await startGatewayProcess({ name: 'transient', config: config(up.url(0), { sameRouteRetry, hedging: { share: 0 } }) });
  try {
    for (let i = 0; i < 5; i++) await json(gw.url);
    const times = [];
    let byPrimary = 0;
    for (let i = 0; i < reps; i++) {
      await up.cmd('account', { name: 'primary', conf: { failNext: 1 } });
      const r = await json(gw.url);
      if (r.status !== 200) throw new Error(`a request after one 500 failed: ${r.status}`);
      times.push(r.ms);
      if (r.route.startsWith('primary/')) byPrimary++;
      // A good answer in between, so the primary's circuit never opens on these failures.
      await json(gw.url);
    }
    return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), byPrimary: byPrimary / reps, reps };
  } finally {
    await Promise.all([gw.stop(), up.stop()]);
  }
}

async function hedgingCost(durationMs) {
  const up = await startUpstreamProcess({ latencyMs: 20, latencyJitterMs: 10, chunks: 10, chunkIntervalMs: 2 });
  const gw = await startGatewayProcess({ name: 'hedging-cost', config: config(up.url(0), undefined) });
  try {
    const load = await streamLoad({ url: gw.url, body: chatBody({ stream: true }), connections: 8, durationMs });
    const stats = await up.cmd('stats');
    const upstream = (stats.accounts.primary?.requests ?? 0) + (stats.accounts.fallback?.requests ?? 0);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const hedges = [...metrics.matchAll(/^gateway_hedges_total\{[^}]*result="(won|lost)"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
    return {
      clientRequests: load.requests,
      clientErrors: load.failed,
      upstreamRequests: upstream,
      hedges,
      extraRatio: (upstream - load.requests) / load.requests,
      ttfbP50: percentile(load.ttfb, 0.5),
      ttfbP99: percentile(load.ttfb, 0.99),
    };
  } finally {
    await Promise.all([gw.stop(), up.stop()]);
  }
}

async function run({ quick, log }) {
  const silent = [];
  for (const mode of Object.keys(SILENT_MODES)) {
    const reps = mode.startsWith('fixed') ? (quick ? 1 : 2) : quick ? 2 : 5;
    const ttft = [];
    let byFallback = 0;
    for (let i = 0; i < reps; i++) {
      const r = await silentPrimaryOnce(mode);
      ttft.push(r.ttftMs);
      if (r.route.startsWith('fallback/')) byFallback++;
    }
    log(`  silent primary, ${mode}: TTFT median ${median(ttft).toFixed(0)} ms over ${reps}`);
    silent.push({ mode, reps, ttftMs: ttft, medianMs: median(ttft), byFallback: byFallback / reps });
  }
  const reps = quick ? 10 : 30;
  const transient = [];
  for (const [name, on] of [
    ['same-route retry (default)', true],
    ['fallback at once (sameRouteRetry: false)', false],
  ]) {
    const r = await transientOnce(on, reps);
    log(`  one 500, ${name}: p50 ${r.p50.toFixed(1)} ms, answered by the primary ${(r.byPrimary * 100).toFixed(0)}%`);
    transient.push({ case: name, ...r });
  }
  const cost = await hedgingCost(quick ? 8_000 : 30_000);
  log(`  hedging under normal load: ${cost.hedges} hedges, ${(cost.extraRatio * 100).toFixed(2)}% extra upstream requests over ${cost.clientRequests} streams`);
  return {
    meta: {
      upstream: '20 ms to the first chunk plus an exponential tail of mean 10 ms (silent primary, hedging cost); 20 ms (one 500)',
      warmUp: '40 streams before the primary goes silent',
      load: `8 streams back to back for ${quick ? 8 : 30} s`,
    },
    silent,
    transient,
    cost,
  };
}

module.exports = { id: 'failover-outcomes', run };
