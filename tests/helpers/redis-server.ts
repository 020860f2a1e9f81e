/**
 * A real redis-server for tests: loopback only, a free port, no persistence, its own temp
 * dir. It can be killed, paused (SIGSTOP: a Redis that stops answering) and restarted on
 * the same port. A missing redis-server fails the test: `npm test` finds or installs it first
 * (scripts/test-deps.js) and passes it as REDIS_SERVER_BIN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: Redis vanishes with its data, as a crashed node does. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** A fresh, empty Redis on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP: the connection stays open but nothing answers. */
  pause(): void;
  resume(): void;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'aigw-redis-'));
  let port = 0;
  let proc: ChildProcess | undefined;
  let paused = false;

  const launch = async (): Promise<void> => {
    const child = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new Error(
            err.code === 'ENOENT'
              ? `redis-server is not installed (looked for "${BINARY}" on PATH): npm test installs it (scripts/test-deps.js), or apt-get install redis-server, or set REDIS_SERVER_BIN`
              : `redis-server failed to start: ${err.message}`,
          ),
        ),
      );
      child.once('exit', (code, signal) => reject(new Error(`redis-server exited at start (code ${code}, signal ${signal}) on port ${port}: ${output.trim()}`)));
    });
    failed.catch(() => undefined);
    proc = child;
    await Promise.race([waitForPong(port), failed]);
  };

  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    const child = proc;
    proc = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (paused) child.kill('SIGCONT');
    paused = false;
    child.kill(signal);
    await exited;
  };

  // A free port can be taken between the probe and the launch: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      await waitExit('SIGKILL');
      if (attempt >= 2 || (err as Error).message.includes('not installed')) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => waitExit('SIGKILL'),
    stop: () => waitExit('SIGTERM'),
    async restart() {
      await waitExit('SIGTERM');
      await launch();
    },
    pause() {
      proc?.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      proc?.kill('SIGCONT');
      paused = false;
    },
    async close() {
      await waitExit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** Until PING answers PONG, for at most ~5 s. */
async function waitForPong(port: number): Promise<void> {
  let last = '';
  for (let i = 0; i < 100; i++) {
    try {
      if ((await ping(port)).startsWith('+PONG')) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer PING: ${last}`);
}

function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('PING timed out')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) {
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(data ? `unexpected answer ${JSON.stringify(data)}` : 'connection closed')));
  });
}
