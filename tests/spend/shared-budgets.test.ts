/**
 * Budgets across two gateway instances sharing a real redis-server: 32 concurrent requests
 * split across both stop within the documented bound (at most the cap when every answer
 * costs no more than it held; beyond it by at most what the admitted requests cost over
 * their holds when the prompt was underestimated). Redis unreachable: each instance admits
 * within its share of what was left, and its spend reaches Redis when Redis is back, even
 * a Redis that lost its data.
 */
import { Redis } from 'ioredis';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { systemClock } from '../../runtime/src/core/clock';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import { estimatePromptTokens } from '../../runtime/src/quota/token-estimate';
import { hashKey } from '../../runtime/src/tenants/auth';
import { send, type Outcome } from '../capacity/helpers';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';
import { LOOPBACK_OPERATORS } from '../helpers/operators';
import { reporting, usage } from './helpers';

/** One cent a token, in and out. */
const PRICE = { inputPerMTok: 10_000, outputPerMTok: 10_000 };
const BODY = { model: 'chat', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 100 };
const WORST = (estimatePromptTokens({ model: 'chat', messages: BODY.messages }) + 100) * 0.01;
const CAP = 10;

describe('budgets shared by two instances through Redis', () => {
  let redis: RedisServer;
  let upstream: FakeOpenAI;
  let gws: TestGateway[] = [];
  let admin: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    upstream = await startFakeOpenAI({ latencyMs: 5 });
  });
  afterAll(async () => {
    await upstream.close();
    await redis.close();
  });
  beforeEach(async () => {
    admin = new Redis(redis.url);
    await admin.flushall();
  });
  afterEach(async () => {
    await Promise.all(gws.map((g) => g.close()));
    gws = [];
    admin.disconnect();
  });

  /** Two instances; `commandTimeoutMs` long enough that a loaded machine does not push them into their local fallback. */
  async function instances(commandTimeoutMs = 5_000, logs: LineCapture[] = []) {
    const config: GatewayConfigInput = {
      providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r', url: upstream.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm', price: PRICE }] }],
      tenants: [
        { id: 'team', keys: [hashKey('key-team')], budget: { usdPerDay: CAP, alertAt: [0.25, 0.5] } },
        // No budget: its spend is added to Redis in batches.
        { id: 'free', keys: [hashKey('key-free')] },
      ],
      operators: LOOPBACK_OPERATORS,
      state: { redis: redis.url },
    };
    const one = (destination?: LineCapture) =>
      startGateway(config, 'all-in-one', {
        probes: false,
        quota: createQuotaStore(parseConfig(config), systemClock, { commandTimeoutMs, heartbeatMs: 200 }),
        ...(destination ? { observability: { destination } } : {}),
      });
    gws = [await one(logs[0]), await one(logs[1])];
    // Each instance knows the other (the share while Redis is away).
    await until(() => gws.every((g) => g.gateway.quota.health?.().instances === 2), 5_000);
  }

  const today = () => new Date().toISOString().slice(0, 10);
  /** The day's spend in Redis, USD. */
  const sharedSpend = async (tenant = 'team') => Number((await admin.hget(`aigw:spend:{${tenant}}:d:${today()}`, 'spent')) ?? 0) / 1e9;
  type StatusDoc = { spend: { tenant: string; today: { usd: number }; month: { usd: number }; inFlightUsd: number }[]; spendSource: string };
  const statusDoc = async (gw: TestGateway) => (await (await fetch(`${gw.url}/status.json`)).json()) as StatusDoc;
  /** A tenant's line of an instance's /status. */
  const statusOf = async (gw: TestGateway, tenant = 'team') => (await statusDoc(gw)).spend.find((s) => s.tenant === tenant);
  const burst = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => send(gws[i % 2].url, 'key-team', BODY)));
  const oneByOne = async (n: number, gw = (i: number) => gws[i % 2]) => {
    const out: Outcome[] = [];
    for (let i = 0; i < n; i++) out.push(await send(gw(i).url, 'key-team', BODY));
    return out;
  };
  const ok = (o: Outcome[]) => o.filter((x) => x.status === 200).length;

  it('32 concurrent requests on two instances never take more than the cap when answers cost what they held or less', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion; // 55 cents, 1.05 held
    await instances();
    const first = await burst(32);
    expect(ok(first)).toBeGreaterThanOrEqual(Math.floor(CAP / WORST));
    for (const o of first.filter((x) => x.status !== 200)) expect(o).toMatchObject({ status: 429, code: 'budget_exceeded' });
    const rest = await oneByOne(16);
    const admitted = ok(first) + ok(rest);
    expect(await sharedSpend()).toBeCloseTo(admitted * 0.55, 9);
    expect(await sharedSpend()).toBeLessThanOrEqual(CAP);
    // Nothing more fits: spent, not held, so until the day ends.
    const last = rest.at(-1)!;
    expect(last).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(Number(last.retryAfter)).toBeGreaterThan(1);
    expect(await sharedSpend()).toBeGreaterThan(CAP - WORST);
  });

  it('overspends by at most what the admitted requests cost beyond their holds', async () => {
    // The prompt is underestimated: each answer costs 1.20, 0.15 more than it held.
    upstream.options.editCompletion = reporting(usage(20, 100)).editCompletion;
    await instances();
    const first = await burst(32);
    const admitted = ok(first);
    expect(admitted * WORST).toBeLessThanOrEqual(CAP);
    expect(await sharedSpend()).toBeCloseTo(admitted * 1.2, 9);
    const more = await oneByOne(8);
    const spent = await sharedSpend();
    expect(spent).toBeCloseTo((admitted + ok(more)) * 1.2, 9);
    // The documented bound: holds keep at most floor(cap / worst) requests in flight at once,
    // and each can cost at most what it used beyond its hold.
    expect(spent).toBeLessThanOrEqual(CAP + Math.floor(CAP / WORST) * (1.2 - WORST) + 1e-9);
    expect(more.at(-1)).toMatchObject({ status: 429, code: 'budget_exceeded' });
  });

  it('alerts once per threshold across both instances', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    const logs = [new LineCapture(), new LineCapture()];
    await instances(5_000, logs);
    // 55 cents each: 25% of 10 after 5 requests, 50% after 10; both instances cross them.
    await burst(8);
    await oneByOne(6);
    const alerts = () => logs.flatMap((l) => l.records().filter((r) => r.msg === 'tenant budget alert'));
    expect(await until(() => alerts().length >= 2)).toBe(true);
    expect(
      alerts()
        .map((a) => a.threshold)
        .sort(),
    ).toEqual([0.25, 0.5]);
    // Each once, by whichever instance settled the crossing.
    expect(alerts().every((a) => a.period === 'day' && a.capUsd === CAP)).toBe(true);
  });

  it('Redis paused: each instance admits within its share of what was left, and adds its spend when Redis answers again', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances(300);
    expect(ok(await oneByOne(2, () => gws[0]))).toBe(2);
    // 1.10 in Redis (settled after the answers) before Redis goes.
    expect(await until(async () => Math.abs((await sharedSpend()) - 1.1) < 1e-9)).toBe(true);
    redis.pause();
    try {
      // Instance 0 alone: its share is (10 - 1.10) / 2 = 4.45, so 1.05 held fits while it has spent <= 3.40 here.
      const alone = await oneByOne(10, () => gws[0]);
      expect(ok(alone)).toBe(7);
      expect(alone[7]).toMatchObject({ status: 429, code: 'budget_exceeded', retryAfter: '1' });
      expect(alone[7].message).toMatch(/this gateway instance's share of its \$10\.00 budget .* while the shared budget store is unreachable/);
      expect((await healthOf(gws[0].url)).quota.degraded).toBe(true);
    } finally {
      redis.resume();
    }
    expect(await until(async () => (await sharedSpend()) > 1.1 + 1e-9, 10_000)).toBe(true);
    expect(await sharedSpend()).toBeCloseTo(9 * 0.55, 9);
  });

  it('a Redis that lost its data gets each instance’s spend again', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances(300);
    expect(ok(await oneByOne(4))).toBe(4); // two on each instance
    await until(async () => (await sharedSpend()) >= 4 * 0.55 - 1e-9);
    await redis.kill();
    await redis.restart();
    admin.disconnect();
    admin = new Redis(redis.url);
    // Both instances add what they had added, once Redis answers again and they have something to do.
    expect(await until(async () => (await healthOf(gws[0].url)).status === 'ok' && (await healthOf(gws[1].url)).status === 'ok', 10_000)).toBe(true);
    expect(ok(await oneByOne(2))).toBe(2);
    expect(await until(async () => Math.abs((await sharedSpend()) - 6 * 0.55) < 1e-9, 10_000)).toBe(true);
  });

  it('/status shows nothing in flight once the requests have settled, on both instances', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances();
    expect(ok(await oneByOne(4))).toBe(4);
    expect(await until(async () => Math.abs((await sharedSpend()) - 4 * 0.55) < 1e-9)).toBe(true);
    // Settled just after each answer went out.
    expect(await until(async () => (await statusOf(gws[0]))?.inFlightUsd === 0 && (await statusOf(gws[1]))?.inFlightUsd === 0)).toBe(true);
    // Each instance shows every instance's spend, read from Redis for the snapshot.
    for (const gw of gws) {
      const doc = await statusDoc(gw);
      expect(doc.spendSource).toBe('redis');
      const team = doc.spend.find((s) => s.tenant === 'team');
      expect(team?.today.usd).toBeCloseTo(4 * 0.55, 9);
      expect(team?.month.usd).toBeCloseTo(4 * 0.55, 9);
    }
  });

  it('/status on one instance shows what another spent and holds', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances();
    // Instance 0 alone serves both tenants: instance 1 has never seen either.
    expect((await send(gws[0].url, 'key-team', BODY)).status).toBe(200);
    expect((await send(gws[0].url, 'key-free', BODY)).status).toBe(200);
    // The tenant without a budget reaches Redis with the next batch (within a second or so).
    expect(await until(async () => Math.abs((await sharedSpend('free')) - 0.55) < 1e-9, 5_000)).toBe(true);
    const other = await statusDoc(gws[1]);
    expect(other.spendSource).toBe('redis');
    expect(other.spend.find((s) => s.tenant === 'team')?.today.usd).toBeCloseTo(0.55, 9);
    expect(other.spend.find((s) => s.tenant === 'free')?.today.usd).toBeCloseTo(0.55, 9);
    // A request in flight on instance 0 holds its worst case in Redis: instance 1 shows it.
    upstream.options.latencyMs = 1_000;
    const pending = send(gws[0].url, 'key-team', BODY);
    try {
      expect(await until(async () => Number(await admin.hget('aigw:spend:{team}:hh', 'sum')) > 0)).toBe(true);
      // A page's snapshot may reuse a read up to half a second old.
      expect(await until(async () => Math.abs(((await statusOf(gws[1]))?.inFlightUsd ?? 0) - WORST) < 1e-8)).toBe(true);
    } finally {
      upstream.options.latencyMs = 0;
    }
    expect((await pending).status).toBe(200);
    expect(await until(async () => (await statusOf(gws[1]))?.inFlightUsd === 0)).toBe(true);
    expect((await statusOf(gws[1]))?.today.usd).toBeCloseTo(1.1, 9);
  });

  it('/status reads the shared totals at most twice a second, however many snapshots are asked', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances();
    expect((await send(gws[0].url, 'key-team', BODY)).status).toBe(200);
    await admin.config('RESETSTAT');
    const started = Date.now();
    const docs: StatusDoc[] = [];
    for (let i = 0; i < 10; i++) docs.push(await statusDoc(gws[1]));
    docs.push(...(await Promise.all(Array.from({ length: 10 }, () => statusDoc(gws[1])))));
    const elapsed = Date.now() - started;
    // Each read of the totals asks Redis for each tenant's expired holds once.
    const calls = Number(/cmdstat_zrangebyscore:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const reads = calls / 2;
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(Math.floor(elapsed / 500) + 1);
    expect(reads).toBeLessThan(docs.length);
    for (const doc of docs) {
      expect(doc.spendSource).toBe('redis');
      expect(doc.spend.find((s) => s.tenant === 'team')?.today.usd).toBeCloseTo(0.55, 9);
    }
  });

  it('/status says it shows what it last saw while Redis does not answer', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances(300);
    expect((await send(gws[0].url, 'key-team', BODY)).status).toBe(200);
    expect(await until(async () => Math.abs(((await statusOf(gws[1]))?.today.usd ?? 0) - 0.55) < 1e-9)).toBe(true);
    redis.pause();
    try {
      expect(await until(async () => (await healthOf(gws[1].url)).quota.degraded === true, 5_000)).toBe(true);
      const doc = await statusDoc(gws[1]);
      expect(doc.spendSource).toBe('last-seen');
      expect(doc.spend.find((s) => s.tenant === 'team')?.today.usd).toBeCloseTo(0.55, 9);
    } finally {
      redis.resume();
    }
    expect(await until(async () => (await statusDoc(gws[1])).spendSource === 'redis', 10_000)).toBe(true);
  });

  it('a request settled while Redis was away frees its hold when its spend reaches Redis, so the budget it held is usable again', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances(300);
    // 7.50 spent: after one more answer (0.55), 8.05; a request needs 1.05 of the 1.95 left, which a stale hold (1.05) would take.
    await admin.hset(`aigw:spend:{team}:d:${today()}`, 'spent', 7.5e9);
    upstream.options.latencyMs = 1_500;
    const pending = send(gws[0].url, 'key-team', BODY);
    // Held in Redis; Redis goes before the answer comes, so the answer is counted on this instance.
    expect(await until(async () => Number(await admin.hget('aigw:spend:{team}:hh', 'sum')) > 0)).toBe(true);
    redis.pause();
    try {
      expect(await until(async () => (await healthOf(gws[0].url)).quota.degraded === true, 5_000)).toBe(true);
      expect((await pending).status).toBe(200);
    } finally {
      upstream.options.latencyMs = 0;
      redis.resume();
    }
    expect(await until(async () => Math.abs((await sharedSpend()) - 8.05) < 1e-9, 10_000)).toBe(true);
    expect(await until(async () => Number(await admin.hget('aigw:spend:{team}:hh', 'sum')) === 0, 5_000)).toBe(true);
    expect(await send(gws[0].url, 'key-team', BODY)).toMatchObject({ status: 200 });
    expect(await until(async () => (await statusOf(gws[0]))?.inFlightUsd === 0)).toBe(true);
  });

  it('a settle that Redis runs after its deadline is not added again by the flush that follows', async () => {
    const answer = reporting(usage(5, 50)).editCompletion!;
    upstream.options.editCompletion = answer;
    await instances(300);
    // One settled as usual first: Redis has the settle script (else the late one would meet NOSCRIPT and not run).
    expect((await send(gws[0].url, 'key-team', BODY)).status).toBe(200);
    expect(await until(async () => Math.abs((await sharedSpend()) - 0.55) < 1e-9)).toBe(true);
    // As the upstream answers, Redis pauses writes for 1.5 s: the settle that follows the
    // answer is sent, waits past its 300 ms deadline (the instance counts it as unsettled),
    // and runs when the pause ends.
    upstream.options.editCompletion = (completion) => {
      upstream.options.editCompletion = answer;
      void admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');
      return answer(completion);
    };
    expect((await send(gws[0].url, 'key-team', BODY)).status).toBe(200);
    expect(await until(async () => Math.abs((await sharedSpend()) - 1.1) < 1e-9, 10_000)).toBe(true);
    expect(await until(async () => (await healthOf(gws[0].url)).quota.degraded === false, 10_000)).toBe(true);
    // Flushes come a second apart once Redis answers: give two of them the time to (wrongly) add it again.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await sharedSpend()).toBeCloseTo(1.1, 9);
    expect(Number(await admin.hget('aigw:spend:{team}:hh', 'sum'))).toBe(0);
    expect((await statusOf(gws[0]))?.today.usd).toBeCloseTo(1.1, 9);
    expect((await statusOf(gws[1]))?.today.usd).toBeCloseTo(1.1, 9);
  });

  it('a batch of spend that Redis runs after its deadline is not added again by the next flush', async () => {
    const answer = reporting(usage(5, 50)).editCompletion!;
    upstream.options.editCompletion = answer;
    await instances(300);
    // The tenant without a budget: its spend goes to Redis in a batch a second after the answer.
    expect((await send(gws[0].url, 'key-free', BODY)).status).toBe(200);
    expect(await until(async () => Math.abs((await sharedSpend('free')) - 0.55) < 1e-9)).toBe(true);
    // Writes pause from 0.9 s after the next answer for 1.2 s: its batch, sent about 1 s after
    // the answer, misses its 300 ms deadline and runs when the pause ends.
    upstream.options.editCompletion = (completion) => {
      upstream.options.editCompletion = answer;
      setTimeout(() => void admin.call('CLIENT', 'PAUSE', '1200', 'WRITE'), 900);
      return answer(completion);
    };
    expect((await send(gws[0].url, 'key-free', BODY)).status).toBe(200);
    // One more answer while that batch waits to be sent again: its spend is a batch of its own.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await send(gws[0].url, 'key-free', BODY)).status).toBe(200);
    expect(await until(async () => Math.abs((await sharedSpend('free')) - 1.65) < 1e-9, 10_000)).toBe(true);
    expect(await until(async () => (await healthOf(gws[0].url)).quota.degraded === false, 10_000)).toBe(true);
    // The batch is retried a second after Redis answers again: give it the time to (wrongly) add it twice.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await sharedSpend('free')).toBeCloseTo(1.65, 9);
    expect((await statusOf(gws[0], 'free'))?.today.usd).toBeCloseTo(1.65, 9);
  });

  it('spend on its way to Redis still counts on /status while Redis takes its time', async () => {
    upstream.options.editCompletion = reporting(usage(5, 50)).editCompletion;
    await instances();
    expect((await send(gws[0].url, 'key-free', BODY)).status).toBe(200);
    expect((await statusOf(gws[0], 'free'))?.today.usd).toBeCloseTo(0.55, 9);
    // Writes wait for 2.5 s: the batch added a second after the answer is on its way the whole time.
    await admin.call('CLIENT', 'PAUSE', '2500', 'WRITE');
    const seen: number[] = [];
    const until2s = Date.now() + 2_000;
    while (Date.now() < until2s) {
      seen.push((await statusOf(gws[0], 'free'))!.today.usd);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await until(async () => Math.abs((await sharedSpend('free')) - 0.55) < 1e-9, 5_000)).toBe(true);
    // Each snapshot waits for Redis at most a second (its reads queue behind the paused write), then shows what it has.
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const usd of seen) expect(usd).toBeCloseTo(0.55, 9);
    expect((await statusOf(gws[0], 'free'))?.today.usd).toBeCloseTo(0.55, 9);
  });
});
