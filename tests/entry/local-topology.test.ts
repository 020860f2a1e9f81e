/**
 * `npm start`: a proxy and two spoke processes, as a user starts them, answering through the
 * proxy; a place to watch failover: a spoke killed with -9 leaves the rest serving and comes
 * back on a command or a key press; the proxy's death, Ctrl-C and SIGTERM stop everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { until } from '../helpers/until';

const LOCAL = resolve(__dirname, '../../dist/runtime/src/entry/local.js');

/** Three consecutive free ports: the proxy's and the two spokes'. */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    // Below Linux's ephemeral range (32768 up): an outgoing connection of any process on the
    // machine could take a port there between this check and the proxy's listen (EADDRINUSE).
    const base = 20000 + Math.floor(Math.random() * 12000);
    const ok = await Promise.all([0, 1, 2].map((d) => canListen(base + d)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no three free consecutive ports');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

async function portsFreed(base: number): Promise<boolean> {
  return until(async () => (await Promise.all([0, 1, 2].map((d) => canListen(base + d)))).every(Boolean), 10_000, 100);
}

interface Topology {
  base: number;
  url: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** Until the output has `text` (30 s at most). */
  printed(text: string): Promise<boolean>;
  /** The pid the launcher printed last for a process (`proxy`, `spoke-a`, `spoke-b`). */
  pid(name: string): number;
}

/** `npm start -- --port BASE`; with `tty`, under script(1) so that its stdin is a terminal. */
async function startTopology({ tty = false } = {}): Promise<Topology> {
  const base = await freeBase();
  const child = tty
    ? spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(LOCAL)} --port ${base}`, '/dev/null'], { stdio: 'pipe' })
    : spawn(process.execPath, [LOCAL, '--port', String(base)], { stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const t: Topology = {
    base,
    url: `http://127.0.0.1:${base}`,
    child,
    exited,
    output: () => output,
    printed: (text) => until(() => output.includes(text) || child.exitCode !== null, 30_000, 50).then(() => output.includes(text)),
    pid(name) {
      const pids = [...output.matchAll(new RegExp(`(?:${name} +http://127\\.0\\.0\\.1:\\d+ +pid|${name} is back on \\S+ \\(pid) (\\d+)`, 'g'))];
      if (pids.length === 0) throw new Error(`no pid printed for ${name}`);
      return Number(pids[pids.length - 1][1]);
    },
  };
  if (!(await t.printed('Ctrl-C stops all three processes.'))) throw new Error(`npm start did not come up: ${output}`);
  return t;
}

async function stopTopology(t: Topology): Promise<void> {
  if (t.child.exitCode === null && t.child.signalCode === null) {
    t.child.kill('SIGTERM');
    await t.exited;
  }
}

interface Outcome {
  startedAt: number;
  stream: boolean;
  /** The spoke named by x-gateway-route. */
  spoke?: string;
  error?: string;
}

/** Clients calling the proxy with the openai SDK (no retries), JSON and streams in turn, until stopped. */
function startLoad(url: string, workers = 4) {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'local', maxRetries: 0, timeout: 30_000 });
  const outcomes: Outcome[] = [];
  let running = true;
  const spokeOf = (response: Response) => response.headers.get('x-gateway-route')?.split('/')[1];
  const one = async (stream: boolean): Promise<string | undefined> => {
    const messages = [{ role: 'user' as const, content: 'Hello!' }];
    if (!stream) {
      const { data, response } = await client.chat.completions.create({ model: 'chat', messages }).withResponse();
      if (!data.choices[0]?.message.content) throw new Error('an answer without content');
      return spokeOf(response);
    }
    const { data, response } = await client.chat.completions.create({ model: 'chat-large', stream: true, stream_options: { include_usage: true }, messages }).withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of data) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    if (!text || !usage) throw new Error(`a stream without ${text ? 'usage' : 'text'}`);
    return spokeOf(response);
  };
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i++) {
      const startedAt = Date.now();
      const stream = i % 2 === 0;
      try {
        outcomes.push({ startedAt, stream, spoke: await one(stream) });
      } catch (err) {
        outcomes.push({ startedAt, stream, error: String(err) });
      }
    }
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Whether every route of a spoke on the proxy's /status.json (one per model) passes `check`. */
async function spokeRoutes(url: string, spoke: string, check: (state: string) => boolean): Promise<boolean> {
  const status = (await (await fetch(`${url}/status.json`)).json()) as { models: { routes: { account: string; state: string }[] }[] };
  const states = status.models.flatMap((m) => m.routes.filter((r) => r.account === spoke).map((r) => r.state));
  return states.length === status.models.length && states.every(check);
}

