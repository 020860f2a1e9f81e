'use strict';
/**
 * Loaded into a gateway with `node -r` by bench/tools/stream-steps.js: for each POST, the
 * times of its arrival, its upstream call (undici's request:create), that call's headers
 * on the socket (client:sendHeaders), the upstream's
 * headers (request:headers) and the first byte written to the client, and the gap since
 * the previous answer finished. On SIGUSR2 it writes them to STREAM_STEPS_FILE (and starts
 * afresh). c=1 only: one request in flight at a time is what makes the steps attributable.
 * Times are the system's monotonic clock in ms (process.hrtime), so that the marks of two
 * processes (a proxy and its spoke, bench/tools/hop-timeline.js) can be compared.
 */
const http = require('node:http');
const dc = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');

const now = () => Number(process.hrtime.bigint()) / 1e6;

let current;
let lastFinish;
let done = [];
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request' && req.method === 'POST') {
    const r = { in: now(), prevFinish: lastFinish };
    current = r;
    const write = res.write;
    res.write = function () {
      r.out ??= now();
      return write.apply(this, arguments);
    };
    res.once('finish', () => {
      lastFinish = now();
      if (done.length < 100_000) done.push(r);
    });
  }
  return emit.apply(this, arguments);
};
dc.subscribe('undici:request:create', () => {
  if (current && current.call === undefined) current.call = now();
});
dc.subscribe('undici:client:sendHeaders', () => {
  if (current && current.sent === undefined) current.sent = now();
});
dc.subscribe('undici:request:headers', () => {
  if (current && current.headers === undefined) current.headers = now();
});
process.on('SIGUSR2', () => {
  writeFileSync(process.env.STREAM_STEPS_FILE, JSON.stringify(done));
  done = [];
});
