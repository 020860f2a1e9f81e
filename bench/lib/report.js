'use strict';
/** Markdown for the results: the same tables go to the terminal and to docs/benchmarks.md. */
const { fmt, ms, pct, ratio } = require('./stats');

function table(columns, rows) {
  const esc = (v) => String(v ?? '').replace(/\|/g, '\\|');
  return [`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

const kb = (x) => `${fmt(x)} KB`;
const mb = (kbValue) => `${fmt(kbValue / 1024)} MB`;

function targetsSection(rows) {
  return table(
    ['target', 'measured', 'limit', 'verdict', 'margin'],
    rows.map((r) => [r.name, r.measured, r.limit, r.verdict, r.margin]),
  );
}

function overheadSection(o) {
  const c1 = o.byMode['json-c1'];
  // Runs from before floor-chain was measured have four targets.
  const TARGETS = ['direct', 'floor', 'gateway', 'two-tier', 'floor-chain'].filter((t) => c1[t]);
  const c64 = o.byMode['json-c64'];
  const json = table(
    ['target', 'c=1 p50', 'c=1 p99', 'added p50', 'added p99', 'c=64 req/s', 'c=64 p99', 'errors'],
    TARGETS.map((t) => [
      t,
      ms(c1[t].p50),
      ms(c1[t].p99),
      t === 'direct' ? '' : ms(c1[t].p50 - c1.direct.p50),
      t === 'direct' ? '' : ms(c1[t].p99 - c1.direct.p99),
      fmt(c64[t].rps),
      ms(c64[t].p99),
      c1[t].errors + c64[t].errors,
    ]),
  );
  const s1 = o.byMode['stream-c1'];
  const s64 = o.byMode['stream-c64'];
  const stream = table(
    ['target', 'c=1 TTFB p50', 'c=1 TTFB p99', 'c=1 total p50', 'added TTFB p50', 'added total p50', 'c=64 streams/s', 'c=64 TTFB p99', 'c=64 total p99', 'errors'],
    TARGETS.map((t) => [
      t,
      ms(s1[t].p50),
      ms(s1[t].p99),
      ms(s1[t].totalP50),
      t === 'direct' ? '' : ms(s1[t].p50 - s1.direct.p50),
      t === 'direct' ? '' : ms(s1[t].totalP50 - s1.direct.totalP50),
      fmt(s64[t].rps),
      ms(s64[t].p99),
      ms(s64[t].totalP99),
      s1[t].errors + s64[t].errors,
    ]),
  );
  const pooled = Object.values(o.ratios).some((v) => v.pooled !== undefined);
  const ratios = table(
    ['ratio (same repetition)', ...o.ratios[Object.keys(o.ratios)[0]].values.map((_, i) => `rep ${i + 1}`), 'median', ...(pooled ? ['all reps pooled'] : [])],
    Object.entries(o.ratios).map(([k, v]) => [k, ...v.values.map((x) => fmt(x)), fmt(v.median), ...(pooled ? [v.pooled === undefined ? '' : fmt(v.pooled)] : [])]),
  );
  const u = o.meta.upstream;
  return [
    `Upstream answers at once (${u.latencyMs} ms latency); streams are ${u.chunks} chunks ${u.chunkIntervalMs} ms apart. ` +
      `Each number is the median of ${o.meta.reps} repetitions of ${o.meta.seconds} s per target and mode (${o.meta.seconds * 2} s for streams at c=1, which come only ~40 a second); in each repetition the ${TARGETS.length} targets run at c=1 all at once, one request to each in turn (each round in a shuffled order), and at c=64 back to back in a rotating order. ` +
      `"Added" is the target minus direct in the same repetition's median.` +
      (c1['floor-chain']
        ? ' floor-chain is two floor proxies in a row (floor -> floor -> upstream): what any two Node hops add on this machine, the reference for two-tier against all-in-one.'
        : ''),
    '',
    '**Non-streamed** (latency per response; undici client at c=1, autocannon at c=64):',
    '',
    json,
    '',
    '**Streamed** (undici client loop; TTFB = first body byte, the first SSE event):',
    '',
    stream,
    '',
    pooled
      ? "**Ratios**, computed within each repetition, then the median; the p99 targets take the p99 of every repetition's c=1 samples pooled (one repetition holds only ~160 streams a target):"
      : '**Ratios**, computed within each repetition, then the median:',
    '',
    ratios,
  ].join('\n');
}

