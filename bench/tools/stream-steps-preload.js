'use strict';
/**
 * Loaded into a gateway with `node -r` by bench/tools/stream-steps.js: for each POST, the
 * times of its arrival, its upstream call (undici's request:create), the upstream's
 * headers (request:headers) and the first byte written to the client, and the gap since
 * the previous answer finished. On SIGUSR2 it writes them to STREAM_STEPS_FILE (and starts
 * afresh). c=1 only: one request in flight at a time is what makes the steps attributable.
 */
const http = require('node:http');
const dc = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');

let current;
let lastFinish;
let done = [];
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request' && req.method === 'POST') {
    const r = { in: performance.now(), prevFinish: lastFinish };
    current = r;
    const write = res.write;
    res.write = function () {
      r.out ??= performance.now();
      return write.apply(this, arguments);
    };
    res.once('finish', () => {
      lastFinish = performance.now();
      if (done.length < 100_000) done.push(r);
    });
  }
  return emit.apply(this, arguments);
};
dc.subscribe('undici:request:create', () => {
  if (current && current.call === undefined) current.call = performance.now();
});
dc.subscribe('undici:request:headers', () => {
  if (current && current.headers === undefined) current.headers = performance.now();
});
process.on('SIGUSR2', () => {
  writeFileSync(process.env.STREAM_STEPS_FILE, JSON.stringify(done));
  done = [];
});
