/**
 * The request log: one JSON line per request with what an operator needs (request id,
 * tenant, model, route, every attempt, tokens, status), and never a credential: not the
 * provider key a fake echoes back in its 401, not a key id a provider quotes in a 500,
 * not the client's own key. Prompts and answers only when the config asks.
 */
import { expect } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import type { RequestEvent } from '../../runtime/src/observability/events';
import { EventBus } from '../../runtime/src/observability/events';
import { emfObserver } from '../../runtime/src/observability/emf';
import { createLogger, logObserver } from '../../runtime/src/observability/logger';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from './capture';

const KEY_ENV = 'OBS_LOG_TEST_PROVIDER_KEY';
/** A key shaped like OpenAI's project keys, random so any leaked piece is unmistakable. */
const providerKey = `sk-proj-${randomBytes(30).toString('base64url')}`;
const clientKey = `gw-client-${randomBytes(24).toString('hex')}`;
const AWS_KEY_ID = 'AKIAZXCVBNMASDFGHJKL';
const AWS_SECRET = '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';
const PROMPT = 'the prompt text PINEAPPLE-4411';
const REPLY = 'the answer text MANGO-9922';

/** Every 12-character piece of a secret: none may appear anywhere in the output. */
function assertAbsent(output: string, secret: string): void {
  expect(output).not.toContain(secret);
  for (let i = 0; i + 12 <= secret.length; i++) expect(output).not.toContain(secret.slice(i, i + 12));
}

describe('request logs through the gateway', () => {
  let upstream: FakeOpenAI;
  let wrongKey: FakeOpenAI;
  let tg: TestGateway;
  const logs = new LineCapture();
  const auth = { authorization: `Bearer ${clientKey}` };

  beforeAll(async () => {
    process.env[KEY_ENV] = providerKey;
    // `upstream` takes our key; `wrongKey` expects another and quotes ours back, masked, in its 401.
    upstream = await startFakeOpenAI({ apiKey: providerKey, reply: REPLY });
    wrongKey = await startFakeOpenAI({ apiKey: 'sk-proj-the-key-this-server-wants-0000' });
    const account = (fake: FakeOpenAI) => [{ id: 'a1', credentials: { env: KEY_ENV }, endpoints: [{ region: 'local', url: fake.url }] }];
    const config: GatewayConfigInput = {
      providers: [
        { id: 'up', type: 'openai-compatible', accounts: account(upstream) },
        { id: 'wrong', type: 'openai-compatible', accounts: account(wrongKey) },
      ],
      models: [
        { name: 'chat', targets: [{ provider: 'up', model: 'm' }] },
        { name: 'misconfigured', targets: [{ provider: 'wrong', model: 'm' }] },
      ],
      tenants: [{ id: 'team-a', keys: [`sha256:${createHash('sha256').update(clientKey).digest('hex')}`] }],
    };
    tg = await startGateway(config, 'all-in-one', { probes: false, observability: { destination: logs } });

    expect((await postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: PROMPT }] }, auth)).status).toBe(200);
    expect((await postJson(`${tg.url}/v1/chat/completions`, { model: 'misconfigured', messages: [{ role: 'user', content: PROMPT }] }, auth)).status).toBe(502);
    // A provider error that quotes AWS credentials in its message (twice: the only route gets one retry).
    const echo = { kind: 'status' as const, status: 500, message: `signing failed for ${AWS_KEY_ID} with secret=${AWS_SECRET}` };
    upstream.faults.push(echo, echo);
    expect((await postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: PROMPT }] }, auth)).status).toBeGreaterThanOrEqual(500);
    // A client with a wrong key.
    expect((await postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', messages: [] }, { authorization: `Bearer ${clientKey}x` })).status).toBe(401);
  });

  afterAll(async () => {
    await tg?.close();
    await Promise.all([upstream?.close(), wrongKey?.close()]);
    delete process.env[KEY_ENV];
  });

  it('writes one JSON line per request with id, tenant, model, route, attempts, tokens and latency', async () => {
    await until(() => logs.requests().length >= 4);
    const lines = logs.requests();
    expect(lines).toHaveLength(4);
    const ok = lines[0];
    expect(ok).toMatchObject({
      level: 'info',
      service: 'ai-gateway',
      role: 'all-in-one',
      tenant: 'team-a',
      model: 'chat',
      stream: false,
      status: 200,
      route: 'up/a1/local/m',
      continuations: 0,
      attempts: [{ route: 'up/a1/local/m', outcome: 'ok' }],
    });
    expect(ok.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ok.tokens).toEqual({ in: expect.any(Number), out: expect.any(Number) });
    expect(ok.latencyMs).toEqual(expect.any(Number));
    expect(new Date(String(ok.time)).toISOString()).toBe(ok.time);
  });

  it('ties the line to the x-request-id the client received', async () => {
    const res = await postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, auth);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id');
    await until(() => logs.requests().some((l) => l.requestId === id));
    expect(logs.requests().filter((l) => l.requestId === id)).toHaveLength(1);
  });

  it('logs failures with their status, code and the failed attempt', () => {
    const [, misconfigured, awsEcho, unauthenticated] = logs.requests();
    expect(misconfigured).toMatchObject({ level: 'error', model: 'misconfigured', status: 502, errorCode: 'invalid_api_key' });
    expect(misconfigured.attempts).toEqual([expect.objectContaining({ route: 'wrong/a1/local/m', outcome: 'refused', status: 401 })]);
    expect(awsEcho).toMatchObject({ level: 'error', model: 'chat' });
    const failed = expect.objectContaining({ route: 'up/a1/local/m', outcome: 'transient', status: 500 });
    expect(awsEcho.attempts).toEqual([failed, failed]);
    // The message is kept for diagnosis, with the credentials cut out.
    expect(String((awsEcho.attempts as { message: string }[])[0].message)).toContain('signing failed for [redacted]');
    expect(unauthenticated).toMatchObject({ level: 'info', status: 401 });
  });

  it('never writes the provider key, AWS credentials or the client key, whole or in part', () => {
    const output = logs.text();
    expect(output.length).toBeGreaterThan(0);
    assertAbsent(output, providerKey);
    assertAbsent(output, AWS_KEY_ID);
    assertAbsent(output, AWS_SECRET);
    assertAbsent(output, clientKey);
    // Not even the masked form the fake sent back.
    expect(output).not.toMatch(/\*{4}/);
  });

  it('leaves prompts and answers out by default', () => {
    const output = logs.text();
    expect(output).not.toContain('PINEAPPLE');
    expect(output).not.toContain('MANGO');
    expect(logs.requests().every((l) => !('content' in l))).toBe(true);
  });
});

