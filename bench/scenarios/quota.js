'use strict';
/**
 * Quota: three accounts with unequal per-minute request quotas (300, 600 and 900 rpm,
 * as accounts of different ages and tiers have), enforced by the upstream over a sliding
 * minute with 429 + Retry-After and OpenAI's x-ratelimit headers. Load at 90% of their
 * total for two minutes, open-loop, through the gateway (which knows the quotas from its
 * config) and, at the same time on a twin set of accounts, through a plain round-robin
 * proxy that ignores quotas: the baseline.
 */
const { startFloorProcess, startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, providerConfig } = require('../lib/configs');
const { paced } = require('../lib/load');

const QUOTAS = [300, 600, 900];
const LOAD_FRACTION = 0.9;

async function run({ quick, log }) {
  const durationS = quick ? 20 : 120;
  const rate = (LOAD_FRACTION * QUOTAS.reduce((a, b) => a + b, 0)) / 60;
  const accounts = {};
  QUOTAS.forEach((rpm, i) => {
    accounts[`gw-q${i + 1}`] = { rpm };
    accounts[`rr-q${i + 1}`] = { rpm };
  });
  const up = await startUpstreamProcess({ ports: 1, latencyMs: 50, accounts });
  const gw = await startGatewayProcess({
    name: 'quota',
    config: providerConfig(QUOTAS.map((rpm, i) => ({ id: `gw-q${i + 1}`, rpm, urls: [up.url(0, `gw-q${i + 1}`)] }))),
  });
  const rr = await startFloorProcess(QUOTAS.map((_, i) => up.url(0, `rr-q${i + 1}`)));
  try {
    log(`  ${rate.toFixed(1)} req/s for ${durationS} s through the gateway and through round-robin, at once`);
    const [g, r] = await Promise.all([
      paced({ url: gw.url, body: chatBody(), rate, durationS, connections: 32 }),
      paced({ url: rr.url, body: chatBody(), rate, durationS, connections: 32 }),
    ]);
    const stats = (await up.cmd('stats')).accounts;
    const side = (name, res, prefix) => {
      const mine = QUOTAS.map((_, i) => stats[`${prefix}-q${i + 1}`] ?? { ok: 0, throttled: 0 });
      return {
        name,
        sent: res.requests,
        ok: res.ok,
        goodput: res.ok / res.requests,
        client429: res.statuses[429] ?? 0,
        otherFailures: res.requests - res.ok - (res.statuses[429] ?? 0),
        provider429: mine.reduce((a, s) => a + s.throttled, 0),
        servedPerAccount: mine.map((s) => s.ok),
      };
    };
    const result = {
      meta: { quotas: QUOTAS, rate, durationS, compressed: quick },
      gateway: side('gateway', g, 'gw'),
      roundRobin: side('round-robin', r, 'rr'),
    };
    for (const s of [result.gateway, result.roundRobin]) {
      log(`  ${s.name}: goodput ${(s.goodput * 100).toFixed(2)}%, ${s.client429} client 429s, ${s.provider429} provider 429s, served ${s.servedPerAccount.join('/')}`);
    }
    return result;
  } finally {
    await Promise.all([gw.stop(), rr.stop(), up.stop()]);
  }
}

module.exports = { id: 'quota', run };
