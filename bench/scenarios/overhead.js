'use strict';
/**
 * Overhead: the same requests sent directly to the upstream, through the floor proxy,
 * through the all-in-one gateway and through proxy -> spoke. Concurrency 1 for latency,
 * 64 for throughput; non-streamed and streamed. Every repetition measures all the
 * targets, at c=64 back to back (in a rotating order) and at c=1 with their requests
 * interleaved (one to each in turn), so ratios come from the same moment.
 * `floor-chain` is two floor proxies in a row: what any two Node hops add on this
 * machine, the reference for two-tier against all-in-one.
 */
const { startFloorProcess, startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, providerConfig, proxyConfig, JSON_HEADERS } = require('../lib/configs');
const { cannon, interleaved, streamLoad, PATH } = require('../lib/load');
const { repetitionPlan, repeat, summarize } = require('../lib/repetitions');
const { percentile } = require('../lib/stats');

/** What one API's overhead run sends and how its gateways are configured (chat here; Messages in messages.js). */
const CHAT = { name: 'overhead', path: PATH, headers: JSON_HEADERS, end: '[DONE]', body: (stream) => chatBody({ stream }), config: providerConfig };

const TARGETS = ['direct', 'floor', 'gateway', 'two-tier', 'floor-chain'];
/**
 * `scale` stretches a measurement: streams at c=1 come only ~40 a second, p99 needs more.
 * `together`: all targets measured at once, their requests interleaved, for as long as
 * measuring them one after another would take.
 */
const MODES = [
  { id: 'json-c1', stream: false, connections: 1, scale: 1, together: true },
  { id: 'json-c64', stream: false, connections: 64, scale: 1 },
  { id: 'stream-c1', stream: true, connections: 1, scale: 2, together: true },
  { id: 'stream-c64', stream: true, connections: 64, scale: 1 },
];
/** Upstream answers at once; streams are 20 chunks 1 ms apart (about 25 ms each). */
const UPSTREAM = { ports: 1, latencyMs: 0, chunks: 20, chunkIntervalMs: 1 };

async function startTargets(api) {
  const up = await startUpstreamProcess(UPSTREAM);
  const floor = await startFloorProcess([up.url(0)]);
  const inner = await startFloorProcess([up.url(0)]);
  const outer = await startFloorProcess([inner.url]);
  const accounts = [{ id: 'acct', urls: [up.url(0)] }];
  const gateway = await startGatewayProcess({ name: `${api.name}-all-in-one`, config: api.config(accounts) });
  const spoke = await startGatewayProcess({ name: `${api.name}-spoke`, role: 'spoke', config: api.config(accounts) });
  const proxy = await startGatewayProcess({ name: `${api.name}-proxy`, role: 'proxy', config: proxyConfig([spoke.url]) });
  return {
    urls: { direct: up.url(0), floor: floor.url, gateway: gateway.url, 'two-tier': proxy.url, 'floor-chain': outer.url },
    pids: { gateway: gateway.pid, proxy: proxy.pid, spoke: spoke.pid },
    stop: () => Promise.all([proxy.stop(), spoke.stop(), gateway.stop(), outer.stop(), inner.stop(), floor.stop(), up.stop()]),
  };
}

/** One measurement of one mode on one target. */
async function measure(api, mode, url, seconds) {
  const request = { url, path: api.path, headers: api.headers, connections: mode.connections };
  if (!mode.stream) {
    const r = await cannon({ ...request, body: api.body(false), durationS: seconds });
    return { rps: r.rps, p50: percentile(r.latencies, 0.5), p99: percentile(r.latencies, 0.99), errors: r.non2xx + r.errors, n: r.ok };
  }
  const r = await streamLoad({ ...request, body: api.body(true), end: api.end, durationMs: seconds * 1000 });
  return {
    rps: r.rps,
    p50: percentile(r.ttfb, 0.5),
    p99: percentile(r.ttfb, 0.99),
    totalP50: percentile(r.total, 0.5),
    totalP99: percentile(r.total, 0.99),
    errors: r.failed,
    n: r.ok,
  };
}

