/**
 * Stopping a gateway (a rolling deploy's SIGTERM, Ctrl-C) without cutting what it is
 * serving: /healthz says `draining`, new connections are refused, answers in flight finish
 * within `server.shutdownGraceMs`, and only then are the rest cut. Keep-alive clients are
 * moved off an instance before that too: a connection older than `connectionMaxAgeMs` is
 * closed after its answer, so a proxy's pool behind a load balancer reaches new instances.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

const BIN = resolve(__dirname, '../../bin/ai-gateway.js');
const REPLY = 'one two three four five six seven eight nine ten';

const configFor = (upstream: FakeOpenAI, server: Record<string, number> = {}) => ({
  server: { requestTimeoutMs: 30_000, ...server },
  providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'a', endpoints: [{ region: 'r', url: upstream.url }] }] }],
  models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] }],
});

/** A streamed answer read to its end: its text, and whether it ended as a whole answer does. */
async function readStream(client: OpenAI, onFirst?: () => void): Promise<{ text: string; finished: boolean; error?: string }> {
  let text = '';
  let finished = false;
  try {
    const stream = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let first = true;
    for await (const chunk of stream) {
      if (first) onFirst?.();
      first = false;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finished = true;
    }
    return { text, finished };
  } catch (err) {
    return { text, finished, error: (err as Error).message };
  }
}

/** GET `path` over `agent`: status, the Connection header and the local port (which connection it went on). */
function get(url: string, path: string, agent: Agent): Promise<{ status: number; connection?: string; port: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request(`${url}${path}`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => done({ status: res.statusCode ?? 0, connection: res.headers.connection, port: req.socket?.localPort ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('graceful shutdown', () => {
  let upstream: FakeOpenAI;
  beforeEach(async () => {
    upstream = await startFakeOpenAI({ chunks: 10, chunkDelayMs: 100, reply: REPLY });
  });
  afterEach(async () => {
    await upstream.close();
  });

  it('lets a stream in flight finish, refuses new connections meanwhile, then stops', async () => {
    const gw = await startGateway(configFor(upstream), 'all-in-one', { probes: false });
    let stopped = false;
    let shutdown: Promise<void> | undefined;
    const answer = await readStream(gw.client, () => {
      shutdown = gw.shutdown(10_000).then(() => void (stopped = true));
    });
    expect(answer).toEqual({ finished: true, text: REPLY });
    expect(shutdown).toBeDefined();
    await shutdown;
    expect(stopped).toBe(true);
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
  });

  it('cuts what is still running once the grace period is over', async () => {
    upstream.options.chunkDelayMs = 5_000; // a stream of 50 s
    const gw = await startGateway(configFor(upstream), 'all-in-one', { probes: false });
    let shutdown: Promise<void> | undefined;
    const started = Date.now();
    const answer = await readStream(gw.client, () => {
      shutdown = gw.shutdown(300);
    });
    await shutdown;
    expect(answer.finished).toBe(false);
    expect(answer.error).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5_000); // the grace, not the stream's 50 s
  });

  it('says draining on /healthz (503) and closes the connection of every answer meanwhile', async () => {
    const gw: TestGateway = await startGateway(configFor(upstream), 'all-in-one', { probes: false });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(gw.url, '/healthz', agent);
      expect(before.status).toBe(200);
      expect(before.connection).toBe('keep-alive');
      gw.gateway.drain();
      const during = await get(gw.url, '/healthz', agent);
      expect(during.status).toBe(503);
      expect(JSON.parse(during.body)).toMatchObject({ status: 'draining' });
      expect(during.connection).toBe('close');
    } finally {
      agent.destroy();
      await gw.close();
    }
  });

  it('closes a keep-alive connection older than connectionMaxAgeMs after its answer', async () => {
    const gw = await startGateway(configFor(upstream, { connectionMaxAgeMs: 300 }), 'all-in-one', { probes: false });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(gw.url, '/healthz', agent);
      const second = await get(gw.url, '/healthz', agent);
      expect([first.connection, second.port]).toEqual(['keep-alive', first.port]); // one connection, kept
      await new Promise((r) => setTimeout(r, 400));
      const aged = await get(gw.url, '/healthz', agent);
      expect([aged.connection, aged.port]).toEqual(['close', first.port]); // answered, then closed
      const next = await get(gw.url, '/healthz', agent);
      expect(next.port).not.toBe(first.port); // a new connection
      expect(next.connection).toBe('keep-alive');
    } finally {
      agent.destroy();
      await gw.close();
    }
  });

  it('the ai-gateway process drains on SIGTERM and exits 0; a second signal stops it at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shutdown-'));
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify(configFor(upstream, { port: 0 })));
    const runUntilSignal = async (signals: number) => {
      const child = spawn(process.execPath, [BIN, '--config', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      expect(await until(() => /listening on (http:\/\/\S+)/.test(out), 15_000)).toBe(true);
      const url = /listening on (http:\/\/\S+)/.exec(out)![1];
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
      const answer = await readStream(client, () => {
        child.kill('SIGTERM');
        // Signals of one kind are not queued: the second goes once the first has been taken.
        if (signals === 2) void until(() => out.includes('draining'), 5_000).then(() => child.kill('SIGTERM'));
      });
      return { answer, code: await exited, out };
    };
    const drained = await runUntilSignal(1);
    expect(drained.answer).toEqual({ finished: true, text: REPLY });
    expect(drained.code).toBe(0);
    expect(drained.out).toMatch(/SIGTERM: draining/);
    const stopped = await runUntilSignal(2);
    expect(stopped.answer.finished).toBe(false);
    expect(stopped.code).toBe(0);
  });
});
