/**
 * A tenant's own limits, seen from a client: requests per minute with an exact
 * Retry-After, tokens per minute reserved at admission and corrected by real usage, and
 * concurrent requests whose slots come back after an answer, a failure or a client that
 * went away. Refused requests never reach the provider.
 */
import { hashKey } from '../../runtime/src/tenants/auth';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import { ManualClock } from '../helpers/manual-clock';
import { tenantQuotaKey } from '../../runtime/src/tenants/limiter';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';
import { CHAT, chatAs, waitUntil } from './helpers';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';

type ErrorBody = { error: { type: string; code: string; message: string } };

describe('requests and tokens per minute', () => {
  let gw: TestGateway;
  const clock = new ManualClock(1_000_000);
  const store = new MemoryQuotaStore(clock);
  beforeAll(async () => {
    const base = simulatedConfig();
    gw = await startGateway(
      {
        ...base,
        providers: [...base.providers!, { id: 'down', type: 'simulated', accounts: [{ id: 'x', endpoints: [{ region: 'local', latencyMs: 1, failureRate: 1, seed: 3 }] }] }],
        models: [...base.models!, { name: 'broken', targets: [{ provider: 'down', model: 'sim-down' }] }],
        tenants: [
          { id: 'by-requests', keys: [hashKey('key-r')], limits: { rpm: 3 } },
          { id: 'by-tokens', keys: [hashKey('key-t')], limits: { tpm: 300 } },
        ],
      },
      'all-in-one',
      { quota: store },
    );
  });
  afterAll(() => gw.close());

  it('refuses the request past rpm with a Retry-After counted from the oldest request', async () => {
    for (let i = 0; i < 3; i++) expect((await chatAs(gw.url, 'key-r')).status).toBe(200);
    clock.advance(20_000);
    const refused = await chatAs(gw.url, 'key-r');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('40');
    expect(((await refused.json()) as ErrorBody).error).toEqual({
      type: 'rate_limit_error',
      code: 'tenant_rate_limited',
      message: 'Tenant "by-requests" is over its limit of 3 requests per minute. Retry after 40 s.',
      param: null,
    });
    // The refusal did not count: when the first requests leave the window, the tenant is served again.
    clock.advance(40_000);
    expect((await chatAs(gw.url, 'key-r')).status).toBe(200);
  });

  it('reserves estimated tokens and keeps only the real usage, so more requests fit than the estimate allows', async () => {
    const body = { ...CHAT, max_tokens: 200 }; // estimate: 5 prompt + 200 output = 205 of 300
    const usages: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await chatAs(gw.url, 'key-t', body);
      if (res.status === 429) refused = res;
      else usages.push(((await res.json()) as { usage: { total_tokens: number } }).usage.total_tokens);
    }
    const sum = (n: number) => usages.slice(0, n).reduce((a, b) => a + b, 0);
    // Without reconciliation only one request of 205 fits in 300; with it, as many as real usage allows.
    expect(usages.length).toBeGreaterThan(1);
    expect(sum(usages.length - 1) + 205).toBeLessThanOrEqual(300);
    expect(sum(usages.length) + 205).toBeGreaterThan(300);
    expect(gw.gateway.quota.peek(tenantQuotaKey('by-tokens'), { tpm: 300 }).tokensUsed).toBe(sum(usages.length));

    expect(refused!.headers.get('retry-after')).toBe('60');
    const err = ((await refused!.json()) as ErrorBody).error;
    expect(err.code).toBe('tenant_rate_limited');
    expect(err.message).toBe('Tenant "by-tokens" is over its limit of 300 tokens per minute (this request reserves an estimated 205). Retry after 60 s.');
  });

  it('counts a stream by the usage it reported, and a failed request by no tokens at all', async () => {
    clock.advance(61_000); // an empty window
    const key = tenantQuotaKey('by-tokens');
    const res = await chatAs(gw.url, 'key-t', { ...CHAT, max_tokens: 200, stream: true, stream_options: { include_usage: true } });
    const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: {'));
    const usage = (JSON.parse(events.at(-1)!.slice(6)) as ChatCompletionChunk).usage?.total_tokens;
    expect(gw.gateway.quota.peek(key, { tpm: 300 })).toMatchObject({ requestsUsed: 1, tokensUsed: usage });

    const failed = await chatAs(gw.url, 'key-t', { ...CHAT, model: 'broken', max_tokens: 200 });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(gw.gateway.quota.peek(key, { tpm: 300 })).toMatchObject({ requestsUsed: 2, tokensUsed: usage });
  });
});

