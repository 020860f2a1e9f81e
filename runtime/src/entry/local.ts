/**
 * `npm start`: the local topology that mirrors AWS. A proxy on 127.0.0.1:8080 forwards
 * to two spoke processes (spoke-a, spoke-b) with simulated provider accounts. Each is
 * the real CLI in its own process, as on Lambda and Fargate. `--port N` moves the proxy
 * to N and the spokes to N+1, N+2.
 *
 * A place to watch failover: a spoke that dies leaves the proxy and the other spoke serving
 * and comes back on the key `r` (stdin a TTY) or `npm start -- restart [SPOKE] [--port N]`
 * from any terminal, which asks this launcher over a Unix socket (a named pipe on Windows).
 * Without the proxy nothing can serve, so its death stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify } from 'yaml';

/** The repository root, whether this runs compiled (dist/) or from source. */
function findRoot(dir: string): string {
  return existsSync(join(dir, 'package.json')) ? dir : findRoot(resolve(dir, '..'));
}
const ROOT = findRoot(__dirname);
const CONFIG_DIR = join(ROOT, 'config', 'local');
const CLI = join(ROOT, 'bin', 'ai-gateway.js');
const DEFAULT_PORT = 8080;
const USAGE = `usage: npm start [-- --port N]                   the proxy on N (default ${DEFAULT_PORT}), the spokes on N+1, N+2
       npm start -- restart [SPOKE] [--port N]   bring back a stopped spoke (no SPOKE: every stopped one)`;

interface Member {
  name: string;
  role: 'proxy' | 'spoke';
  port: number;
  config: string;
  state: 'starting' | 'running' | 'stopped';
  child?: ChildProcess;
}

interface Reply {
  ok: boolean;
  message: string;
}

/** Where `npm start -- restart` finds the launcher of a proxy port. */
function controlPath(port: number): string {
  return process.platform === 'win32' ? `\\\\.\\pipe\\ai-gateway-local-${port}` : join(tmpdir(), `ai-gateway-local-${port}.sock`);
}

function restartCommand(port: number, spoke?: string): string {
  return `npm start -- restart${spoke ? ` ${spoke}` : ''}${port === DEFAULT_PORT ? '' : ` --port ${port}`}`;
}

