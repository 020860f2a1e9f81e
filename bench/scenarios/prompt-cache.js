'use strict';
/**
 * Prompt cache: a multi-turn agent workload on four equivalent simulated routes (one
 * provider, four accounts; each endpoint has its own prompt cache, a 1024-token minimum
 * and a 5-minute lifetime). Many sessions, each with a long document of its own behind a
 * shared system prompt, several turns each; every turn resends the whole conversation with
 * a cache marker on the document and on the newest user message, as agents do. Run twice
 * on fresh gateways: with session affinity (each session names itself with x-session-id)
 * and without (no session: equivalent routes share the load request by request).
 *
 * A turn's cache hit: it read back everything its previous turn cached (the route saw that
 * turn). Reported: hit rate over turns 2.., the cached share of input tokens, mean time to
 * first token (the simulated provider answers a cached prompt sooner), and requests per
 * route (max over the even share), and what the workload cost at Claude Sonnet-like prices
 * (the target's `price`: cache reads at a tenth of the input price, writes at 1.25x), from
 * each answer's usage.
 */
const { Pool } = require('undici');
const { performance } = require('node:perf_hooks');
const { startGatewayProcess } = require('../lib/children');
const { JSON_HEADERS } = require('../lib/configs');
const { PATH } = require('../lib/load');

const ROUTES = 4;
const SYSTEM = 'You are a careful assistant for a support team. Answer from the document; cite the clause. '.repeat(12);
/** About 2,500 tokens of a document of its own per session. */
const documentOf = (s) => `Document ${s}: ` + `Clause ${s}.x of the service agreement sets out terms for account ${s}. `.repeat(140);

function config() {
  return {
    providers: [
      {
        id: 'sim',
        type: 'simulated',
        accounts: Array.from({ length: ROUTES }, (_, i) => ({
          id: `acct-${i + 1}`,
          endpoints: [{ region: 'us-east-1', latencyMs: 400, tokensPerSecond: 400 }],
        })),
      },
    ],
    models: [{ name: 'agent', targets: [{ provider: 'sim', model: 'claude-sim', price: PRICE }] }],
    observability: { logLevel: 'warn' },
  };
}

/** USD per million tokens, as in the gateway's config. */
const PRICE = { inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3, cacheWritePerMTok: 3.75 };

/** What one answer cost at PRICE, from its usage (as the gateway prices it). */
function costOf(usage) {
  const d = usage.prompt_tokens_details ?? {};
  const read = d.cached_tokens ?? 0;
  const written = d.cache_write_tokens ?? 0;
  const fresh = usage.prompt_tokens - read - written;
  return (fresh * PRICE.inputPerMTok + read * PRICE.cachedInputPerMTok + written * PRICE.cacheWritePerMTok + usage.completion_tokens * PRICE.outputPerMTok) / 1e6;
}

const mark = { type: 'ephemeral' };

/** The conversation of turn `t` (0-based): system, the document (marked), the turns so far, the newest question (marked). */
function body(session, t) {
  const messages = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: [{ type: 'text', text: documentOf(session), cache_control: mark }] },
    { role: 'assistant', content: 'I have read the document.' },
  ];
  for (let i = 0; i < t; i++) messages.push({ role: 'user', content: `Question ${i} about clause ${i}?` }, { role: 'assistant', content: `Answer ${i}: see clause ${session}.${i}.` });
  messages.push({ role: 'user', content: [{ type: 'text', text: `Question ${t} about clause ${t}?`, cache_control: mark }] });
  return JSON.stringify({ model: 'agent', stream: true, stream_options: { include_usage: true }, max_tokens: 24, messages });
}

/** One streamed turn: time to the first content chunk, the usage chunk and the route that served it. */
async function turn(pool, session, t, sticky) {
  const headers = sticky ? { ...JSON_HEADERS, 'x-session-id': `session-${session}` } : JSON_HEADERS;
  const t0 = performance.now();
  const res = await pool.request({ path: PATH, method: 'POST', headers, body: body(session, t) });
  let ttft;
  let text = '';
  for await (const chunk of res.body) {
    const s = chunk.toString();
    if (ttft === undefined && s.includes('"content":"') && !s.includes('"content":""')) ttft = performance.now() - t0;
    text += s;
  }
  if (res.statusCode !== 200) throw new Error(`turn answered ${res.statusCode}: ${text.slice(0, 200)}`);
  const usageLine = text.split('\n').find((l) => l.includes('"usage":{'));
  const usage = JSON.parse(usageLine.slice('data: '.length)).usage;
  return { ttft: ttft ?? performance.now() - t0, usage, route: res.headers['x-gateway-route'], affinity: res.headers['x-gateway-affinity'] };
}

