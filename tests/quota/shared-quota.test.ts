/**
 * Two gateway instances share one account's quota through a real redis-server: the
 * account gets at most its quota, the rest goes to the other account, nothing fails;
 * and Redis dying mid-load costs no request.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';

const chatRequests = (f: FakeOpenAI) => f.requests.filter((r) => r.path === '/v1/chat/completions').length;

describe('shared quota state in Redis', () => {
  let redis: RedisServer;
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let gws: TestGateway[] = [];

  const config = () => ({
    providers: [
      {
        id: 'oa',
        type: 'openai-compatible' as const,
        accounts: [
          // Account A is the faster one, so both instances prefer it until its quota is spent.
          { id: 'acct-a', limits: { '*': { rpm: 60 } }, endpoints: [{ region: 'r', url: a.url }] },
          { id: 'acct-b', endpoints: [{ region: 'r', url: b.url }] },
        ],
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
    state: { redis: redis.url },
  });

  beforeAll(async () => {
    redis = await startRedisServer();
    a = await startFakeOpenAI({ latencyMs: 1 });
    b = await startFakeOpenAI({ latencyMs: 25 });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.close();
  });
  beforeEach(async () => {
    a.requests.length = 0;
    b.requests.length = 0;
    gws = [await startGateway(config(), 'spoke', { probes: false }), await startGateway(config(), 'spoke', { probes: false })];
  });
  afterEach(async () => {
    await Promise.all(gws.map((g) => g.close()));
  });

  const send = async (n: number, concurrency: number) => {
    let errors = 0;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (next < n) {
          next++;
          const gw = gws[w % gws.length];
          try {
            await gw.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
          } catch {
            errors++;
          }
        }
      }),
    );
    return errors;
  };

  it('two instances never send more than the shared 60 rpm to one account', async () => {
    const errors = await send(120, 8);
    expect(errors).toBe(0);
    expect(chatRequests(a)).toBeLessThanOrEqual(60);
    expect(chatRequests(a)).toBeGreaterThan(40); // preferred while it has headroom
    expect(chatRequests(a) + chatRequests(b)).toBe(120);
  });

  it('(control) without shared state, each instance alone would let more through', async () => {
    await Promise.all(gws.map((g) => g.close()));
    const { state: _shared, ...local } = config();
    gws = [await startGateway(local, 'spoke', { probes: false }), await startGateway(local, 'spoke', { probes: false })];
    expect(await send(120, 8)).toBe(0);
    expect(chatRequests(a)).toBeGreaterThan(60);
  });

  it('keeps serving when Redis dies mid-load, says degraded, and recovers', async () => {
    const first = send(40, 4);
    await new Promise((r) => setTimeout(r, 20));
    await redis.kill();
    const errors = (await first) + (await send(40, 4));
    expect(errors).toBe(0);
    const degraded = await healthOf(gws[0].url);
    expect(degraded.status).toBe('degraded');
    // Serving on local estimates: each instance takes its share of the quota.
    expect(degraded.quota).toMatchObject({ backend: 'memory', degraded: true });

    await redis.restart();
    let cleared = false;
    for (let i = 0; i < 50 && !cleared; i++) {
      await new Promise((r) => setTimeout(r, 100));
      cleared = (await healthOf(gws[0].url)).status === 'ok';
    }
    expect(cleared).toBe(true);
    expect(await send(20, 4)).toBe(0);
  });
});