function say(line: string, write: (line: string) => void = console.log): void {
  write(`[launcher] ${line}`);
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

function prefixLines(stream: Readable, name: string, write: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => write(`[${name}] ${line}`));
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  // ~30 s: a start on a loaded machine is slow, but a process that exits ends the wait at once.
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${url}: the process ${describeExit(child.exitCode, child.signalCode)}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}/healthz did not answer 200`);
}

/** SIGTERM, and SIGKILL when the process has not exited within 5 s. */
function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

class Launcher {
  private readonly members: Member[];
  private readonly url: string;
  private phase: 'starting' | 'up' | 'stopping' = 'starting';
  private control?: Server;
  private readonly keys = process.stdin.isTTY === true;

  constructor(
    private readonly base: number,
    private readonly work: string,
  ) {
    const proxyDoc = parseYaml(readFileSync(join(CONFIG_DIR, 'proxy.yaml'), 'utf8')) as { spokes: { id: string; url: string }[] };
    proxyDoc.spokes = proxyDoc.spokes.map((s, i) => ({ ...s, url: `http://127.0.0.1:${base + 1 + i}` }));
    const proxyConfig = join(work, 'proxy.yaml');
    writeFileSync(proxyConfig, stringify(proxyDoc));
    this.url = `http://127.0.0.1:${base}`;
    // Spokes first: the proxy starts with somewhere to send requests.
    this.members = [
      { name: 'spoke-a', role: 'spoke', port: base + 1, config: join(CONFIG_DIR, 'spoke-a.yaml'), state: 'stopped' },
      { name: 'spoke-b', role: 'spoke', port: base + 2, config: join(CONFIG_DIR, 'spoke-b.yaml'), state: 'stopped' },
      { name: 'proxy', role: 'proxy', port: base, config: proxyConfig, state: 'stopped' },
    ];
  }

  private spokes(): Member[] {
    return this.members.filter((m) => m.role === 'spoke');
  }

  async start(): Promise<void> {
    try {
      for (const m of this.members) await this.launch(m);
      const gone = this.members.find((m) => m.state !== 'running');
      if (gone) throw new Error(`${gone.name} exited during the start`);
      await this.listenForCommands();
    } catch (err) {
      console.error(`npm start: ${(err as Error).message}`);
      await this.stop(1);
      return;
    }
    if (this.phase === 'stopping') return; // a signal came during the start
    this.phase = 'up';
    this.listenForKeys();
    this.printBanner();
  }

  private async launch(m: Member): Promise<void> {
    m.state = 'starting';
    const child = spawn(process.execPath, [CLI, '--config', m.config, '--role', m.role, '--port', String(m.port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    m.child = child;
    prefixLines(child.stdout, m.name, console.log);
    prefixLines(child.stderr, m.name, console.error);
    child.on('error', (err) => console.error(`[${m.name}] ${err.message}`));
    // 'close' comes after the process's last output lines, so the notice follows them.
    child.once('close', (code, signal) => this.exited(m, child, code, signal));
    await waitHealthy(`http://127.0.0.1:${m.port}`, child);
    m.state = 'running';
  }

  private exited(m: Member, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    m.child = undefined;
    m.state = 'stopped';
    // While starting, launch() reports the failure; while stopping, exits are expected.
    if (this.phase !== 'up') return;
    const how = `${m.name} (pid ${child.pid}) ${describeExit(code, signal)}`;
    if (m.role === 'proxy') {
      say(`${how}: nothing can serve without the proxy, so the spokes stop too. Start again with npm start.`, console.error);
      void this.stop(1);
      return;
    }
    const serving = this.spokes()
      .filter((s) => s.state === 'running')
      .map((s) => s.name);
    say(
      serving.length > 0
        ? `${how}. The proxy and ${serving.join(' and ')} keep serving: the proxy routes around ${m.name}.`
        : `${how}. No spoke is left: the proxy answers 503 until one is back.`,
    );
    say(`  watch it:      ${this.url}/status`);
    say(`  bring it back: ${this.keys ? 'press r, or ' : ''}${restartCommand(this.base, m.name)} (from any terminal)`);
  }

  /** Starts the named spokes, or every stopped one; a running spoke is left as it is. */
  async restart(names: string[]): Promise<Reply> {
    if (this.phase !== 'up') return { ok: false, message: 'the topology is stopping' };
    const spokes = this.spokes();
    const unknown = names.filter((n) => !spokes.some((s) => s.name === n));
    if (unknown.length > 0) {
      return { ok: false, message: `unknown spoke ${unknown.map((n) => `"${n}"`).join(', ')}: the spokes are ${spokes.map((s) => s.name).join(', ')}` };
    }
    const targets = names.length > 0 ? spokes.filter((s) => names.includes(s.name)) : spokes.filter((s) => s.state === 'stopped');
    if (targets.length === 0) return this.reported({ ok: true, message: 'no spoke is stopped: nothing to restart' });
    const lines: string[] = [];
    let ok = true;
    await Promise.all(
      targets.map(async (s) => {
        if (s.state !== 'stopped') {
          lines.push(`${s.name} is ${s.state === 'running' ? `already running (pid ${s.child?.pid})` : 'starting'}`);
          return;
        }
        try {
          await this.launch(s);
          lines.push(`${s.name} is back on http://127.0.0.1:${s.port} (pid ${s.child?.pid}); the proxy routes to it again once its health check passes: ${this.url}/status`);
        } catch (err) {
          ok = false;
          lines.push(`${s.name} did not start: ${(err as Error).message}`);
        }
      }),
    );
    return this.reported({ ok, message: lines.join('\n') });
  }

  private reported(reply: Reply): Reply {
    for (const line of reply.message.split('\n')) say(line, reply.ok ? console.log : console.error);
    return reply;
  }

  /** One command line per connection ("restart [SPOKE...]"), one JSON Reply back. */
  private async listenForCommands(): Promise<void> {
    const path = controlPath(this.base);
    // This launcher holds the ports now, so a socket file left here is from one that was killed.
    if (process.platform !== 'win32') rmSync(path, { force: true });
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      createInterface({ input: socket }).once('line', (line) => {
        const [command, ...args] = line.trim().split(/\s+/);
        const reply = command === 'restart' ? this.restart(args) : Promise.resolve({ ok: false, message: `unknown command "${command}"` });
        void reply.then((r) => socket.end(`${JSON.stringify(r)}\n`));
      });
    });
    await new Promise<void>((done, fail) => server.once('error', fail).listen(path, done));
    this.control = server;
  }

  private listenForKeys(): void {
    if (!this.keys) return;
    process.stdin.setRawMode(true);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (key: string) => {
      // In raw mode Ctrl-C arrives as a key, not as SIGINT.
      if (key === '\u0003') void this.stop(0);
      else if (key.toLowerCase() === 'r') void this.restart([]);
    });
  }

  private printBanner(): void {
    const [a, b, proxy] = this.members as [Member, Member, Member];
    const row = (m: Member) => `  ${m.name.padEnd(8)} http://127.0.0.1:${m.port}   pid ${m.child?.pid}`;
    const hints: [string, string][] = [
      [`kill -9 ${b.child?.pid}`, 'stops spoke-b: the proxy and spoke-a keep serving'],
      ...(this.keys ? [['press r', 'brings back every stopped spoke'] as [string, string]] : []),
      [restartCommand(this.base, b.name), 'brings spoke-b back, from any terminal (no name: every stopped spoke)'],
    ];
    const width = Math.max(...hints.map(([hint]) => hint.length)) + 2;
    console.log(`
ai-gateway local topology is up:
${row(proxy)}   forwards to spoke-a and spoke-b (simulated provider accounts)
${row(a)}
${row(b)}
  API      ${this.url}/v1   (OpenAI-compatible; no key needed locally)
  Claude   ANTHROPIC_BASE_URL=${this.url}   (the Anthropic Messages API: /v1/messages, /v1/messages/count_tokens)

try it:
  curl -s ${this.url}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"chat","messages":[{"role":"user","content":"Hello!"}]}'
  curl -s ${this.url}/v1/embeddings -H 'content-type: application/json' \\
    -d '{"model":"embed","input":["Hello!","Bonjour !"],"dimensions":8}'

live state: ${this.url}/status   (routes, failovers as they happen; JSON: /status.json; ${this.url}/healthz)

watch failover (with requests flowing):
${hints.map(([hint, what]) => `  ${hint.padEnd(width)}${what}`).join('\n')}
Ctrl-C stops all three processes.`);
  }

  async stop(code: number): Promise<void> {
    if (this.phase === 'stopping') return;
    this.phase = 'stopping';
    process.exitCode = code;
    if (this.keys) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    this.control?.close();
    const running = this.members.filter((m) => m.child);
    if (running.length > 0) say(`stopping ${running.map((m) => m.name).join(', ')}`);
    await Promise.all(running.map((m) => terminate(m.child!)));
    rmSync(this.work, { recursive: true, force: true });
    say('stopped');
  }
}