async function workload({ url, sessions, turns, agents, sticky }) {
  const pool = new Pool(url, { connections: agents, keepAliveTimeout: 60_000 });
  const results = [];
  let next = 0;
  async function agent() {
    for (let s = next++; s < sessions; s = next++) {
      let previous;
      for (let t = 0; t < turns; t++) {
        const r = await turn(pool, s, t, sticky);
        const details = r.usage.prompt_tokens_details ?? {};
        const read = details.cached_tokens ?? 0;
        const cachedBefore = previous ? (previous.details.cached_tokens ?? 0) + (previous.details.cache_write_tokens ?? 0) : undefined;
        results.push({
          t,
          ttft: r.ttft,
          prompt: r.usage.prompt_tokens,
          read,
          cost: costOf(r.usage),
          hit: cachedBefore !== undefined && read >= cachedBefore,
          route: r.route,
          affinity: r.affinity,
        });
        previous = { details };
      }
    }
  }
  await Promise.all(Array.from({ length: agents }, agent));
  await pool.close();
  return summarize(results);
}

function summarize(results) {
  const later = results.filter((r) => r.t > 0);
  const perRoute = {};
  for (const r of results) perRoute[r.route] = (perRoute[r.route] ?? 0) + 1;
  const loads = Object.values(perRoute);
  const even = results.length / ROUTES;
  const prompt = results.reduce((a, r) => a + r.prompt, 0);
  const read = results.reduce((a, r) => a + r.read, 0);
  const affinity = {};
  for (const r of results) if (r.affinity) affinity[r.affinity] = (affinity[r.affinity] ?? 0) + 1;
  return {
    requests: results.length,
    hitRate: later.filter((r) => r.hit).length / later.length,
    cachedShare: read / prompt,
    costUsd: results.reduce((a, r) => a + r.cost, 0),
    meanTtftMs: results.reduce((a, r) => a + r.ttft, 0) / results.length,
    meanTtftLaterMs: later.reduce((a, r) => a + r.ttft, 0) / later.length,
    perRoute: loads.sort((a, b) => b - a),
    routesUsed: loads.length,
    maxOverEven: Math.max(...loads) / even,
    affinity,
  };
}

async function run({ quick, log }) {
  const sessions = quick ? 48 : 160;
  const turns = quick ? 4 : 6;
  const agents = 16;
  const result = { meta: { routes: ROUTES, sessions, turns, agents, compressed: quick } };
  for (const [name, sticky] of [
    ['sticky', true],
    ['spread', false],
  ]) {
    const gw = await startGatewayProcess({ name: `prompt-cache-${name}`, config: config() });
    try {
      const r = await workload({ url: gw.url, sessions, turns, agents, sticky });
      result[name] = r;
      log(
        `  ${sticky ? 'with affinity   ' : 'without affinity'}: hit rate ${(r.hitRate * 100).toFixed(1)}%, cached share of input ${(r.cachedShare * 100).toFixed(1)}%, ` +
          `cost $${r.costUsd.toFixed(2)}, mean TTFT ${r.meanTtftMs.toFixed(0)} ms (turns 2..: ${r.meanTtftLaterMs.toFixed(0)} ms), per route ${r.perRoute.join('/')} (max ${r.maxOverEven.toFixed(2)}x even)`,
      );
    } finally {
      await gw.stop();
    }
  }
  result.hitRateRatio = result.sticky.hitRate / Math.max(result.spread.hitRate, 1e-9);
  result.costRatio = result.sticky.costUsd / Math.max(result.spread.costUsd, 1e-9);
  log(`  hit rate with affinity ${result.hitRateRatio.toFixed(2)}x the run without; cost ${result.costRatio.toFixed(2)}x`);
  return result;
}

module.exports = { id: 'prompt-cache', run };
