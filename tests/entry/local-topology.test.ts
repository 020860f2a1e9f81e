/** `npm start`: a proxy and two spoke processes, as a user starts them, answering through the proxy. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import OpenAI from 'openai';

const LOCAL = resolve(__dirname, '../../dist/runtime/src/entry/local.js');

/** Three consecutive free ports: the proxy's and the two spokes'. */
async function freeBase(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const base = 20000 + Math.floor(Math.random() * 20000);
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

describe('local topology (npm start)', () => {
  let child: ChildProcess;
  let output = '';
  let base: number;

  beforeAll(async () => {
    base = await freeBase();
    child = spawn(process.execPath, [LOCAL, '--port', String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await new Promise<void>((ready, fail) => {
      const check = setInterval(() => {
        if (output.includes('Ctrl-C stops')) {
          clearInterval(check);
          ready();
        } else if (child.exitCode !== null) {
          clearInterval(check);
          fail(new Error(`npm start exited: ${output}`));
        }
      }, 50);
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('prints the URL, a ready curl line and where to look at live state', () => {
    expect(output).toContain(`http://127.0.0.1:${base}/v1`);
    expect(output).toMatch(/curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    expect(output).toContain(`live state: http://127.0.0.1:${base}/healthz`);
  });

  it('answers through the proxy from a spoke with simulated accounts', async () => {
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${base}/v1`, apiKey: 'local', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hello!' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    // The proxy spreads load across the spokes; the route names the spoke's provider route.
    expect(response.headers.get('x-gateway-route')).toMatch(/^(bedrock-a\/spoke-a\/us-(east-1|west-2)\/amazon\.nova-pro-v1:0|openai-b\/spoke-b\/us-east-1\/gpt-4o-mini)$/);

    const stream = await client.chat.completions.create({ model: 'chat-large', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(10);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('stops all three processes on SIGTERM', async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    for (let i = 0; i < 50; i++) {
      const free = await Promise.all([0, 1, 2].map((d) => canListen(base + d)));
      if (free.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('ports still in use after SIGTERM');
  });
});
