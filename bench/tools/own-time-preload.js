'use strict';
/**
 * Loaded into a gateway with `node -r` by bench/tools/idle-cost.js: times the gateway's
 * own steps of each POST, from the server's request and finish events and undici's
 * diagnostics channels (request to its upstream call; answer complete to reply written),
 * and prints their medians to stderr on SIGUSR2 (then starts afresh). c=1 only: one
 * request in flight at a time is what makes the steps attributable.
 */
const http = require('node:http');
const dc = require('node:diagnostics_channel');

let current;
let done = [];
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request' && req.method === 'POST') {
    const r = { in: performance.now() };
    current = r;
    res.once('finish', () => {
      r.out = performance.now();
      if (done.length < 100_000) done.push(r);
    });
  }
  return emit.apply(this, arguments);
};
dc.subscribe('undici:request:create', () => {
  if (current && current.call === undefined) current.call = performance.now();
});
dc.subscribe('undici:request:trailers', () => {
  if (current && current.answer === undefined) current.answer = performance.now();
});

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
process.on('SIGUSR2', () => {
  const rows = done.filter((r) => r.call !== undefined && r.answer !== undefined && r.out !== undefined);
  done = [];
  const line = {
    n: rows.length,
    toCallMs: median(rows.map((r) => r.call - r.in)),
    answerToReplyMs: median(rows.map((r) => r.out - r.answer)),
    totalMs: median(rows.map((r) => r.out - r.in)),
  };
  process.stderr.write(`OWN-TIME ${JSON.stringify(line)}\n`);
});