function runRestart(base: number, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [LOCAL, 'restart', ...args, '--port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((done) => child.once('exit', (code) => done({ code, out })));
}

describe('local topology (npm start)', () => {
  let t: Topology;

  beforeAll(async () => {
    t = await startTopology();
  });
  afterAll(() => stopTopology(t));

  it('prints the URL, a ready curl line, the status page and how to kill and restart a spoke', () => {
    const out = t.output();
    expect(out).toContain(`API      ${t.url}/v1`);
    expect(out).toMatch(/curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    expect(out).toMatch(/curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings/);
    expect(out).toContain(`live state: ${t.url}/status `);
    expect(out).toContain(`kill -9 ${t.pid('spoke-b')} `);
    expect(out).toContain(`npm start -- restart spoke-b --port ${t.base}  brings spoke-b back, from any terminal`);
    expect(out).not.toContain('press r'); // stdin is not a terminal here
  });

  it('answers through the proxy from a spoke with simulated accounts', async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hello!' }] }).withResponse();
    expect(data.choices[0].message.content).toBeTruthy();
    // The proxy spreads load across the spokes; the route names the spoke's provider route.
    expect(response.headers.get('x-gateway-route')).toMatch(/^(bedrock-a\/spoke-a\/us-(east-1|west-2)\/amazon\.nova-pro-v1:0|openai-b\/spoke-b\/us-east-1\/gpt-4o-mini)$/);
  });

  it('answers Anthropic SDK clients through the proxy (ANTHROPIC_BASE_URL), streams and token counts included', async () => {
    expect(t.output()).toContain(`Claude   ANTHROPIC_BASE_URL=${t.url}   (the Anthropic Messages API`);
    const claude = new Anthropic({ baseURL: t.url, apiKey: 'local', maxRetries: 0 });
    const { data, response } = await claude.messages.create({ model: 'chat-large', max_tokens: 64, messages: [{ role: 'user', content: 'Hello!' }] }).withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', content: [expect.objectContaining({ type: 'text' })] });
    expect(response.headers.get('x-gateway-route')).toMatch(/^(bedrock-a\/spoke-a\/us-(east-1|west-2)\/anthropic\.claude-3-5-sonnet-20240620-v1:0|openai-b\/spoke-b\/us-east-1\/gpt-4o)$/);
    let text = '';
    const final = await claude.messages
      .stream({ model: 'chat', max_tokens: 64, messages: [{ role: 'user', content: 'Hello!' }] })
      .on('text', (t) => (text += t))
      .finalMessage();
    expect(text).toBe((final.content[0] as { text: string }).text);
    expect(text.length).toBeGreaterThan(0);
    const count = await claude.messages.countTokens({ model: 'chat', messages: [{ role: 'user', content: 'Hello!' }] });
    expect(count.input_tokens).toBeGreaterThan(0);
  });

  it('serves embeddings through the proxy, and both spokes give the same vectors (one vector space)', async () => {
    const embed = async (base: string) => {
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'local', maxRetries: 0 });
      const answer = await client.embeddings.create({ model: 'embed', input: ['Hello!', 'Bonjour !'], dimensions: 8 });
      expect(answer.data.map((d) => d.embedding.length)).toEqual([8, 8]);
      return answer.data.map((d) => d.embedding);
    };
    const viaProxy = await embed(t.url);
    expect(await embed(`http://127.0.0.1:${t.base + 1}`)).toEqual(viaProxy);
    expect(await embed(`http://127.0.0.1:${t.base + 2}`)).toEqual(viaProxy);
  });

  it('keeps serving when a spoke is killed -9 under load, and routes to it again after `npm start -- restart spoke-b`', async () => {
    const load = startLoad(t.url);
    try {
      const served = (spoke: string, after = 0) => load.outcomes.some((o) => o.spoke === spoke && o.startedAt > after);
      expect(await until(() => served('spoke-a') && served('spoke-b'), 20_000, 50)).toBe(true);

      const pid = t.pid('spoke-b');
      process.kill(pid, 'SIGKILL');
      expect(await t.printed(`[launcher] spoke-b (pid ${pid}) was killed by SIGKILL. The proxy and spoke-a keep serving`)).toBe(true);
      const noticed = Date.now();
      expect(t.output()).toContain(`[launcher]   watch it:      ${t.url}/status`);
      expect(t.output()).toContain(`[launcher]   bring it back: npm start -- restart spoke-b --port ${t.base} (from any terminal)`);
      // At least 20 more requests, JSON and streams, all answered by spoke-a.
      expect(await until(() => load.outcomes.filter((o) => o.startedAt > noticed).length >= 20, 30_000, 50)).toBe(true);
      const afterKill = load.outcomes.filter((o) => o.startedAt > noticed);
      expect(afterKill.filter((o) => o.error)).toEqual([]);
      expect(new Set(afterKill.map((o) => o.spoke))).toEqual(new Set(['spoke-a']));
      expect(new Set(afterKill.map((o) => o.stream))).toEqual(new Set([true, false]));
      expect(await until(() => spokeRoutes(t.url, 'spoke-b', (s) => s !== 'healthy'), 10_000, 100)).toBe(true);
      expect(t.child.exitCode).toBeNull();

      const restart = await runRestart(t.base, 'spoke-b');
      expect(restart.out).toContain(`spoke-b is back on http://127.0.0.1:${t.base + 2} (pid `);
      expect(restart.code).toBe(0);
      expect(t.output()).toContain('[launcher] spoke-b is back on');
      const restarted = Date.now();
      expect(await until(() => spokeRoutes(t.url, 'spoke-b', (s) => s === 'healthy'), 15_000, 100)).toBe(true);
      expect(await until(() => served('spoke-b', restarted), 15_000, 50)).toBe(true);
    } finally {
      await load.stop();
    }
    expect(load.outcomes.filter((o) => o.error)).toEqual([]);
  });

  it('says what is wrong with a restart it cannot do', async () => {
    const running = await runRestart(t.base, 'spoke-a');
    expect(running.out).toMatch(/spoke-a is already running \(pid \d+\)/);
    const unknown = await runRestart(t.base, 'spoke-c');
    expect(unknown.out).toContain('unknown spoke "spoke-c": the spokes are spoke-a, spoke-b');
    expect(unknown.code).toBe(1);
    const nobody = await runRestart(t.base + 3);
    expect(nobody.out).toContain(`no npm start is running for port ${t.base + 3}`);
    expect(nobody.code).toBe(1);
  });

  it('stops all three processes on Ctrl-C (SIGINT)', async () => {
    t.child.kill('SIGINT');
    expect(await t.exited).toEqual({ code: 0, signal: null });
    expect(t.output()).toContain('[launcher] stopping spoke-a, spoke-b, proxy');
    expect(await portsFreed(t.base)).toBe(true);
  });
});

