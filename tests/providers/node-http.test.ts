/**
 * The Lambda proxy's HTTP (Node's own http) under the OpenAI adapter, against the fake
 * OpenAI server on 127.0.0.1: answers, streams, refusals, breaks and aborts come out the
 * same as over undici, health checks read through it, a connection that does not open is
 * given up after the connect timeout, and a retry can ask for a fresh connection.
 */
import { expect } from '@jest/globals';
import { chatRequestSchema, type ChatRequest } from '../../runtime/src/core/chat-request';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import { providerSchema, type ProviderConfig } from '../../runtime/src/config/schema';
import { EndpointProber } from '../../runtime/src/health/prober';
import { ProviderError } from '../../runtime/src/providers/errors';
import { createNodeHttp } from '../../runtime/src/providers/node-http';
import { createOpenAIAdapter } from '../../runtime/src/providers/openai/adapter';
import type { CallOptions, Route } from '../../runtime/src/providers/types';
import { systemClock } from '../../runtime/src/core/clock';
import { CancelSource } from '../../runtime/src/core/cancellation';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { unacceptingPort } from '../helpers/unaccepting-port';

const REPLY = 'A fox, answered through node:http.';
const http = createNodeHttp();
let fake: FakeOpenAI;
let provider: ProviderConfig;

beforeEach(async () => {
  fake = await startFakeOpenAI({ reply: REPLY, chunks: 3 });
  provider = providerSchema.parse({ id: 'spokes', type: 'openai-compatible', accounts: [{ id: 's', endpoints: [{ region: 'r', url: fake.url }] }] });
});
afterEach(() => fake.close());

const route = (): Route => ({ key: 'spokes/s/r/chat', provider, account: provider.accounts[0], endpoint: provider.accounts[0].endpoints[0], model: 'chat', logicalModel: 'chat' });
const ask = (extra: Record<string, unknown> = {}): ChatRequest => chatRequestSchema.parse({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], ...extra });
/** As the gateway calls adapters: the attempt's cancellation, a standard signal only on demand. */
function opts(cancel = new CancelSource()): CallOptions {
  return {
    requestId: 'req-fetch',
    cancel,
    get signal() {
      return cancel.signal;
    },
  };
}
const adapter = () => createOpenAIAdapter(provider, { resolveCredential: async () => undefined, http });

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

test('a completion comes back whole, as the upstream sent it', async () => {
  const { completion, body } = await adapter().complete(route(), ask(), opts());
  expect(completion.choices[0].message.content).toBe(REPLY);
  expect(completion.usage.total_tokens).toBeGreaterThan(0);
  expect(JSON.parse(body!)).toEqual(completion);
  expect(fake.requests[0].headers['x-request-id']).toBe('req-fetch');
});

test('a stream comes chunk by chunk and ends with one usage chunk', async () => {
  const { chunks } = await adapter().stream(route(), ask({ stream: true }), opts());
  const got = await collect(chunks);
  expect(got.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(REPLY);
  expect(got.at(-1)!.choices).toEqual([]);
  expect(got.at(-1)!.usage?.total_tokens).toBeGreaterThan(0);
});

test('a refusal and a throttle are classified from the status and body', async () => {
  fake.faults.push({ kind: 'status', status: 400, code: 'invalid_value', message: 'bad temperature' });
  const refused = await adapter()
    .complete(route(), ask(), opts())
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ProviderError);
  expect(refused).toMatchObject({ failure: 'refused', status: 400 });
  fake.faults.push({ kind: 'status', status: 429, headers: { 'retry-after': '3' } });
  const throttled = await adapter()
    .complete(route(), ask(), opts())
    .catch((e: unknown) => e);
  expect(throttled).toMatchObject({ failure: 'throttled', retryAfterMs: 3000 });
});

test('a stream cut short is a transient failure, not a short answer', async () => {
  fake.faults.push({ kind: 'cut', afterChunks: 1 });
  const { chunks } = await adapter().stream(route(), ask({ stream: true }), opts());
  const err = await collect(chunks).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect((err as ProviderError).failure).toBe('transient');
});

test('a completion cut halfway is a transient failure that says the answer broke off', async () => {
  fake.faults.push({ kind: 'cut', afterChunks: 0 });
  const err = await adapter()
    .complete(route(), ask(), opts())
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect(err).toMatchObject({ failure: 'transient', message: expect.stringContaining('reading the answer failed') });
});

test('cancelling the attempt ends a hanging call with the cancellation reason', async () => {
  fake.faults.push({ kind: 'hang' });
  const cancel = new CancelSource();
  const pending = adapter().complete(route(), ask(), opts(cancel));
  const reason = new ProviderError('silent', 'no answer within 50 ms');
  setTimeout(() => cancel.abort(reason), 50);
  await expect(pending).rejects.toBe(reason);
});

test('health checks read through it: a live endpoint stays up, a dead one goes down', async () => {
  const key = 'spokes/s/r';
  const changes: Array<[string, boolean]> = [];
  const prober = new EndpointProber([{ key, url: `${fake.url}/v1/models`, kind: 'models' }], http, systemClock, { intervalMs: 60_000, downIntervalMs: 60_000, timeoutMs: 500 }, (k, down) =>
    changes.push([k, down]),
  );
  prober.start();
  try {
    for (let i = 0; i < 100 && !fake.requests.some((r) => r.path === '/v1/models'); i++) await wait(10);
    await wait(20); // its answer read
    expect(prober.isDown(key)).toBe(false);
    await fake.close();
    prober.suspect(key);
    for (let i = 0; i < 300 && !prober.isDown(key); i++) await wait(10); // the probe fails at once, or times out in 500 ms
    expect(prober.isDown(key)).toBe(true);
    expect(changes).toEqual([[key, true]]);
  } finally {
    await prober.stop();
    fake = await startFakeOpenAI(); // for afterEach
  }
});

test('a connection that does not open is given up after the connect timeout, as a transient failure', async () => {
  const dead = await unacceptingPort();
  try {
    const unreachable = providerSchema.parse({ id: 'spokes', type: 'openai-compatible', accounts: [{ id: 's', endpoints: [{ region: 'r', url: `http://127.0.0.1:${dead.port}` }] }] });
    const to: Route = {
      key: 'spokes/s/r/chat',
      provider: unreachable,
      account: unreachable.accounts[0],
      endpoint: unreachable.accounts[0].endpoints[0],
      model: 'chat',
      logicalModel: 'chat',
    };
    const started = Date.now();
    const err = await createOpenAIAdapter(unreachable, { resolveCredential: async () => undefined, http })
      .stream(to, ask({ stream: true }), { ...opts(), connectTimeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ failure: 'transient', code: 'ETIMEDOUT', message: expect.stringContaining('connect timed out after 300 ms') });
    expect(Date.now() - started).toBeLessThan(5000); // not the OS's own connect timeout (minutes)
  } finally {
    dead.close();
  }
});

test('a retry asks for a fresh connection; other calls reuse the pooled one', async () => {
  await adapter().complete(route(), ask(), opts());
  await adapter().complete(route(), ask(), opts());
  const pooled = fake.connectionsAccepted();
  await adapter().complete(route(), ask(), { ...opts(), freshConnection: true });
  await adapter().complete(route(), ask(), { ...opts(), freshConnection: true });
  expect(fake.connectionsAccepted()).toBe(pooled + 2);
});
