'use strict';
/**
 * Noisy neighbour: one account (3,000 rpm in the gateway's config) shared by a critical
 * tenant's steady trickle and a batch tenant's flood at full speed (32 connections), the
 * quota counted in Redis as in AWS. Three runs, each on a fresh gateway and an empty Redis:
 * the trickle alone; the trickle under the flood with capacity classes (criticalReserve
 * 0.2, batchCeiling 0.6); and, for contrast, the same flood without classes. What matters
 * is the critical tenant's success rate and p99 latency under the flood against alone.
 */
const { createHash } = require('node:crypto');
const { startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, JSON_HEADERS, MODEL } = require('../lib/configs');
const { cannon, paced } = require('../lib/load');
const { startRedisProcess } = require('../lib/redis');
const { percentile } = require('../lib/stats');

const RPM = 3000;
const CRITICAL_RATE = 10;
const FLOOD_CONNECTIONS = 32;
const UPSTREAM = { ports: 1, latencyMs: 20 };
const KEYS = { critical: 'bench-key-critical', batch: 'bench-key-batch' };
const CAPACITY = { criticalReserve: 0.2, batchCeiling: 0.6 };

const hash = (key) => `sha256:${createHash('sha256').update(key).digest('hex')}`;
const headers = (key) => ({ ...JSON_HEADERS, authorization: `Bearer ${key}` });

function config(up, redisUrl, classes) {
  return {
    server: { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, requestTimeoutMs: 120_000 },
    providers: [
      { id: 'upstream', type: 'openai-compatible', accounts: [{ id: 'acct', limits: { '*': { rpm: RPM } }, endpoints: [{ region: 'r1', url: `${up.url(0)}/v1` }] }] },
      // Warm-up traffic goes here: the same code paths, none of the measured quota.
      { id: 'warm', type: 'openai-compatible', accounts: [{ id: 'warm', endpoints: [{ region: 'r1', url: `${up.url(0)}/v1` }] }] },
    ],
    models: [
      { name: MODEL, targets: [{ provider: 'upstream', model: 'bench-model' }] },
      { name: 'warm', targets: [{ provider: 'warm', model: 'warm-model' }] },
    ],
    tenants: [
      { id: 'checkout', keys: [hash(KEYS.critical)], priority: 'critical' },
      { id: 'nightly', keys: [hash(KEYS.batch)], priority: 'batch' },
    ],
    ...(classes ? { capacity: CAPACITY } : {}),
    state: { redis: redisUrl },
  };
}

const RUNS = [
  { id: 'alone', classes: true, flood: false },
  { id: 'flood', classes: true, flood: true },
  { id: 'flood, no classes', classes: false, flood: true },
];

async function run({ quick, log }) {
  const durationS = quick ? 5 : 20;
  const up = await startUpstreamProcess(UPSTREAM);
  const redis = await startRedisProcess();
  const body = chatBody();
  const warmBody = body.replace(`"model":"${MODEL}"`, '"model":"warm"');
  try {
    const runs = [];
    for (const r of RUNS) {
      await redis.flush();
      const gw = await startGatewayProcess({ name: `noisy-${r.classes ? 'classes' : 'plain'}`, config: config(up, redis.url, r.classes) });
      try {
        await cannon({ url: gw.url, body: warmBody, connections: 8, durationS: quick ? 1 : 2, headers: headers(KEYS.critical) });
        const [critical, batch] = await Promise.all([
          paced({ url: gw.url, body, rate: CRITICAL_RATE, durationS, connections: 16, headers: headers(KEYS.critical) }),
          r.flood ? cannon({ url: gw.url, body, connections: FLOOD_CONNECTIONS, durationS, headers: headers(KEYS.batch) }) : undefined,
        ]);
        const result = {
          run: r.id,
          critical: {
            sent: critical.requests,
            ok: critical.ok,
            success: critical.ok / critical.requests,
            p50: percentile(critical.latencies, 0.5),
            p99: percentile(critical.latencies, 0.99),
            statuses: critical.statuses,
          },
          ...(batch
            ? {
                batch: {
                  sent: batch.requests,
                  admitted: batch.statuses[200] ?? 0,
                  refused429: batch.statuses[429] ?? 0,
                  other: batch.requests - (batch.statuses[200] ?? 0) - (batch.statuses[429] ?? 0),
                  rps: batch.requests / durationS,
                },
              }
            : {}),
        };
        runs.push(result);
        log(
          `  ${r.id}: critical ${result.critical.ok}/${result.critical.sent} ok, p50 ${result.critical.p50.toFixed(2)} ms, p99 ${result.critical.p99.toFixed(2)} ms` +
            (result.batch
              ? `; batch ${result.batch.sent} sent (${Math.round(result.batch.rps)}/s), ${result.batch.admitted} admitted, ${result.batch.refused429} refused with 429, ${result.batch.other} other`
              : ''),
        );
      } finally {
        await gw.stop();
      }
    }
    const alone = runs[0].critical;
    const flood = runs[1].critical;
    return {
      meta: { rpm: RPM, capacity: CAPACITY, criticalRate: CRITICAL_RATE, floodConnections: FLOOD_CONNECTIONS, durationS, upstream: UPSTREAM, quick },
      runs,
      criticalSuccessUnderFlood: flood.success,
      criticalP99Ratio: flood.p99 / alone.p99,
      criticalP99AddedMs: flood.p99 - alone.p99,
    };
  } finally {
    await Promise.all([redis.stop(), up.stop()]);
  }
}

module.exports = { id: 'noisy-neighbour', run };