function embeddingsSection(e) {
  const modes = [
    ['1 input', 'single'],
    ['64 inputs', 'array64'],
  ];
  const rows = [];
  for (const [label, key] of modes) {
    const c1 = e.byMode[`${key}-c1`];
    const c64 = e.byMode[`${key}-c64`];
    for (const t of ['direct', 'floor', 'gateway']) {
      rows.push([label, t, ms(c1[t].p50), ms(c1[t].p99), t === 'direct' ? '' : ms(c1[t].p50 - c1.direct.p50), fmt(c64[t].rps), ms(c64[t].p99), c1[t].errors + c64[t].errors]);
    }
  }
  const ratios = table(
    ['ratio (same repetition)', ...e.ratios[Object.keys(e.ratios)[0]].values.map((_, i) => `rep ${i + 1}`), 'median'],
    Object.entries(e.ratios).map(([k, v]) => [k, ...v.values.map((x) => fmt(x)), fmt(v.median)]),
  );
  return [
    `POST /v1/embeddings with \`encoding_format: base64\` (what the OpenAI SDKs send), ${e.meta.upstream.embeddingDimensions} dimensions, texts of about 30 tokens; the upstream answers at once. ` +
      `Each number is the median of ${e.meta.reps} repetitions of ${e.meta.seconds} s per target and mode, the targets at c=1 all at once (one request to each in turn, each round shuffled) and at c=64 back to back in a rotating order; "added" is the target minus direct.`,
    '',
    table(['inputs', 'target', 'c=1 p50', 'c=1 p99', 'added p50', 'c=64 req/s', 'c=64 p99', 'errors'], rows),
    '',
    ratios,
  ].join('\n');
}

function failoverSection(f) {
  const rows = f.runs.map((r, i) => [
    i + 1,
    fmt(r.jsonRequests),
    r.jsonErrors,
    fmt(r.streams),
    r.streamErrors,
    r.postsAfterKill,
    r.postsAfterKill === 0 ? 'none' : ms(r.lastPostAfterKillMs),
    r.probesAfterKill,
    Number.isFinite(r.backAfterReviveMs) ? ms(r.backAfterReviveMs) : 'not within the run',
  ]);
  return [
    `Load: ${f.meta.rate} for ${f.meta.duration}; one account, two endpoints; endpoint 2 killed at ${f.meta.killAt} (every connection reset, as a dead host behind a balancer) and revived at ${f.meta.reviveAt}. Upstream: ${f.meta.upstream.latencyMs} ms answers, streams of ${f.meta.upstream.chunks} chunks ${f.meta.upstream.chunkIntervalMs} ms apart.`,
    '',
    table(
      [
        'run',
        'JSON requests',
        'JSON errors',
        'streams',
        'stream errors',
        'requests to the dead endpoint after the kill',
        'last one after the kill',
        'health probes to it',
        'traffic back after the revival',
      ],
      rows,
    ),
  ].join('\n');
}

function failoverOutcomesSection(o) {
  return [
    `Upstream: ${o.meta.upstream}. Silent primary: ${o.meta.warmUp}, then the primary target accepts requests and never answers; the time to first token of the next stream (median of the runs). One 500: the primary target's only route answers the next request with 500 once. Hedging cost: ${o.meta.load}, default settings.`,
    '',
    table(
      ['silent primary route', 'runs', 'time to first token (median)', 'answered by the fallback'],
      o.silent.map((s) => [s.mode, s.reps, ms(s.medianMs), pct(s.byFallback)]),
    ),
    '',
    table(
      ['one transient 500', 'requests', 'time to success p50', 'p95', 'answered by the primary model'],
      o.transient.map((t) => [t.case, t.reps, ms(t.p50), ms(t.p95), pct(t.byPrimary)]),
    ),
    '',
    table(
      ['hedging under normal load', 'client streams', 'client errors', 'upstream requests', 'hedges', 'extra upstream requests', 'TTFB p50', 'TTFB p99'],
      [['defaults', fmt(o.cost.clientRequests), o.cost.clientErrors, fmt(o.cost.upstreamRequests), o.cost.hedges, pct(o.cost.extraRatio), ms(o.cost.ttfbP50), ms(o.cost.ttfbP99)]],
    ),
  ].join('\n');
}

