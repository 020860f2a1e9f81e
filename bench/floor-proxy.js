'use strict';
/**
 * The floor: a minimal pass-through HTTP proxy in the same Node as the gateway, node:http
 * both ways with a keep-alive agent, bodies streamed through untouched. No Node gateway
 * that reads requests and writes answers can add less. With several targets it sends
 * each request to the next one in turn and knows nothing of quotas: the round-robin
 * baseline of the quota scenario.
 *
 *   node bench/floor-proxy.js --target http://127.0.0.1:9001[/prefix] [--target ...] [--port 0]
 * Prints {"port":N} on stdout once listening.
 */
const http = require('node:http');
const { parseArgs } = require('node:util');

/** Per-connection headers that must not be forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function forwardable(headers) {
  const out = {};
  for (const k in headers) if (!HOP_BY_HOP.has(k)) out[k] = headers[k];
  return out;
}

function startFloorProxy(targets, port = 0) {
  const upstreams = targets.map((t) => {
    const u = new URL(t);
    return { host: u.hostname, port: Number(u.port), prefix: u.pathname.replace(/\/+$/, '') };
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
  let turn = 0;

  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const target = upstreams[turn++ % upstreams.length];
    const headers = forwardable(req.headers);
    headers.host = `${target.host}:${target.port}`;
    const up = http.request({ agent, host: target.host, port: target.port, method: req.method, path: target.prefix + req.url, headers }, (ur) => {
      res.writeHead(ur.statusCode, forwardable(ur.headers));
      ur.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"upstream failed"}}');
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (require.main === module) {
  const { values } = parseArgs({ options: { target: { type: 'string', multiple: true }, port: { type: 'string', default: '0' } } });
  if (!values.target?.length) {
    console.error('usage: node bench/floor-proxy.js --target URL [--target URL ...] [--port N]');
    process.exit(2);
  }
  startFloorProxy(values.target, Number(values.port)).then((server) => {
    console.log(JSON.stringify({ port: server.address().port }));
    process.once('SIGTERM', () => process.exit(0));
  });
}

module.exports = { startFloorProxy };