/** One measurement of a c=1 mode on every target at once, their requests interleaved (`order[0]` first). */
async function measureTogether(api, mode, urls, order, seconds) {
  const requests = Object.fromEntries(order.map((t) => [t, { url: urls[t], path: api.path, headers: api.headers, body: api.body(mode.stream), end: api.end }]));
  const results = await interleaved({ requests, order, durationMs: seconds * 1000 * order.length, stream: mode.stream });
  const out = {};
  for (const [t, r] of Object.entries(results)) {
    const samples = mode.stream ? r.ttfb : r.latencies;
    out[t] = { rps: r.rps, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), errors: r.failed, n: r.ok, samples };
    if (mode.stream) Object.assign(out[t], { totalP50: percentile(r.total, 0.5), totalP99: percentile(r.total, 0.99) });
  }
  return out;
}

/** Ratios of one repetition: gateway against floor, two-tier against all-in-one. */
function ratiosOf(rep) {
  const added = (mode, t, q) => rep[mode][t][q] - rep[mode].direct[q];
  const out = {};
  for (const mode of ['json-c1', 'stream-c1']) {
    out[`${mode} added p50 gateway/floor`] = added(mode, 'gateway', 'p50') / added(mode, 'floor', 'p50');
    out[`${mode} added p99 gateway/floor`] = added(mode, 'gateway', 'p99') / added(mode, 'floor', 'p99');
    out[`${mode} added p50 two-tier/gateway`] = added(mode, 'two-tier', 'p50') / added(mode, 'gateway', 'p50');
    // The same ratio for two floor proxies against one: the least two Node hops add here.
    out[`${mode} added p50 floor-chain/floor`] = added(mode, 'floor-chain', 'p50') / added(mode, 'floor', 'p50');
  }
  for (const mode of ['json-c64', 'stream-c64']) {
    out[`${mode} throughput gateway/floor`] = rep[mode].gateway.rps / rep[mode].floor.rps;
    out[`${mode} throughput two-tier/floor`] = rep[mode]['two-tier'].rps / rep[mode].floor.rps;
  }
  return out;
}

/**
 * The p99 ratios from every repetition's samples at once. One repetition has only ~160
 * streams a target at c=1, so its p99 is about its second-slowest stream, and the
 * difference of two such tails swings widely (bench/analysis.md). The c=1 samples of all
 * targets come from the same seconds in each repetition (interleaved), so pooling them
 * keeps the ratio fair.
 */
function pooledP99(repetitions, ratios) {
  for (const mode of MODES.filter((m) => m.together)) {
    const p99 = (t) =>
      percentile(
        repetitions.flatMap((rep) => rep[mode.id][t].samples),
        0.99,
      );
    const added = (t) => p99(t) - p99('direct');
    ratios[`${mode.id} added p99 gateway/floor`].pooled = added('gateway') / added('floor');
  }
}

/** The overhead run for one API (`api`: path, headers, bodies, gateway config). */
async function runOverhead(api, { quick, log }) {
  const { reps, seconds } = repetitionPlan(quick);
  const t = await startTargets(api);
  try {
    log(`  warming up ${TARGETS.join(', ')}`);
    for (const target of TARGETS) {
      await measure(api, MODES[1], t.urls[target], quick ? 1 : 2);
      await measure(api, MODES[3], t.urls[target], 1);
    }
    const repetitions = await repeat({
      reps,
      modes: MODES,
      targets: TARGETS,
      measure: (mode, target) => measure(api, mode, t.urls[target], seconds * mode.scale),
      measureTogether: (mode, order) => measureTogether(api, mode, t.urls, order, seconds * mode.scale),
      log,
    });
    const summary = summarize(repetitions, { modes: MODES, targets: TARGETS, ratiosOf, extra: (mode) => (mode.stream ? ['totalP50', 'totalP99'] : []) });
    pooledP99(repetitions, summary.ratios);
    return { meta: { reps, seconds, upstream: UPSTREAM }, ...summary };
  } finally {
    await t.stop();
  }
}

const run = (opts) => runOverhead(CHAT, opts);

module.exports = { id: 'overhead', run, runOverhead, TARGETS, MODES };