function throttlingSection(t) {
  return [
    `Load: ${t.meta.load}. Upstream: ${t.meta.upstream}. Two accounts; one answers every request with 429 for the whole run. "Wasted" attempts are the requests that reached the throttled account; "largest burst" is the most of them within 5 ms.`,
    '',
    table(
      ['case', 'duration', 'client requests', 'client errors', 'wasted attempts', 'wasted per second', 'share of all attempts', 'largest burst'],
      t.cases.map((c) => [c.case, `${c.durationS} s`, fmt(c.requests), c.clientErrors, c.wasted, fmt(c.wastedPerS), pct(c.wastedShare), c.largestBurst]),
    ),
  ].join('\n');
}

function quotaSection(q) {
  const row = (s) => [s.name, fmt(s.sent), fmt(s.ok), `${fmt(s.goodput * 100, 5)}%`, s.client429, s.otherFailures, s.provider429, s.servedPerAccount.join(' / ')];
  return [
    `Three accounts with ${q.meta.quotas.join(', ')} requests per minute, enforced by the upstream over a sliding minute (429 with Retry-After and x-ratelimit headers). ` +
      `Open-loop load of ${fmt(q.meta.rate)} req/s (90% of the total) for ${q.meta.durationS} s, through the gateway (which has the quotas in its config) and, at the same time on a twin set of accounts, through a round-robin proxy that ignores quotas.` +
      (q.meta.compressed ? ' **Quick mode: 20 s, too short for any account to reach its quota; a smoke test only.**' : ''),
    '',
    table(['path', 'sent', 'answered 200', 'goodput', 'client 429s', 'other failures', 'provider 429s', 'served per account'], [row(q.gateway), row(q.roundRobin)]),
  ].join('\n');
}

function noisyNeighbourSection(n) {
  const m = n.meta;
  const rows = n.runs.map((r) => [
    r.run,
    `${r.critical.ok} / ${r.critical.sent}`,
    pct(r.critical.success),
    ms(r.critical.p50),
    ms(r.critical.p99),
    r.batch ? `${fmt(r.batch.rps)}/s` : '-',
    r.batch ? fmt(r.batch.admitted) : '-',
    r.batch ? fmt(r.batch.refused429) : '-',
    r.batch ? fmt(r.batch.other) : '-',
  ]);
  return [
    `One account of ${fmt(m.rpm)} rpm (in the gateway's config; quota counted in Redis). A critical tenant sends ${m.criticalRate} req/s (open loop) for ${m.durationS} s; ` +
      `a batch tenant floods at full speed (${m.floodConnections} connections) at the same time. Classes: criticalReserve ${m.capacity.criticalReserve}, batchCeiling ${m.capacity.batchCeiling}. ` +
      `Upstream latency ${m.upstream.latencyMs} ms. Each run on a fresh gateway and an empty Redis; the flood and the gateway share the machine's cores.` +
      (m.quick ? ' **Quick mode.**' : ''),
    '',
    table(['run', 'critical answered', 'critical success', 'critical p50', 'critical p99', 'batch sent', 'batch admitted', 'batch 429', 'batch other errors'], rows),
    '',
    `Under the flood with classes, the critical tenant's p99 is ${ratio(n.criticalP99Ratio)} its p99 alone (${ms(n.criticalP99AddedMs)} added); without classes the flood takes the whole quota and critical requests fail.`,
  ].join('\n');
}

function spendOverheadSection(o) {
  const b = o.byVariant;
  const row = (v, what) => [
    v,
    what,
    ms(b[v].c1.p50),
    ms(b[v].c1.p99),
    v === 'base' ? '-' : ms(b[v].addedP50Ms),
    `${fmt(b[v].c32.rps)}/s`,
    v === 'base' ? '-' : pct(b[v].throughputVsBase),
    b[v].errors,
  ];
  return [
    `The same tenant traffic (JSON) through three gateways on one Redis, quota in Redis for all; medians of ${o.meta.reps} repetitions of ${o.meta.seconds} s, variants back to back in a rotating order. Added p50 is taken within each repetition against base.` +
      (o.meta.quick ? ' **Quick mode.**' : ''),
    '',
    table(
      ['variant', 'what it adds per request', 'c=1 p50', 'c=1 p99', 'added p50', 'c=32 req/s', 'c=32 vs base', 'errors'],
      [
        row('base', 'tenant, account limits, quota in Redis'),
        row('classes', "a batch tenant: admission within its class's share"),
        row('budgets', 'classes + prices + a daily budget: a hold at admission, a settle after'),
      ],
    ),
  ].join('\n');
}