describe('concurrent requests', () => {
  let up: FakeOpenAI;
  let gw: TestGateway;
  const chatRequests = () => up.requests.filter((r) => r.path === '/v1/chat/completions').length;
  const inFlight = () => gw.gateway.tenantLimits.inFlight('team');

  beforeAll(async () => {
    up = await startFakeOpenAI({ chunks: 4 });
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: up.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
        tenants: [
          { id: 'team', keys: [hashKey('key-c')], limits: { concurrency: 2 } },
          { id: 'other', keys: [hashKey('key-o')], limits: { concurrency: 1 } },
        ],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });
  afterEach(() => {
    up.faults.length = 0;
  });

  it('gives a slot back after every answer and every failure', async () => {
    for (let i = 0; i < 4; i++) expect((await chatAs(gw.url, 'key-c')).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const res = await chatAs(gw.url, 'key-c', { ...CHAT, stream: true });
      expect(await res.text()).toMatch(/data: \[DONE\]\n\n$/);
    }
    // Refused upstream (400 is passed back, not retried): the slot still comes back.
    up.faults.push({ kind: 'status', status: 400 }, { kind: 'status', status: 400 }, { kind: 'status', status: 400 });
    for (let i = 0; i < 3; i++) expect((await chatAs(gw.url, 'key-c')).status).toBe(400);
    expect((await chatAs(gw.url, 'key-c')).status).toBe(200);
    expect(inFlight()).toBe(0);
  });

  it('refuses the request past the limit without forwarding it, and frees slots when clients go away', async () => {
    up.faults.push({ kind: 'hang' }, { kind: 'hang' });
    const clients = [new AbortController(), new AbortController()];
    const pending = clients.map((c) => chatAs(gw.url, 'key-c', CHAT, { signal: c.signal }).catch((e: Error) => e));
    await waitUntil('both requests reach the provider', () => up.inFlight() === 2);
    const forwarded = chatRequests();

    const refused = await chatAs(gw.url, 'key-c');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as ErrorBody).error).toMatchObject({
      type: 'rate_limit_error',
      code: 'tenant_concurrency_limited',
      message: 'Tenant "team" already has 2 requests in flight, its concurrency limit. Retry when one has finished.',
    });
    expect(chatRequests()).toBe(forwarded);
    // Another tenant's slots are its own.
    expect((await chatAs(gw.url, 'key-o')).status).toBe(200);

    clients.forEach((c) => c.abort());
    await Promise.all(pending);
    await waitUntil('the slots are given back', () => inFlight() === 0);
    expect((await chatAs(gw.url, 'key-c')).status).toBe(200);
  });

  it('frees the slots of streams whose clients leave in the middle', async () => {
    up.faults.push({ kind: 'stall', afterChunks: 1 }, { kind: 'stall', afterChunks: 1 });
    const clients = [new AbortController(), new AbortController()];
    const readers = await Promise.all(
      clients.map(async (c) => {
        const res = await chatAs(gw.url, 'key-c', { ...CHAT, stream: true }, { signal: c.signal });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        expect((await reader.read()).done).toBe(false); // the first chunk arrived: the stream is under way
        return reader;
      }),
    );
    expect(inFlight()).toBe(2);
    expect((await chatAs(gw.url, 'key-c', { ...CHAT, stream: true })).status).toBe(429);

    clients.forEach((c) => c.abort());
    await Promise.all(readers.map((r) => r.cancel().catch(() => undefined)));
    await waitUntil('the stream slots are given back', () => inFlight() === 0);
    const res = await chatAs(gw.url, 'key-c', { ...CHAT, stream: true });
    expect(await res.text()).toMatch(/data: \[DONE\]\n\n$/);
  });
});
