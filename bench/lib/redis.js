'use strict';
/**
 * A redis-server for the scenarios that share state (the way spokes and the proxy run in
 * AWS): loopback only, a free port, no persistence. REDIS_SERVER_BIN names the binary
 * (default: redis-server on PATH; `npm test` installs it).
 */
const { spawn } = require('node:child_process');
const { connect, createServer } = require('node:net');
const { setTimeout: sleep } = require('node:timers/promises');
const { stopChild, track } = require('./children');

async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends one inline command and resolves with the first reply line. */
function command(port, line) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(2000, () => socket.destroy(new Error(`${line} timed out`)));
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\r\n')) {
        socket.end();
        resolve(data.split('\r\n')[0]);
      }
    });
    socket.on('error', reject);
  });
}

async function startRedisProcess() {
  const port = await freePort();
  const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const child = track(spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'ignore', 'pipe'] }), 'redis-server');
  const failed = new Promise((_, reject) => child.once('error', (err) => reject(new Error(`${bin} did not start (${err.message}): install redis-server or set REDIS_SERVER_BIN`))));
  failed.catch(() => undefined);
  for (let i = 0; ; i++) {
    const pong = await Promise.race([command(port, 'PING').catch(() => ''), failed]);
    if (pong === '+PONG') break;
    if (i > 100) throw new Error(`redis-server on port ${port} did not answer PING`);
    await sleep(50);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Empties every key: a fresh quota window and spend for the next run. */
    flush: () => command(port, 'FLUSHALL'),
    stop: () => stopChild(child),
  };
}

module.exports = { startRedisProcess };