function promptCacheSection(p) {
  const m = p.meta;
  const row = (name, r) => [
    name,
    fmt(r.requests),
    pct(r.hitRate),
    pct(r.cachedShare),
    r.costUsd === undefined ? '-' : `$${r.costUsd.toFixed(2)}`,
    ms(r.meanTtftMs),
    ms(r.meanTtftLaterMs),
    r.perRoute.join(' / '),
    ratio(r.maxOverEven),
  ];
  return [
    `A multi-turn agent workload on ${m.routes} equivalent simulated routes (one provider, ${m.routes} accounts, each endpoint with its own prompt cache): ${fmt(m.sessions)} sessions of ${m.turns} turns, ` +
      `${m.agents} at a time; each session has a document of its own (about 2,500 tokens, marked) behind a shared system prompt, and every turn resends the conversation with a marker on its newest message. ` +
      'With affinity each session names itself (`x-session-id`); without, the same requests name none and the routes share them request by request. A hit: the turn read back everything its previous turn cached. ' +
      "Cost at the target's price (input $3, cache reads $0.30, cache writes $3.75, output $15 per million tokens), from each answer's usage." +
      (m.compressed ? ' **Quick mode: fewer sessions and turns.**' : ''),
    '',
    table(
      ['run', 'requests', 'hit rate (turns 2..)', 'cached share of input', 'cost', 'mean TTFT', 'mean TTFT (turns 2..)', 'requests per route', 'busiest route / even'],
      [row('with affinity', p.sticky), row('without affinity', p.spread)],
    ),
    '',
    `Hit rate with affinity: ${ratio(p.hitRateRatio)} the run without${p.costRatio === undefined ? '' : `; cost ${ratio(p.costRatio)} the run without`}.`,
  ].join('\n');
}

function memorySection(m) {
  const h = m.healthAfterCancel;
  return [
    `Slow streams (one chunk every ${m.meta.chunkIntervalMs / 1000} s) held open through the all-in-one gateway, to ${m.meta.upstreamPorts === 1 ? 'one upstream endpoint' : `${m.meta.upstreamPorts} upstream endpoints`} (each stream holds one upstream connection). Idle RSS is measured warm, after traffic; each RSS is the median of three samples.`,
    '',
    table(
      ['concurrent streams', 'started', 'failed', 'RSS', 'RSS - idle', 'RSS KB per stream', 'marginal KB per stream', 'of which V8 heap', 'of which external (buffers)'],
      [
        ['0 (idle, warm)', '', '', mb(m.idleKb), '', '', '', '', ''],
        ...m.rows.map((r, i) => {
          const prev = i === 0 ? { streams: 0, rssKb: m.idleKb } : m.rows[i - 1];
          const marginal = (r.rssKb - prev.rssKb) / (r.streams - prev.streams);
          return [fmt(r.streams), fmt(r.started), r.failed, mb(r.rssKb), mb(r.rssKb - m.idleKb), kb(r.kbPerStream), kb(marginal), kb(r.heapKbPerStream), kb(r.externalKbPerStream)];
        }),
      ],
    ),
    '',
    `"KB per stream" is (RSS - idle) / streams; "marginal" is the growth from the previous row per added stream. The slope of RSS over the ${m.rows.length} levels (least squares) is **${kb(m.slopeKbPerStream)} per added stream**. At the lowest level the figure depends on how much slack the warm heap still had, so the targets use the largest level and the slope.`,
    '',
    "Heap and external memory come from the gateway's own /metrics (prom-client) at the same moments; heap used includes garbage not yet collected, so it jumps with GC timing (`node bench/tools/heap-per-stream.js` counts live objects per stream from heap snapshots instead). The rest of the RSS is native memory (socket buffers, HTTP parsers, allocator slack).",
    '',
    `After the clients went away: ${m.upstreamStreamsLeftOpen} upstream streams still open 3 s later; gateway RSS ${mb(m.rssAfterKb)}.` +
      (h ? ` /healthz then said "${h.status}" with ${h.routesOut} of ${h.routes} routes not healthy${h.lastFailure ? ` (last failure: ${h.lastFailure})` : ''}.` : ''),
  ].join('\n');
}