/** `npm start -- restart [SPOKE...]`: asks the launcher of `port`; prints its answer. */
function sendRestart(port: number, spokes: string[]): Promise<number> {
  const path = controlPath(port);
  return new Promise((done) => {
    let answer = '';
    // Not end(): the launcher closes the connection once it has answered.
    const socket = createConnection(path, () => socket.write(`restart ${spokes.join(' ')}\n`));
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    socket.on('end', () => {
      try {
        const reply = JSON.parse(answer) as Reply;
        (reply.ok ? console.log : console.error)(reply.message);
        done(reply.ok ? 0 : 1);
      } catch {
        console.error(`npm start -- restart: the launcher at ${path} gave no answer`);
        done(1);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const none = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      const start = port === DEFAULT_PORT ? 'npm start' : `npm start -- --port ${port}`;
      console.error(none ? `no npm start is running for port ${port} (nothing listens at ${path}); start it with ${start}` : `npm start -- restart: ${err.message}`);
      done(1);
    });
  });
}

export async function main(argv: string[]): Promise<void> {
  let base: number;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: argv, options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
    if (parsed.values.help) {
      console.log(USAGE);
      return;
    }
    positionals = parsed.positionals;
    const portText = parsed.values.port ?? process.env.PORT ?? String(DEFAULT_PORT);
    base = Number(portText);
    if (!Number.isInteger(base) || base < 1 || base > 65533) throw new Error(`invalid port "${portText}"`);
    if (positionals.length > 0 && positionals[0] !== 'restart') throw new Error(`unknown command "${positionals[0]}"`);
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (positionals[0] === 'restart') {
    process.exitCode = await sendRestart(base, positionals.slice(1));
    return;
  }

  const launcher = new Launcher(base, mkdtempSync(join(tmpdir(), 'ai-gateway-local-')));
  process.once('SIGINT', () => void launcher.stop(0));
  process.once('SIGTERM', () => void launcher.stop(0));
  await launcher.start();
}

if (require.main === module) void main(process.argv.slice(2));
