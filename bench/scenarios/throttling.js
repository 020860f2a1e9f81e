'use strict';
/**
 * Throttling: two accounts behind one logical model; one of them answers every request
 * with 429 for the whole run. With Retry-After (the gateway can cool the account down
 * for exactly that long) and without (it must guess). Counts client errors and the
 * attempts the throttled account received: each one is wasted work and added latency.
 */
const { startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, providerConfig } = require('../lib/configs');
const { paced, streamLoad } = require('../lib/load');

const CASES = [
  { id: '429 with Retry-After: 1', throttle: { retryAfterS: 1 } },
  { id: '429 without Retry-After', throttle: {} },
];

async function once(kase, { quick }) {
  const durationS = quick ? 4 : 10;
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 10, chunks: 10, chunkIntervalMs: 5, accounts: { throttled: { throttle: kase.throttle } } });
  const config = providerConfig([
    { id: 'healthy', urls: [up.url(0, 'healthy')] },
    { id: 'throttled', urls: [up.url(0, 'throttled')] },
  ]);
  const gw = await startGatewayProcess({ name: 'throttling', config });
  try {
    const [json, stream] = await Promise.all([
      paced({ url: gw.url, body: chatBody(), rate: 300, durationS }),
      streamLoad({ url: gw.url, body: chatBody({ stream: true }), connections: 4, durationMs: durationS * 1000 }),
    ]);
    const { accounts } = await up.cmd('stats');
    const wasted = accounts.throttled?.requests ?? 0;
    const at = accounts.throttled?.throttledAt ?? [];
    const attempts = wasted + (accounts.healthy?.requests ?? 0);
    return {
      case: kase.id,
      durationS,
      requests: json.requests + stream.requests,
      clientErrors: json.non2xx + json.errors + stream.failed,
      wasted,
      wastedPerS: wasted / durationS,
      wastedShare: wasted / attempts,
      largestBurst: largestBurst(at, 5),
      statuses: json.statuses,
      streamFailures: stream.failures,
    };
  } finally {
    await Promise.all([gw.stop(), up.stop()]);
  }
}

/** The most attempts that arrived within any `windowMs`: requests released together at a cooldown's end. */
function largestBurst(times, windowMs) {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] > windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function run({ quick, log }) {
  const cases = [];
  for (const kase of CASES) {
    const r = await once(kase, { quick });
    log(
      `  ${r.case}: ${r.requests} requests, ${r.clientErrors} client errors, ${r.wasted} attempts on the throttled account (${r.wastedPerS.toFixed(1)}/s, up to ${r.largestBurst} within 5 ms)`,
    );
    cases.push(r);
  }
  return {
    meta: { load: '300 JSON req/s (paced) + 4 back-to-back streams', upstream: '10 ms answers; streams 10 chunks 5 ms apart' },
    cases,
    clientErrors: cases.reduce((a, c) => a + c.clientErrors, 0),
  };
}

module.exports = { id: 'throttling', run };