describe('local topology (npm start): stopping', () => {
  it('stops the spokes when the proxy dies, and says why', async () => {
    const t = await startTopology();
    try {
      const pid = t.pid('proxy');
      process.kill(pid, 'SIGKILL');
      expect(await t.exited).toEqual({ code: 1, signal: null });
      expect(t.output()).toContain(`[launcher] proxy (pid ${pid}) was killed by SIGKILL: nothing can serve without the proxy, so the spokes stop too.`);
      expect(await portsFreed(t.base)).toBe(true);
    } finally {
      await stopTopology(t);
    }
  });

  it('stops all three processes on SIGTERM', async () => {
    const t = await startTopology();
    t.child.kill('SIGTERM');
    expect(await t.exited).toEqual({ code: 0, signal: null });
    expect(await portsFreed(t.base)).toBe(true);
  });

  it('in a terminal, brings a killed spoke back on the key r and stops all on the key Ctrl-C', async () => {
    const t = await startTopology({ tty: true });
    try {
      expect(t.output()).toContain('press r');
      const pid = t.pid('spoke-a');
      process.kill(pid, 'SIGKILL');
      expect(await t.printed('bring it back: press r, or npm start -- restart spoke-a')).toBe(true);
      t.child.stdin!.write('r');
      expect(await t.printed('[launcher] spoke-a is back on')).toBe(true);
      expect(t.pid('spoke-a')).not.toBe(pid);
      expect(await until(() => spokeRoutes(t.url, 'spoke-a', (s) => s === 'healthy'), 15_000, 100)).toBe(true);
      t.child.stdin!.write('\u0003');
      expect(await t.exited).toEqual({ code: 0, signal: null });
      expect(await portsFreed(t.base)).toBe(true);
    } finally {
      await stopTopology(t);
    }
  });
});
