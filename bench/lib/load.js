'use strict';
/**
 * Load generators. Closed-loop non-streamed load: autocannon, with latencies taken from
 * its per-response event (its own histogram keeps whole milliseconds only, too coarse on
 * loopback). Streams: a small undici client loop, since autocannon cannot see the first
 * byte of a body. Steady open-loop load: `paced`, because autocannon's rate limit lets
 * each connection send its whole per-second budget at the top of every second (bursts,
 * not a steady rate).
 */
const autocannon = require('autocannon');
const { Pool } = require('undici');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { JSON_HEADERS } = require('./configs');

const PATH = '/v1/chat/completions';

/**
 * Runs autocannon against `url` + `path` (default PATH). `overallRate` makes it open-loop at that many
 * requests per second. Resolves with throughput and latency samples of 2xx answers;
 * `onStart(instance)` may schedule events during the run.
 */
async function cannon({ url, body, connections, durationS, overallRate, timeoutS = 30, path = PATH, headers = JSON_HEADERS }) {
  const latencies = [];
  const statuses = {};
  const instance = autocannon({
    url: url + path,
    method: 'POST',
    headers,
    body,
    connections,
    duration: durationS,
    timeout: timeoutS,
    ...(overallRate ? { overallRate } : {}),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const ok = r['2xx'];
  return {
    requests: ok + r.non2xx + r.errors,
    ok,
    rps: ok / r.duration,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statuses,
    latencies,
  };
}

/**
 * `connections` clients each sending streamed requests back to back for `durationMs`.
 * A stream counts as good when it answered 200, carried no error event and ended with
 * `end` ([DONE] for chat; message_stop for Anthropic's Messages). TTFB is the first body
 * byte (the first SSE event), total the last.
 */
async function streamLoad({ url, body, connections, durationMs, path = PATH, headers = JSON_HEADERS, end: endMark = '[DONE]' }) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const ttfb = [];
  const total = [];
  const failures = {};
  let ok = 0;
  const fail = (why) => (failures[why] = (failures[why] ?? 0) + 1);
  const started = performance.now();
  const end = started + durationMs;

  async function one() {
    const t0 = performance.now();
    let first;
    let tail = '';
    let errorEvent = false;
    try {
      const res = await pool.request({ path, method: 'POST', headers, body });
      for await (const chunk of res.body) {
        first ??= performance.now();
        if (!errorEvent && chunk.includes('"error"')) errorEvent = true;
        tail = (tail + chunk.toString('latin1')).slice(-64);
      }
      const t1 = performance.now();
      if (res.statusCode !== 200) return fail(`status ${res.statusCode}`);
      if (errorEvent) return fail('error event');
      if (!tail.includes(endMark)) return fail(`no ${endMark}`);
      ok++;
      ttfb.push(first - t0);
      total.push(t1 - t0);
    } catch (err) {
      fail(err.code ?? err.message);
    }
  }
  async function worker() {
    while (performance.now() < end) await one();
  }
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  return { requests: ok + failed, ok, rps: ok / elapsedS, failed, failures, ttfb, total };
}

/**
 * Concurrency 1 on several targets at once: one request to each in turn, `order` first,
 * then each round in a fresh shuffled order, for `durationMs` in all. Each target's
 * samples then come from the same moments as the others', so the machine's drift (its
 * speed moves within seconds here) falls on every target alike, where measuring one
 * target after another lets it fall on one. The shuffle keeps one target from always
 * following the same other: the work a gateway does after its answer (its log line) would
 * otherwise always land on the start of the same neighbour's request.
 * `requests[target]`: url, path, headers, body and, for streams, the last event (`end`).
 * Per target: latencies (whole answer; JSON) or ttfb and total (streams), and rps over
 * the time its own requests took.
 */
async function interleaved({ requests, order, durationMs, stream }) {
  const pools = new Map(order.map((t) => [t, new Pool(requests[t].url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 })]));
  const out = Object.fromEntries(order.map((t) => [t, { ok: 0, failed: 0, failures: {}, busyMs: 0, latencies: [], ttfb: [], total: [] }]));
  const end = performance.now() + durationMs;
  let cycle = [...order];
  for (let i = 0; performance.now() < end; i++) {
    if (i > 0 && i % order.length === 0) cycle = shuffled(cycle);
    const target = cycle[i % order.length];
    const { path, headers, body, end: endMark = '[DONE]' } = requests[target];
    const r = out[target];
    const t0 = performance.now();
    let why;
    let first;
    try {
      const res = await pools.get(target).request({ path, method: 'POST', headers, body });
      let tail = '';
      let errorEvent = false;
      for await (const chunk of res.body) {
        first ??= performance.now();
        if (!stream) continue;
        if (!errorEvent && chunk.includes('"error"')) errorEvent = true;
        tail = (tail + chunk.toString('latin1')).slice(-64);
      }
      if (res.statusCode < 200 || res.statusCode > 299 || (stream && res.statusCode !== 200)) why = `status ${res.statusCode}`;
      else if (errorEvent) why = 'error event';
      else if (stream && !tail.includes(endMark)) why = `no ${endMark}`;
    } catch (err) {
      why = err.code ?? err.message;
    }
    const t1 = performance.now();
    r.busyMs += t1 - t0;
    if (why !== undefined) {
      r.failed++;
      r.failures[why] = (r.failures[why] ?? 0) + 1;
      continue;
    }
    r.ok++;
    if (stream) {
      r.ttfb.push(first - t0);
      r.total.push(t1 - t0);
    } else r.latencies.push(t1 - t0);
  }
  await Promise.all([...pools.values()].map((p) => p.close()));
  for (const r of Object.values(out)) r.rps = r.busyMs > 0 ? r.ok / (r.busyMs / 1000) : 0;
  return out;
}

/** A Fisher-Yates shuffle of a copy. */
function shuffled(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Open-loop load: request i leaves at start + i / rate whatever happened to earlier
 * ones (up to `connections` in flight; more wait in the pool's queue). Resolves when
 * every request has been answered.
 */
async function paced({ url, body, rate, durationS, connections = 64, headers = JSON_HEADERS }) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const statuses = {};
  const failures = {};
  const latencies = [];
  const count = (m, k) => (m[k] = (m[k] ?? 0) + 1);
  const total = Math.round(rate * durationS);
  const inflight = new Set();
  async function one() {
    const t0 = performance.now();
    try {
      const res = await pool.request({ path: PATH, method: 'POST', headers, body });
      await res.body.dump({ limit: Infinity });
      count(statuses, res.statusCode);
      if (res.statusCode === 200) latencies.push(performance.now() - t0);
    } catch (err) {
      count(failures, err.code ?? err.message);
    }
  }
  const start = performance.now();
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Send everything that is due, then sleep until the next one is.
    while (i < total && start + (i * 1000) / rate <= now) {
      const p = one();
      inflight.add(p);
      p.finally(() => inflight.delete(p));
      i++;
    }
    if (i < total) await sleep(Math.max(0, start + (i * 1000) / rate - performance.now()));
  }
  await Promise.all(inflight);
  await pool.close();
  const ok = statuses[200] ?? 0;
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  return { requests: total, ok, non2xx: total - ok - failed, errors: failed, statuses, failures, latencies };
}

module.exports = { cannon, streamLoad, interleaved, paced, PATH };