/** A request event of one successful attempt, as the gateway reports it. */
const requestEvent = (more: Partial<RequestEvent> = {}): RequestEvent => ({
  type: 'request',
  requestId: 'req-1',
  role: 'all-in-one',
  model: 'chat',
  stream: false,
  status: 200,
  attempts: [{ route: 'p/a/r/m', outcome: 'ok', ms: 5 }],
  continuations: 0,
  latencyMs: 6,
  ...more,
});

describe('a client that leaves mid-body (Node server)', () => {
  it('is logged as 499 client_closed, nothing goes upstream, and the gateway serves on', async () => {
    const upstream = await startFakeOpenAI();
    const logs = new LineCapture();
    const tg = await startGateway(
      {
        providers: [{ id: 'up', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: upstream.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'up', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
    try {
      const { port } = new URL(tg.url);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          // 1,000 bytes announced, a few sent, then the client is gone.
          socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":"chat",');
          setTimeout(() => socket.destroy(), 50);
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
      await waitFor(() => logs.requests().length > 0);
      expect(logs.requests()).toEqual([expect.objectContaining({ status: 499, errorCode: 'client_closed', attempts: [] })]);
      expect(upstream.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
      expect((await postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    } finally {
      await tg.close();
      await upstream.close();
    }
  });
});

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 20));
}

describe('content logging', () => {
  const event = requestEvent({ content: { prompt: [{ role: 'user', content: PROMPT }], answer: REPLY } });

  const logWith = (logContent: boolean) => {
    const out = new LineCapture();
    const bus = new EventBus();
    bus.subscribe(logObserver(createLogger({ level: 'info', service: 's', role: 'all-in-one', destination: out }), { logContent }));
    bus.emit(event);
    return out;
  };

  it('drops the content of an event unless logContent is on', () => {
    const out = logWith(false);
    expect(out.requests()).toHaveLength(1);
    expect(out.text()).not.toContain('PINEAPPLE');
    expect(out.text()).not.toContain('MANGO');
  });

  it('writes prompt and answer when logContent is on', () => {
    const [line] = logWith(true).requests();
    expect(line.content).toEqual({ prompt: [{ role: 'user', content: PROMPT }], answer: REPLY });
  });

  it('through the gateway, with observability.logContent on, logs the prompt and the answer', async () => {
    const fake = await startFakeOpenAI({ reply: REPLY });
    const out = new LineCapture();
    const tg = await startGateway(
      {
        observability: { logContent: true },
        providers: [{ id: 'p', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: fake.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'p', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false, observability: { destination: out } },
    );
    try {
      await tg.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: PROMPT }] });
      await until(() => out.requests().length > 0);
      const [line] = out.requests();
      expect(line.content).toEqual({ prompt: [{ role: 'user', content: PROMPT }], answer: REPLY });
    } finally {
      await tg.close();
      await fake.close();
    }
  });

  it('the config switch defaults to off and is validated', () => {
    expect(parseConfig({}).observability).toEqual({ logLevel: 'info', logContent: false });
    expect(parseConfig({ observability: { logContent: true } }).observability.logContent).toBe(true);
    expect(() => parseConfig({ observability: { logContent: 'yes' } })).toThrow(/observability\.logContent/);
    expect(() => parseConfig({ observability: { logLevel: 'loud' } })).toThrow(/observability\.logLevel/);
  });
});

describe('log level and route warnings', () => {
  it('writes nothing below the configured level, and cooldowns as warnings with scrubbed reasons', () => {
    const out = new LineCapture();
    const bus = new EventBus();
    bus.subscribe(logObserver(createLogger({ level: 'warn', service: 's', role: 'spoke', destination: out }), { logContent: false }));
    bus.emit({ type: 'request', requestId: 'r', role: 'spoke', model: 'm', stream: false, status: 200, attempts: [], continuations: 0, latencyMs: 1 });
    bus.emit({ type: 'cooldown', route: 'p/a/r/m', until: Date.UTC(2030, 0, 1), reason: 'throttled: key sk-abcdefghijklmnop' });
    const records = out.records();
    expect(records).toEqual([expect.objectContaining({ level: 'warn', msg: 'route cooling down', route: 'p/a/r/m', until: '2030-01-01T00:00:00.000Z', role: 'spoke' })]);
    expect(out.text()).not.toContain('sk-abcdefghijklmnop');
  });

  it('scrubs credentials from an error logged outside a request', () => {
    const out = new LineCapture();
    const logger = createLogger({ level: 'info', service: 's', role: 'proxy', destination: out });
    logger.error({ err: new Error(`boom with Bearer ${providerKey}`), headers: { authorization: `Bearer ${clientKey}` } }, 'internal error');
    const [line] = out.records();
    expect(line).toMatchObject({ level: 'error', msg: 'internal error', err: { type: 'Error', message: 'boom with Bearer [redacted]' } });
    expect((line.headers as { authorization: string }).authorization).toBe('[redacted]');
    assertAbsent(out.text(), providerKey);
    assertAbsent(out.text(), clientKey);
  });
});

describe('request lines on an asynchronous destination', () => {
  const event = (requestId: string) => requestEvent({ requestId });
  const logTo = (sync: boolean) => {
    const out = Object.assign(new LineCapture(), { sync });
    const bus = new EventBus();
    bus.subscribe(logObserver(createLogger({ level: 'info', service: 's', role: 'all-in-one', destination: out }), { logContent: false }));
    return { out, bus };
  };

  it('reach it as one write per event-loop turn, every line whole and in order', async () => {
    const { out, bus } = logTo(false);
    for (const id of ['r1', 'r2', 'r3']) bus.emit(event(id));
    expect(out.chunks).toHaveLength(0); // not before the turn's events are all in
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.chunks).toHaveLength(1);
    expect(out.requests().map((r) => r.requestId)).toEqual(['r1', 'r2', 'r3']);
    bus.emit(event('r4'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.chunks).toHaveLength(2);
    expect(out.requests().map((r) => r.requestId)).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('share one write per turn with the EMF lines, in the order they were made', async () => {
    const { out, bus } = logTo(false);
    bus.subscribe(emfObserver(out, { namespace: 'N', service: 's', modelLabel: (m) => m }));
    for (const id of ['r1', 'r2']) bus.emit(event(id));
    await new Promise((resolve) => setImmediate(resolve));
    expect(out.chunks).toHaveLength(1);
    expect(out.records().map((r) => `${'_aws' in r ? 'emf' : 'log'} ${String(r.requestId ?? r.RequestId)}`)).toEqual(['log r1', 'emf r1', 'log r2', 'emf r2']);
  });

  it('a synchronous destination (Lambda) gets each line at once', () => {
    const { out, bus } = logTo(true);
    for (const id of ['r1', 'r2']) bus.emit(event(id));
    expect(out.chunks).toHaveLength(2);
    expect(out.requests().map((r) => r.requestId)).toEqual(['r1', 'r2']);
  });
});
