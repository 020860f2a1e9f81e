'use strict';
/**
 * What capacity classes and budgets cost per request, with Redis on (as in AWS): three
 * gateways on one Redis and one upstream, the same tenant traffic through each, JSON at
 * c=1 (latency) and c=32 (throughput), repetitions back to back in a rotating order:
 *   base      tenants, account limits and the quota in Redis; no classes, prices or budgets
 *   classes   + capacity classes (a batch tenant: every admission checks its share)
 *   budgets   + classes, prices and a daily budget (a hold at admission, a settle after the
 *             answer: two more Redis calls per request)
 * Added p50 is each variant's c=1 p50 minus base's in the same repetition; the median of those.
 */
const { createHash } = require('node:crypto');
const { startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, JSON_HEADERS, MODEL } = require('../lib/configs');
const { cannon } = require('../lib/load');
const { startRedisProcess } = require('../lib/redis');
const { median, percentile } = require('../lib/stats');

const KEY = 'bench-key';
const VARIANTS = ['base', 'classes', 'budgets'];
const UPSTREAM = { ports: 1, latencyMs: 0 };
const HEADERS = { ...JSON_HEADERS, authorization: `Bearer ${KEY}` };

function config(up, redisUrl, variant) {
  const price = { inputPerMTok: 0.8, outputPerMTok: 3.2 };
  return {
    server: { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, requestTimeoutMs: 120_000 },
    providers: [
      {
        id: 'upstream',
        type: 'openai-compatible',
        // Limits far above what the bench sends: every request is admitted, through the Redis script.
        accounts: [{ id: `acct-${variant}`, limits: { '*': { rpm: 100_000_000, tpm: 1_000_000_000_000 } }, endpoints: [{ region: 'r1', url: `${up.url(0)}/v1` }] }],
      },
    ],
    models: [{ name: MODEL, targets: [{ provider: 'upstream', model: 'bench-model', ...(variant === 'budgets' ? { price } : {}) }] }],
    tenants: [
      {
        id: `tenant-${variant}`,
        keys: [`sha256:${createHash('sha256').update(KEY).digest('hex')}`],
        ...(variant === 'base' ? {} : { priority: 'batch' }),
        ...(variant === 'budgets' ? { budget: { usdPerDay: 1_000_000 } } : {}),
      },
    ],
    ...(variant === 'base' ? {} : { capacity: { criticalReserve: 0.2, batchCeiling: 0.6 } }),
    state: { redis: redisUrl },
  };
}

async function measure(url, connections, seconds) {
  const r = await cannon({ url, body: chatBody(), connections, durationS: seconds, headers: HEADERS });
  return { rps: r.rps, p50: percentile(r.latencies, 0.5), p99: percentile(r.latencies, 0.99), errors: r.non2xx + r.errors };
}

async function run({ quick, log }) {
  const reps = quick ? 1 : 5;
  const seconds = quick ? 1 : 2;
  const up = await startUpstreamProcess(UPSTREAM);
  const redis = await startRedisProcess();
  const gws = {};
  try {
    for (const v of VARIANTS) gws[v] = await startGatewayProcess({ name: `spend-${v}`, config: config(up, redis.url, v) });
    for (const v of VARIANTS) await measure(gws[v].url, 16, quick ? 1 : 2); // warm-up
    const repetitions = [];
    for (let r = 0; r < reps; r++) {
      const rep = {};
      const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]);
      for (const v of order) rep[v] = { c1: await measure(gws[v].url, 1, seconds), c32: await measure(gws[v].url, 32, seconds) };
      repetitions.push(rep);
      log(`  rep ${r + 1}/${reps}: ${VARIANTS.map((v) => `${v} c=1 p50 ${rep[v].c1.p50.toFixed(3)} ms, c=32 ${Math.round(rep[v].c32.rps)}/s`).join('; ')}`);
    }
    const byVariant = {};
    for (const v of VARIANTS) {
      const med = (mode, k) => median(repetitions.map((x) => x[v][mode][k]));
      byVariant[v] = {
        c1: { p50: med('c1', 'p50'), p99: med('c1', 'p99') },
        c32: { rps: med('c32', 'rps'), p99: med('c32', 'p99') },
        errors: repetitions.reduce((a, x) => a + x[v].c1.errors + x[v].c32.errors, 0),
        addedP50Ms: v === 'base' ? 0 : median(repetitions.map((x) => x[v].c1.p50 - x.base.c1.p50)),
        throughputVsBase: v === 'base' ? 1 : median(repetitions.map((x) => x[v].c32.rps / x.base.c32.rps)),
      };
    }
    return { meta: { reps, seconds, upstream: UPSTREAM, quick }, byVariant };
  } finally {
    await Promise.all([...Object.values(gws).map((g) => g.stop()), redis.stop(), up.stop()]);
  }
}

module.exports = { id: 'spend-overhead', run, VARIANTS };
