/**
 * The status page itself: one static HTML document with inline CSS and JS, no framework
 * and no external resource. It holds no data: the script fills it from the JSON snapshot
 * with textContent only, so nothing from config or state is ever parsed as HTML. The
 * Content-Security-Policy allows exactly these two inline blocks (by hash) and same-origin
 * connections.
 */
import { createHash } from 'node:crypto';

const CSS = `
:root{--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--down:#82071e;--cool:#0550ae;--mute:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;flex-wrap:wrap;align-items:center;gap:6px 20px;padding:14px 20px;background:#fff;border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0}
h2{font-size:15px;margin:22px 0 8px}
.overall{font-size:22px;font-weight:700;letter-spacing:.04em;padding:3px 14px;border-radius:6px;color:#fff;background:var(--mute)}
.overall.OK{color:#fff;background:var(--ok)}.overall.DEGRADED{color:#fff;background:var(--warn)}.overall.DOWN{color:#fff;background:var(--bad)}
.summary{font-size:15px;font-weight:600}
.meta{color:var(--mute);font-size:13px;flex-basis:100%}
.conn{font-weight:600}.conn.ok{color:var(--ok)}.conn.warn{color:var(--warn)}.conn.bad{color:var(--bad)}
body.stale .overall{color:#fff;background:var(--mute)}
main{padding:14px 20px 30px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{padding:5px 7px;text-align:left;border-bottom:1px solid #eaeef2;white-space:nowrap;vertical-align:middle}
thead th{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute);background:#f6f8fa}
tr.model th{background:#eaeef2;font-size:14px;padding-top:8px}
.mname{font-weight:700;margin-right:10px}.msub{color:var(--mute);font-weight:400;margin-left:10px}
.sub{color:var(--mute);font-size:12px;margin-left:4px}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-weight:600;font-size:12px;border:1px solid currentColor}
.m-OK,.s-healthy{color:var(--ok);background:#dafbe1}.m-DEGRADED,.s-half-open{color:var(--warn);background:#fff8c5}
.s-cooldown{color:var(--cool);background:#ddf4ff}.s-ejected{color:var(--bad);background:#ffebe9}.m-DOWN,.s-down{color:#fff;background:var(--down)}
tr.st-ejected,tr.st-down{background:#fff5f5}tr.st-cooldown{background:#f5fbff}tr.st-half-open{background:#fffdf0}
.track{display:inline-block;width:56px;height:9px;background:#eaeef2;border-radius:4px;overflow:hidden;vertical-align:middle;margin-right:6px}
.fill{display:block;height:100%;background:var(--ok)}.fill.warm{background:#d4a72c}.fill.hot{background:var(--bad)}
.num{font-variant-numeric:tabular-nums}
td.fail{color:var(--mute);font-size:12px}
.clamp{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;white-space:normal;min-width:180px;max-width:280px;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
ol{list-style:none;margin:0;padding:0;background:#fff;border:1px solid var(--line)}
li{padding:4px 10px;border-bottom:1px solid #eaeef2;overflow-wrap:anywhere}
li time{color:var(--mute);margin-right:8px;font-variant-numeric:tabular-nums}
.kind{display:inline-block;min-width:70px;margin-right:8px;font-weight:600;font-size:12px}
.kind.failover{color:var(--warn)}.kind.ejection,.kind.error{color:var(--bad)}.kind.cooldown{color:var(--cool)}
.rkey{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.until{color:var(--mute)}
.classes{display:block;margin:2px 0 0;font-size:11px}
#spend td.over,#tenants td.over{color:var(--bad);font-weight:600}
#tenants tr.refusing td.refused{color:var(--bad);font-weight:600}
`;

