/**
 * A client that leaves in the short time between the stream's first upstream chunk and
 * its first byte to the client (here: while a slow Redis records the provider's rate-limit
 * headers) is a client gone like any other: the request is reported as client_closed and
 * its tenant's concurrency slot comes back. Before, the answer waited for a 'drain' the
 * closed response never sends: the slot stayed taken for good (429 to every later request
 * of a tenant at its limit) and the request was never reported.
 */
import { systemClock } from '../../runtime/src/core/clock';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import type { RequestEvent } from '../../runtime/src/observability/events';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import { hashKey } from '../../runtime/src/tenants/auth';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { sleep, until } from '../helpers/until';

describe('a client that leaves as its stream starts', () => {
  let redis: RedisServer;
  let up: FakeOpenAI;
  let gw: TestGateway;
  const events: RequestEvent[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    // Rate-limit headers on every answer: the gateway records them in Redis once the first chunk is in.
    up = await startFakeOpenAI({ rateLimitHeaders: true, chunks: 20, chunkDelayMs: 50 });
    const config: GatewayConfigInput = {
      providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: up.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
      tenants: [{ id: 'team-a', keys: [hashKey('key-a')], limits: { concurrency: 1 } }],
      state: { redis: redis.url },
    };
    // A Redis deadline longer than the pause below: the gateway waits for it, as for a slow Redis.
    const quota = createQuotaStore(parseConfig(config), systemClock, { commandTimeoutMs: 3000, startupWaitMs: 5000 });
    gw = await startGateway(config, 'all-in-one', { quota, probes: false });
    gw.gateway.events.subscribe((e) => e.type === 'request' && events.push(e));
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
    await redis.close();
  });

  const post = (requestId: string, stream: boolean, signal?: AbortSignal) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer key-a', 'x-request-id': requestId },
      body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }),
      signal,
    });

  it('is reported as client_closed and frees its tenant slot', async () => {
    // Redis stops answering once the request is admitted (it has reached the provider), which answers 100 ms later.
    up.options.latencyMs = 100;
    up.options.onChatRequest = () => redis.pause();
    const client = new AbortController();
    const pending = post('left-at-start', true, client.signal).catch((err: unknown) => err);
    try {
      await until(() => up.inFlight() === 1);
      await sleep(400); // the first chunk is in; the gateway waits on Redis
      client.abort();
      await pending;
      await sleep(100);
    } finally {
      up.options.onChatRequest = undefined;
      up.options.latencyMs = 0;
      redis.resume();
    }

    const left = () => events.find((e) => e.requestId === 'left-at-start');
    await until(() => left() !== undefined, 3000);
    // The stream had started (its attempt succeeded) when the client left.
    expect(left()).toMatchObject({ errorCode: 'client_closed', attempts: [{ outcome: 'ok' }] });
    await until(() => up.inFlight() === 0);
    expect(up.inFlight()).toBe(0);
    const next = await post('after', false);
    expect(next.status).toBe(200);
    await next.arrayBuffer();
  }, 20_000);
});
