'use strict';
/**
 * Embeddings: POST /v1/embeddings sent directly to the upstream, through the floor proxy
 * and through the all-in-one gateway, for a single input and for an array of 64, in the
 * encoding the OpenAI SDKs ask for (base64; 1536 dimensions). Concurrency 1 for latency,
 * 64 for throughput; repetitions as in the overhead scenario (lib/repetitions.js): at c=1
 * the targets' requests interleaved, at c=64 the targets back to back.
 */
const { startFloorProcess, startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { providerConfig, JSON_HEADERS } = require('../lib/configs');
const { cannon, interleaved } = require('../lib/load');
const { repetitionPlan, repeat, summarize } = require('../lib/repetitions');
const { percentile } = require('../lib/stats');
const { EMBEDDING_MODEL } = require('../upstream');

const TARGETS = ['direct', 'floor', 'gateway'];
const PATH = '/v1/embeddings';
const MODEL = 'bench-embed';
/** Texts of a realistic chunk size (~60 tokens each). */
const text = (i) => `Passage ${i} of a school handbook: how students upload documents to the knowledge base, and who can search them afterwards.`;
const INPUTS = { single: text(0), array64: Array.from({ length: 64 }, (_, i) => text(i)) };
const MODES = [
  { id: 'single-c1', input: 'single', connections: 1, together: true },
  { id: 'single-c64', input: 'single', connections: 64 },
  { id: 'array64-c1', input: 'array64', connections: 1, together: true },
  { id: 'array64-c64', input: 'array64', connections: 64 },
];
const UPSTREAM = { ports: 1, latencyMs: 0, embeddingDimensions: 1536 };

/** The request body, as the OpenAI SDK sends it (base64 when the caller names no encoding). */
function body(input, model) {
  return JSON.stringify({ model, input: INPUTS[input], encoding_format: 'base64' });
}

async function startTargets() {
  const up = await startUpstreamProcess(UPSTREAM);
  const floor = await startFloorProcess([up.url(0)]);
  const config = providerConfig([{ id: 'acct', urls: [up.url(0)] }]);
  config.models.push({ name: MODEL, api: 'embeddings', targets: [{ provider: 'upstream', model: EMBEDDING_MODEL }] });
  const gateway = await startGatewayProcess({ name: 'embeddings-all-in-one', config });
  return {
    urls: { direct: up.url(0), floor: floor.url, gateway: gateway.url },
    stop: () => Promise.all([gateway.stop(), floor.stop(), up.stop()]),
  };
}

// Direct and floor reach the upstream, which knows the provider model; the gateway, the logical one.
const bodyFor = (mode, target) => body(mode.input, target === 'gateway' ? MODEL : EMBEDDING_MODEL);
const summary = (r, latencies) => ({ rps: r.rps, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors: r.errors, n: r.ok });

async function measure(mode, target, url, seconds) {
  const r = await cannon({ url, path: PATH, body: bodyFor(mode, target), connections: mode.connections, durationS: seconds });
  return summary({ ...r, errors: r.non2xx + r.errors }, r.latencies);
}

/** A c=1 mode on every target at once, their requests interleaved (`order[0]` first). */
async function measureTogether(mode, urls, order, seconds) {
  const requests = Object.fromEntries(order.map((t) => [t, { url: urls[t], path: PATH, headers: JSON_HEADERS, body: bodyFor(mode, t) }]));
  const results = await interleaved({ requests, order, durationMs: seconds * 1000 * order.length, stream: false });
  return Object.fromEntries(order.map((t) => [t, summary({ ...results[t], errors: results[t].failed }, results[t].latencies)]));
}

function ratiosOf(rep) {
  const added = (mode, t) => rep[mode][t].p50 - rep[mode].direct.p50;
  return {
    'single-c1 added p50 gateway/floor': added('single-c1', 'gateway') / added('single-c1', 'floor'),
    'array64-c1 added p50 gateway/floor': added('array64-c1', 'gateway') / added('array64-c1', 'floor'),
    'single-c64 throughput gateway/floor': rep['single-c64'].gateway.rps / rep['single-c64'].floor.rps,
    'array64-c64 throughput gateway/floor': rep['array64-c64'].gateway.rps / rep['array64-c64'].floor.rps,
  };
}

async function run({ quick, log }) {
  const { reps, seconds } = repetitionPlan(quick);
  const t = await startTargets();
  try {
    log(`  warming up ${TARGETS.join(', ')} (c=64, 1 and 64 inputs)`);
    for (const target of TARGETS) for (const mode of [MODES[1], MODES[3]]) await measure(mode, target, t.urls[target], 1);
    const repetitions = await repeat({
      reps,
      modes: MODES,
      targets: TARGETS,
      measure: (mode, target) => measure(mode, target, t.urls[target], seconds),
      measureTogether: (mode, order) => measureTogether(mode, t.urls, order, seconds),
      log,
    });
    const summary = summarize(repetitions, { modes: MODES, targets: TARGETS, ratiosOf });
    return { meta: { reps, seconds, upstream: UPSTREAM, inputs: { single: 1, array64: 64 } }, ...summary };
  } finally {
    await t.stop();
  }
}

module.exports = { id: 'embeddings', run, TARGETS, MODES };
