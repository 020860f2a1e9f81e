/**
 * Capacity classes across two gateway instances sharing one account's quota through a
 * real redis-server (rpm 50; criticalReserve 0.2, batchCeiling 0.6): a batch flood at
 * full speed never takes the critical reserve, standard stays within its 80%, a lone
 * batch tenant gets its whole 60%, and refusals are 429 capacity_reserved with a
 * Retry-After from the quota window, before anything is sent upstream.
 */
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { parseConfig } from '../../runtime/src/config/load';
import { systemClock } from '../../runtime/src/core/clock';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';
import { classTenants, count, flood, KEYS, send, type Outcome } from './helpers';
import { LOOPBACK_OPERATORS } from '../helpers/operators';

const RPM = 50;

describe('capacity classes on two instances sharing Redis', () => {
  let redis: RedisServer;
  let upstream: FakeOpenAI;
  let gws: TestGateway[] = [];
  let logs: LineCapture;
  const sent = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions').length;
  const urls = () => gws.map((g) => g.url);

  beforeAll(async () => {
    redis = await startRedisServer();
    upstream = await startFakeOpenAI({ latencyMs: 2 });
  });
  afterAll(async () => {
    await upstream.close();
    await redis.close();
  });
  beforeEach(async () => {
    const admin = new Redis(redis.url);
    await admin.flushall();
    await admin.quit();
    upstream.requests.length = 0;
    const config = {
      providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'acct', limits: { '*': { rpm: RPM } }, endpoints: [{ region: 'r', url: upstream.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
      tenants: classTenants(),
      operators: LOOPBACK_OPERATORS,
      capacity: { criticalReserve: 0.2, batchCeiling: 0.6 },
      state: { redis: redis.url },
    };
    // Both instances, their clients and the upstream share this process: on a loaded machine a
    // Redis answer can take longer than the production 100 ms, and the local fallback (tested
    // in tests/quota) would then decide instead.
    const instance = (destination?: LineCapture) =>
      startGateway(config, 'all-in-one', {
        probes: false,
        quota: createQuotaStore(parseConfig(config), systemClock, { commandTimeoutMs: 5_000 }),
        ...(destination ? { observability: { destination } } : {}),
      });
    logs = new LineCapture();
    gws = [await instance(logs), await instance()];
  });
  afterEach(async () => {
    await Promise.all(gws.map((g) => g.close()));
  });

  it('a batch flood at full speed never takes the critical reserve: every critical request of a burst is answered', async () => {
    const batch = flood(urls(), KEYS.batch, 8);
    let burst: Outcome[];
    let flooded: Outcome[];
    try {
      // The flood has reached its ceiling once refusals come back.
      expect(await until(() => batch.outcomes.some((o) => o.status === 429), 10_000)).toBe(true);
      burst = await Promise.all(Array.from({ length: 20 }, (_, i) => send(urls()[i % 2], KEYS.critical)));
    } finally {
      flooded = await batch.stop(); // never left running past a failed check
    }

    expect(burst.map((o) => o.status)).toEqual(Array(20).fill(200));
    expect(count(flooded, 200)).toBe(0.6 * RPM); // a lone batch tenant gets its whole ceiling
    const refused = flooded.filter((o) => o.status !== 200);
    expect(refused.length).toBeGreaterThan(10);
    for (const o of refused) {
      expect(o).toMatchObject({ status: 429, code: 'capacity_reserved' });
      expect(Number(o.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(o.retryAfter)).toBeLessThanOrEqual(60);
    }
    expect(refused[0].message).toMatch(/reserved for higher-priority traffic\. Retry after \d+ s: oa\/acct\/r\/m: reserved/);
    // Refused before anything was sent: the account saw only what was admitted.
    expect(sent()).toBe(0.6 * RPM + 20);
  });

  it('standard stays within 1 - criticalReserve, and critical still gets the rest', async () => {
    const standard = await Promise.all(Array.from({ length: 60 }, (_, i) => send(urls()[i % 2], KEYS.standard)));
    expect(count(standard, 200)).toBe(0.8 * RPM);
    expect(standard.filter((o) => o.status !== 200).every((o) => o.status === 429 && o.code === 'capacity_reserved')).toBe(true);
    const critical = await Promise.all(Array.from({ length: 12 }, (_, i) => send(urls()[i % 2], KEYS.critical)));
    expect(count(critical, 200)).toBe(0.2 * RPM);
    // The route is full now: for critical, that is the account's quota, not a reservation.
    expect(critical.filter((o) => o.status !== 200).every((o) => o.status === 503 && o.code === 'upstream_quota_exhausted')).toBe(true);
    // For standard it is still its share gone.
    expect(await send(urls()[0], KEYS.standard)).toMatchObject({ status: 429, code: 'capacity_reserved' });
    expect(sent()).toBe(RPM);
  });

  it('shows each class on the log line, /metrics and /status', async () => {
    await Promise.all(Array.from({ length: 35 }, () => send(gws[0].url, KEYS.batch)));
    await send(gws[0].url, KEYS.critical);
    const metrics = await (await fetch(`${gws[0].url}/metrics`)).text();
    expect(metrics).toContain('gateway_capacity_requests_total{route="oa/acct/r/m",class="batch",result="admitted"} 30');
    expect(metrics).toContain('gateway_capacity_requests_total{route="oa/acct/r/m",class="batch",result="refused"} 5');
    expect(metrics).toContain('gateway_capacity_requests_total{route="oa/acct/r/m",class="critical",result="admitted"} 1');
    const status = (await (await fetch(`${gws[0].url}/status.json`)).json()) as {
      models: { routes: { route: string; classes?: Record<string, { share: number; rpm?: number; admitted: number; refused: number }> }[] }[];
    };
    const classes = status.models[0].routes[0].classes!;
    expect(classes.batch).toMatchObject({ share: 0.6, rpm: 30, admitted: 30, refused: 5 });
    expect(classes.standard).toMatchObject({ share: 0.8, rpm: 40, admitted: 0, refused: 0 });
    expect(classes.critical).toMatchObject({ share: 1, rpm: 50, admitted: 1, refused: 0 });
    const lines = logs.requests();
    expect(lines.filter((l) => l.priority === 'batch' && l.status === 429)).toHaveLength(5);
    expect(lines.find((l) => l.priority === 'batch' && l.status === 429)).toMatchObject({
      tenant: 'nightly',
      errorCode: 'capacity_reserved',
      attempts: [{ route: 'oa/acct/r/m', outcome: 'reserved' }],
    });
    expect(lines.find((l) => l.priority === 'critical')).toMatchObject({ tenant: 'checkout', status: 200 });
  });
});
