'use strict';
/** The targets of issue 6, checked against one run's results. */
const { fmt } = require('./stats');

const MB = 1_000_000;

/**
 * A target `value <= limit` (or `>=` when `atLeast`). Returns the row for the table,
 * with how far from the limit the value is.
 */
function check(name, value, limit, { atLeast = false, unit = '', show = (x) => `${fmt(x)}${unit}` } = {}) {
  if (value === undefined || Number.isNaN(value)) return { name, measured: 'not measured', limit: `${atLeast ? '>=' : '<='} ${show(limit)}`, verdict: '-', margin: '' };
  const met = atLeast ? value >= limit : value <= limit;
  let margin;
  if (limit === 0) margin = met ? '' : `${show(value)} over`;
  else if (met) margin = atLeast ? `${fmt((value / limit - 1) * 100)}% above` : `${fmt((1 - value / limit) * 100)}% headroom`;
  else margin = atLeast ? `${fmt((1 - value / limit) * 100)}% short` : `${fmt(value / limit)}x the limit`;
  return { name, measured: show(value), limit: `${atLeast ? '>=' : '<='} ${show(limit)}`, verdict: met ? 'met' : 'MISSED', margin };
}

/** The overhead targets of one API's run (`suffix` names the API in each row). */
function overheadRows(o, suffix) {
  const r = (k) => o.ratios[k]?.median;
  // p99s from all repetitions' samples pooled, where the run has them (runs before 2026-12-07 do not).
  const tail = (k) => o.ratios[k]?.pooled ?? r(k);
  const x = { show: (v) => `${fmt(v)}x` };
  const pct = { atLeast: true, show: (v) => `${fmt(v * 100)}%` };
  return [
    check(`added latency p50, gateway / floor (JSON, c=1${suffix})`, r('json-c1 added p50 gateway/floor'), 2, x),
    check(`added latency p99, gateway / floor (JSON, c=1${suffix})`, tail('json-c1 added p99 gateway/floor'), 3, x),
    check(`added TTFB p50, gateway / floor (stream, c=1${suffix})`, r('stream-c1 added p50 gateway/floor'), 2, x),
    check(`added TTFB p99, gateway / floor (stream, c=1${suffix})`, tail('stream-c1 added p99 gateway/floor'), 3, x),
    check(`throughput, gateway / floor (JSON, c=64${suffix})`, r('json-c64 throughput gateway/floor'), 0.7, pct),
    check(`throughput, gateway / floor (stream, c=64${suffix})`, r('stream-c64 throughput gateway/floor'), 0.7, pct),
    check(`added latency p50, two-tier / all-in-one (JSON, c=1${suffix})`, r('json-c1 added p50 two-tier/gateway'), 2, x),
    check(`added TTFB p50, two-tier / all-in-one (stream, c=1${suffix})`, r('stream-c1 added p50 two-tier/gateway'), 2, x),
  ];
}

function evaluate(results) {
  const rows = [];
  const o = results.overhead;
  if (o && !o.error) rows.push(...overheadRows(o, ''));
  const messages = results.messages;
  if (messages && !messages.error) rows.push(...overheadRows(messages, ', /v1/messages'));
  const e = results.embeddings;
  if (e && !e.error) {
    const r = (k) => e.ratios[k]?.median;
    const x = { show: (v) => `${fmt(v)}x` };
    const pct = { atLeast: true, show: (v) => `${fmt(v * 100)}%` };
    rows.push(check('embeddings: added latency p50, gateway / floor (1 input, c=1)', r('single-c1 added p50 gateway/floor'), 2, x));
    rows.push(check('embeddings: added latency p50, gateway / floor (64 inputs, c=1)', r('array64-c1 added p50 gateway/floor'), 2, x));
    rows.push(check('embeddings: throughput, gateway / floor (1 input, c=64)', r('single-c64 throughput gateway/floor'), 0.7, pct));
    rows.push(check('embeddings: throughput, gateway / floor (64 inputs, c=64)', r('array64-c64 throughput gateway/floor'), 0.7, pct));
  }
  const f = results.failover;
  if (f && !f.error) {
    rows.push(check('client errors, failover', f.clientErrors, 0));
    const none = f.runs.every((r) => r.postsAfterKill === 0);
    rows.push(check('last request to the dead endpoint after its death', f.worstLastPostAfterKillMs, 1000, { show: (v) => (none && v === 0 ? 'none sent' : `${fmt(v)} ms`) }));
  }
  const fo = results['failover-outcomes'];
  if (fo && !fo.error) {
    const pctShow = { show: (v) => `${fmt(v * 100)}%` };
    rows.push(check('extra upstream requests from hedging, normal load, defaults', fo.cost.extraRatio, 0.05, pctShow));
    rows.push(check('client errors, hedging under normal load', fo.cost.clientErrors, 0));
    const fixed = fo.silent.find((s) => s.mode.startsWith('fixed'));
    const defaults = fo.silent.find((s) => s.mode.startsWith('defaults'));
    if (fixed && defaults) rows.push(check('TTFT with a silent primary route, defaults / fixed 20 s', defaults.medianMs / fixed.medianMs, 0.05, { show: (v) => `${fmt(v)}x` }));
    const retry = fo.transient.find((t) => t.case.startsWith('same-route'));
    if (retry) rows.push(check('answered by the primary model after one transient 500', retry.byPrimary, 1, { atLeast: true, ...pctShow }));
  }
  const t = results.throttling;
  if (t && !t.error) rows.push(check('client errors, throttling', t.clientErrors, 0));
  const q = results.quota;
  if (q && !q.error) {
    rows.push(check('goodput at 90% of quota', q.gateway.goodput, 0.999, { atLeast: true, show: (v) => `${fmt(v * 100, 5)}%` }));
    rows.push(check('provider 429s at 90% of quota', q.gateway.provider429, 0));
  }
  const n = results['noisy-neighbour'];
  if (n && !n.error) rows.push(check('critical success under a batch flood (capacity classes)', n.criticalSuccessUnderFlood, 1, { atLeast: true, show: (v) => `${fmt(v * 100, 5)}%` }));
  const s = results['spend-overhead'];
  if (s && !s.error) rows.push(check('added latency p50, classes + budgets with Redis (JSON, c=1)', s.byVariant.budgets.addedP50Ms, 0.5, { unit: ' ms' }));
  const pc = results['prompt-cache'];
  if (pc && !pc.error) {
    rows.push(check('prompt-cache hit rate, with affinity / without', pc.hitRateRatio, 3, { atLeast: true, show: (v) => `${fmt(v)}x` }));
    rows.push(check('busiest route / even share, with affinity', pc.sticky.maxOverEven, 1.5, { show: (v) => `${fmt(v)}x` }));
  }
  const m = results.memory;
  if (m && !m.error) {
    const top = m.meta.levels[m.meta.levels.length - 1];
    rows.push(check(`RSS per concurrent stream, (RSS - idle) / ${fmt(top)}`, m.kbPerStreamAtTop, 50, { unit: ' KB' }));
    rows.push(check(`RSS per added stream (slope over ${m.meta.levels.map(fmt).join(', ')})`, m.slopeKbPerStream, 50, { unit: ' KB' }));
  }
  const c = results['cold-start'];
  if (c && !c.error) {
    rows.push(check('Lambda bundle size', c.bundleBytes / MB, 1.5, { unit: ' MB' }));
    rows.push(check('import to first answer (Lambda handler, fresh node)', c.firstAnswerMs, 150, { unit: ' ms' }));
  }
  return rows;
}

module.exports = { evaluate };