const JS = `
(function () {
  'use strict';
  var ICON = { healthy: '\\u2714', 'half-open': '\\u25D0', cooldown: '\\u2744', ejected: '\\u2716', down: '\\u25BC' };
  var ORDER = ['healthy', 'half-open', 'cooldown', 'ejected', 'down'];
  var CLASSES = ['critical', 'standard', 'batch'];
  var COLUMNS = 12;
  var lastUpdate = 0;
  var polling = false;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function td(text, cls) { return el('td', cls, text); }
  // Spaces between inline parts, so copied or read-aloud text does not run together.
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      if (parent.firstChild) parent.appendChild(document.createTextNode(' '));
      parent.appendChild(arguments[i]);
    }
    return parent;
  }
  function num(n) {
    if (n >= 1e6) return (n / 1e6).toFixed(1).replace(/\\.0$/, '') + 'M';
    if (n >= 1e4) return Math.round(n / 1e3) + 'k';
    return String(n);
  }
  function clock(iso) { return new Date(iso).toTimeString().slice(0, 8); }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  // "<ISO time> <what>" from the gateway, shown with the page's clock like every other time.
  function failure(text) {
    var m = /^(\\d{4}-\\d\\d-\\d\\dT\\S+Z) ([\\s\\S]*)$/.exec(text || '');
    return m ? clock(m[1]) + ' ' + m[2] : text || '';
  }
  function wait(ms) {
    var s = Math.ceil(ms / 1000);
    return s < 120 ? s + ' s' : Math.round(s / 60) + ' min';
  }
  function quota(used, limit) {
    var cell = el('td', 'num');
    if (!limit) { cell.textContent = num(used) + ' (no limit)'; return cell; }
    var pct = Math.min(100, Math.round((used / limit) * 100));
    var track = el('span', 'track');
    var fill = el('span', 'fill' + (pct >= 90 ? ' hot' : pct >= 70 ? ' warm' : ''));
    fill.style.width = pct + '%';
    track.appendChild(fill);
    track.title = pct + '% used';
    add(cell, track, el('span', '', num(used) + ' / ' + num(limit)));
    return cell;
  }
  function ms(v) { return v >= 10000 ? Math.round(v / 1000) + ' s' : v >= 1000 ? (v / 1000).toFixed(1).replace(/\\.0$/, '') + ' s' : v + ' ms'; }
  // Time to first chunk as observed, the timeout an attempt gets now and when a stream is hedged.
  function firstChunk(t) {
    var cell = el('td', 'num');
    if (!t) { cell.textContent = '\\u2013'; return cell; }
    add(cell, el('span', '', t.samples >= 1 && t.p95Ms !== undefined ? 'p95 ' + ms(t.p95Ms) : 'no data'),
      el('span', 'sub', 'timeout ' + ms(t.timeoutMs) + (t.learnt ? ' (learnt)' : '')),
      el('span', 'sub', t.hedgeDelayMs === undefined ? 'no hedge' : 'hedge after ' + ms(t.hedgeDelayMs)));
    return cell;
  }
  function settings(models) {
    var body = $('settings');
    while (body.firstChild) body.removeChild(body.firstChild);
    models.forEach(function (m) {
      var f = m.failover, t = m.timeouts;
      if (!f || !t) return;
      var tr = el('tr');
      tr.setAttribute('data-model', m.name);
      var a = f.adaptive, h = f.hedging;
      [m.name,
        f.sameRouteRetry ? 'on' : 'off',
        f.maxRetryAfterMs > 0 ? 'up to ' + ms(f.maxRetryAfterMs) : 'never',
        ms(t.firstByteMs) + (a.enabled ? ', learnt ' + a.multiplier + ' \\u00d7 p' + Math.round(a.percentile * 100) + ' \\u2265 ' + ms(a.minMs) : ''),
        ms(t.completeMs) + (a.enabled && a.wholeAnswers ? ', learnt' : ''),
        h.share > 0 ? Math.round(h.share * 1000) / 10 + '% of streams, after p' + Math.round(h.percentile * 100) + ' (' + ms(h.coldDelayMs) + ' until learnt)' : 'off',
      ].forEach(function (v) { tr.appendChild(td(v)); });
      body.appendChild(tr);
    });
  }
  function row(r, at) {
    var tr = el('tr', 'route st-' + r.state);
    tr.setAttribute('data-route', r.route);
    var p = td(r.spoke ? 'spoke' : r.provider);
    if (!r.spoke) add(p, el('span', 'sub', r.providerType));
    tr.appendChild(p);
    tr.appendChild(td(r.account));
    tr.appendChild(td(r.region));
    var m = td(r.providerModel);
    if (r.tier > 0) add(m, el('span', 'sub', 'fallback ' + r.tier));
    tr.appendChild(m);
    var st = td('');
    st.appendChild(el('span', 'badge s-' + r.state, (ICON[r.state] || '') + ' ' + r.state));
    tr.appendChild(st);
    var left = r.until ? Date.parse(r.until) - at : 0;
    tr.appendChild(td(left > 0 ? (r.state === 'cooldown' ? 'ends' : 'retry') + ' in ' + wait(left) + ' (' + clock(r.until) + ')' : '\\u2013', 'num'));
    var requests = quota(r.headroom.requestsUsed, r.headroom.rpm);
    // Capacity classes: what each used of its share in the last minute, and what was refused.
    if (r.classes) requests.appendChild(el('span', 'sub classes', CLASSES.map(function (k) {
      var c = r.classes[k];
      return k + ' ' + num(c.admitted) + (c.rpm !== undefined ? ' / ' + num(c.rpm) : '') + (c.refused ? ' (' + c.refused + ' refused)' : '');
    }).join(' \u00b7 ')));
    tr.appendChild(requests);
    tr.appendChild(quota(r.headroom.tokensUsed, r.headroom.tpm));
    tr.appendChild(td(r.latencyMs === undefined ? '\\u2013' : r.latencyMs + ' ms', 'num'));
    tr.appendChild(firstChunk(r.timings && r.timings.stream));
    tr.appendChild(td(r.inflight, 'num'));
    var why = r.probe ? 'health check: ' + r.probe : failure(r.lastFailure);
    var f = td('', 'fail');
    f.appendChild(el('div', 'clamp', why)).title = why;
    tr.appendChild(f);
    return tr;
  }
  function usd(v) { return '$' + (v !== 0 && v < 1 ? v.toFixed(4) : v.toFixed(2)); }
  function spent(v, cap) {
    if (cap === undefined) return td(usd(v), 'num');
    return td(usd(v) + ' of ' + usd(cap) + ' (' + Math.round((v / cap) * 100) + '%)', 'num' + (v >= cap ? ' over' : ''));
  }
  var SPEND_SOURCE = {
    redis: 'every gateway instance, from the shared store',
    'last-seen': 'the shared store does not answer: totals as this instance last saw them, with its own spend since',
    memory: 'this gateway instance only (no shared store)'
  };
  function renderSpend(list) {
    $('spend-section').hidden = list.length === 0;
    var body = $('spend-rows');
    while (body.firstChild) body.removeChild(body.firstChild);
    list.forEach(function (t) {
      var tr = el('tr');
      tr.setAttribute('data-tenant', t.tenant);
      var b = t.budget || {};
      tr.appendChild(td(t.tenant));
      tr.appendChild(spent(t.today.usd, b.usdPerDay));
      tr.appendChild(spent(t.month.usd, b.usdPerMonth));
      tr.appendChild(td(usd(t.inFlightUsd), 'num'));
      body.appendChild(tr);
    });
  }
  function reasons(counts) {
    return Object.keys(counts).map(function (k) { return counts[k] + ' ' + k; }).join(' \\u00b7 ');
  }
  function limited(used, limit) {
    if (used === undefined) return td('\\u2013', 'num');
    return quota(used, limit);
  }
  // Each tenant against its own limits; its budget today from the spend list.
  function renderTenants(list, spend) {
    $('tenants-section').hidden = list.length === 0;
    var body = $('tenant-rows');
    while (body.firstChild) body.removeChild(body.firstChild);
    var today = {};
    spend.forEach(function (t) { today[t.tenant] = t; });
    list.forEach(function (t) {
      var tr = el('tr', t.refused.lastMinute && Object.keys(t.refused.lastMinute).length ? 'refusing' : '');
      tr.setAttribute('data-tenant', t.tenant);
      var name = td(t.tenant);
      if (t.priority && t.priority !== 'standard') add(name, el('span', 'sub', t.priority));
      tr.appendChild(name);
      tr.appendChild(limited(t.used.requests, t.limits.rpm));
      tr.appendChild(limited(t.used.tokens, t.limits.tpm));
      tr.appendChild(limited(t.used.inFlight, t.limits.concurrency));
      var b = today[t.tenant];
      tr.appendChild(b ? spent(b.today.usd, (b.budget || {}).usdPerDay) : td('\\u2013', 'num'));
      var minute = reasons(t.refused.lastMinute), total = reasons(t.refused.sinceStart);
      var r = td(minute || 'none', 'refused');
      if (t.refused.last) add(r, el('span', 'sub', 'since start: ' + total + '; last ' + clock(t.refused.last.at) + ' (' + t.refused.last.reason + ')'));
      tr.appendChild(r);
      body.appendChild(tr);
    });
  }
  function render(s) {
    lastUpdate = Date.now();
    document.body.classList.remove('stale');
    var at = Date.parse(s.at);
    var o = $('overall');
    o.className = 'overall ' + s.overall;
    o.textContent = s.overall;
    var total = 0, parts = [];
    ORDER.forEach(function (k) {
      total += s.counts[k];
      if (s.counts[k] || k === 'healthy') parts.push(s.counts[k] + ' ' + k);
    });
    $('summary').textContent = total + ' route' + (total === 1 ? '' : 's') + ': ' + parts.join(' \\u00b7 ');
    $('role').textContent = s.role;
    $('h-account').textContent = s.role === 'proxy' ? 'Spoke' : 'Account';
    $('h-region').textContent = s.role === 'proxy' ? 'Address' : 'Region';
    $('updated').textContent = clock(s.at);
    var t = s.totals;
    $('totals').textContent = [plural(t.requests, 'request'), t.failed + ' failed', plural(t.failovers, 'failover'),
      plural(t.ejections, 'ejection'), plural(t.cooldowns, 'cooldown')].concat(t.hedges ? [plural(t.hedges, 'hedge') + ' (' + t.hedgesWon + ' won)'] : []).join(' \\u00b7 ');
    var ss = t.sessions, sessions = ss.hit + ss.new + ss.moved, pt = t.promptTokens;
    $('sessions').textContent = (sessions ? 'sessions (' + s.sessions.backend + '): ' + ss.hit + ' hit \\u00b7 ' + ss.new + ' new \\u00b7 ' + ss.moved + ' moved' : 'no sessions yet (' + s.sessions.backend + ')') +
      ' \\u00b7 prompt cache: ' + (pt.input ? Math.round((100 * pt.cacheRead) / pt.input) : 0) + '% of ' + pt.input + ' input tokens read, ' + pt.cacheWrite + ' written';
    settings(s.models);
    var table = $('routes');
    Array.prototype.slice.call(table.tBodies).forEach(function (b) { table.removeChild(b); });
    s.models.forEach(function (m) {
      var body = el('tbody');
      body.setAttribute('data-model', m.name);
      var head = el('tr', 'model');
      var th = el('th');
      th.colSpan = COLUMNS;
      th.scope = 'rowgroup';
      var serving = m.routes.filter(function (r) { return r.state === 'healthy' || r.state === 'half-open'; }).length;
      add(th, el('span', 'mname', m.name));
      if (m.api === 'embeddings') add(th, el('span', 'msub', 'embeddings'));
      add(th, el('span', 'badge m-' + m.state, m.state),
        el('span', 'msub', serving + ' of ' + m.routes.length + ' routes serving'));
      head.appendChild(th);
      body.appendChild(head);
      m.routes.forEach(function (r) { body.appendChild(row(r, at)); });
      table.appendChild(body);
    });
    renderTenants(s.tenants || [], s.spend || []);
    renderSpend(s.spend || []);
    $('spend-source').textContent = SPEND_SOURCE[s.spendSource] || '';
    var list = $('recent');
    while (list.firstChild) list.removeChild(list.firstChild);
    if (s.recent.length === 0) list.appendChild(el('li', 'none', 'Nothing yet: no failover, ejection or cooldown since start.'));
    s.recent.forEach(function (e) {
      var li = el('li', 'ev ' + e.kind);
      add(li, el('time', '', clock(e.at)), el('span', 'kind ' + e.kind, e.kind));
      if (e.route && e.kind !== 'failover') add(li, el('span', 'rkey', e.route));
      if (e.until) add(li, el('span', 'until', 'until ' + clock(e.until)));
      add(li, el('span', 'text', e.text));
      list.appendChild(li);
    });
  }
  function conn(text, cls) { var c = $('conn'); c.textContent = text; c.className = 'conn ' + cls; }
  function poll() {
    if (polling) return;
    polling = true;
    (function tick() {
      fetch('status.json', { cache: 'no-store' })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (s) { conn('live (polling)', 'ok'); render(s); })
        .catch(function () { conn('cannot reach the gateway', 'bad'); })
        .then(function () { setTimeout(tick, 1000); });
    })();
  }
  function start() {
    if (!window.EventSource) return poll();
    var es = new EventSource('status/events');
    var got = false;
    es.onmessage = function (m) { got = true; conn('live', 'ok'); render(JSON.parse(m.data)); };
    es.onerror = function () {
      if (got) return conn('reconnecting\\u2026', 'warn');
      es.close();
      poll();
    };
    // Where responses are buffered (some proxies, Lambda without streaming), poll instead.
    setTimeout(function () { if (!got) { es.close(); poll(); } }, 4000);
  }
  setInterval(function () {
    var age = Date.now() - lastUpdate;
    if (lastUpdate && age > 5000) {
      document.body.classList.add('stale');
      conn('stale: last update ' + Math.round(age / 1000) + ' s ago', 'bad');
    }
  }, 1000);
  start();
})();
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>AI gateway status</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>AI gateway status</h1>
<div id="overall" class="overall" role="status" aria-live="polite">…</div>
<div id="summary" class="summary">Loading…</div>
<div class="meta">role <b id="role">?</b> · updated <span id="updated">never</span> · <span id="conn" class="conn warn">connecting…</span> · since start: <span id="totals">–</span> · <span id="sessions">–</span></div>
</header>
<main>
<div class="scroll"><table id="routes">
<thead><tr><th>Provider</th><th id="h-account">Account</th><th id="h-region">Region</th><th>Upstream model</th><th>State</th><th>Until</th><th>Requests / min</th><th>Tokens / min</th><th>Latency</th><th>First chunk</th><th>In flight</th><th>Last failure</th></tr></thead>
</table></div>
<h2>Failover settings</h2>
<div class="scroll"><table>
<thead><tr><th>Model</th><th>Same-route retry</th><th>Waits for Retry-After</th><th>First chunk timeout</th><th>Whole answer timeout</th><th>Hedged streams</th></tr></thead>
<tbody id="settings"></tbody>
</table></div>
<section id="tenants-section" hidden>
<h2>Tenants: use of their limits in the last minute</h2>
<div class="scroll"><table id="tenants">
<thead><tr><th>Tenant</th><th>Requests / min</th><th>Tokens / min</th><th>In flight</th><th>Budget today</th><th>Refused (last minute)</th></tr></thead>
<tbody id="tenant-rows"></tbody>
</table></div>
</section>
<section id="spend-section" hidden>
<h2>Spend per tenant (UTC)</h2>
<div id="spend-source" class="meta"></div>
<div class="scroll"><table id="spend">
<thead><tr><th>Tenant</th><th>Today</th><th>This month</th><th>In flight</th></tr></thead>
<tbody id="spend-rows"></tbody>
</table></div>
</section>
<h2>Recent failovers, ejections and cooldowns</h2>
<ol id="recent"><li>Loading…</li></ol>
</main>
<script>${JS}</script>
</body>
</html>
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export const STATUS_PAGE_HTML = HTML;

/** Only the page's own inline style and script, and connections back to the gateway. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${hash(CSS)}`,
  `script-src ${hash(JS)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