function coldStartSection(c) {
  const lines = [
    `The Lambda package as infra/lib/bundle.ts makes it (esbuild, platform node, target node24, cjs, minified): **${fmt(c.bundleBytes)} bytes** of JavaScript, ` +
      `${fmt(c.coldBytes)} of them in index.js, which every cold start parses; lazy.js holds the packages loaded on first use (AWS SDK clients, ioredis). ` +
      `Each run is a fresh \`node\` that requires index.js and sends one REST proxy event (POST /v1/chat/completions, proxy role, a spoke on loopback; the config inline and an SSM parameter to poll, as the hub sets them) through the handler; medians of ${c.runs} runs.`,
    '',
    table(
      ['measure', 'median'],
      [
        ['require() of the bundle', ms(c.requireMs)],
        ['require() to the first answer', ms(c.firstAnswerMs)],
        ['node start-up before our code (not ours to cut)', ms(c.nodeStartMs)],
        ['whole process, spawn to exit', ms(c.wallMs)],
      ],
    ),
    '',
    'Largest inputs of index.js:',
    '',
    table(
      ['input', 'bytes'],
      c.largest.map((x) => [x.name, fmt(x.bytes)]),
    ),
  ];
  if (c.startupProfile) {
    lines.push(
      '',
      `Where start-up time goes (one profiled cold run, ${fmt(c.startupProfile.workMs)} ms of samples, self time by package; "node core" includes compiling the bundle):`,
      '',
      table(
        ['package', 'ms', 'share'],
        c.startupProfile.packages.map((p) => [p.name.replace(/^.*lambda-mapped\/index\.js$/, 'bundle (unmapped helpers)'), fmt(p.ms), pct(p.share)]),
      ),
    );
  }
  return lines.join('\n');
}

function profileSection(p) {
  const out = [
    "Self time is spent in the function itself; inclusive time includes what it calls. What is left of the gateway's cost beyond the floor's, and what would remove it: the Analysis section below, parts 2 and 3.",
    '',
  ];
  for (const prof of p.profiles) {
    out.push(
      `**${prof.mode === 'json' ? 'Non-streamed' : 'Streamed'}, c=64** (${fmt(prof.rps)}/s under the profiler, ${prof.seconds} s, ${fmt(prof.workMs)} ms of CPU samples):`,
      '',
      table(
        ['package (self time)', 'share'],
        prof.packages.slice(0, 10).map((x) => [x.name, pct(x.share)]),
      ),
      '',
      table(
        ['function (self time)', 'where', 'share'],
        prof.self.map((x) => [x.name, x.where, pct(x.share)]),
      ),
      '',
      table(
        ['function (inclusive)', 'where', 'share'],
        prof.inclusive.map((x) => [x.name, x.where, pct(x.share)]),
      ),
      '',
    );
  }
  return out.join('\n');
}

const SECTIONS = {
  overhead: ['Overhead', overheadSection],
  messages: ['Overhead of the Messages API (/v1/messages, Claude served natively)', overheadSection],
  embeddings: ['Embeddings', embeddingsSection],
  failover: ['Failover', failoverSection],
  'failover-outcomes': ['Failover outcomes', failoverOutcomesSection],
  throttling: ['Throttling', throttlingSection],
  quota: ['Quota', quotaSection],
  'noisy-neighbour': ['Noisy neighbour (capacity classes)', noisyNeighbourSection],
  'spend-overhead': ['Classes and budgets: overhead per request', spendOverheadSection],
  'prompt-cache': ['Prompt cache and session affinity', promptCacheSection],
  memory: ['Memory', memorySection],
  'cold-start': ['Cold start', coldStartSection],
  profile: ['Profile', profileSection],
};

/** One section per scenario that ran, in a fixed order. */
function scenarioSections(results) {
  const out = [];
  for (const [id, [title, render]] of Object.entries(SECTIONS)) {
    const r = results[id];
    if (!r) continue;
    out.push(`## ${title}`, '', r.error ? `**Failed:** ${r.error}` : render(r), '');
  }
  return out.join('\n');
}

module.exports = { table, targetsSection, scenarioSections, ratio };
