/**
 * First contact for an operator while a provider fails: a 429 with Retry-After, 5xx and a
 * provider that hangs, behind a real gateway with a tenant. GET /metrics, /status.json and
 * the request log lines must tell the same story: which route, why, how many times, the
 * route's state and when it serves again. And /metrics says when the shared quota store
 * (a real redis-server) is away.
 */
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { systemClock } from '../../runtime/src/core/clock';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import type { StatusSnapshot } from '../../runtime/src/status/snapshot';
import { hashKey } from '../../runtime/src/tenants/auth';
import { send } from '../capacity/helpers';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { jsonOf, simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';
import { LOOPBACK_OPERATORS } from '../helpers/operators';
import { startRedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { LineCapture, parsePrometheus, valueOf, type Sample } from './capture';

const PRIMARY = 'primary/acct/r1/m';
const FALLBACK = 'fallback/acct/r1/m';
const CHAT = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };

async function metricsOf(url: string): Promise<Sample[]> {
  return parsePrometheus(await (await fetch(`${url}/metrics`)).text());
}

/** Model `chat`: a primary and a fallback fake, each one route; their request log lines go to `logs`. */
async function twoRoutes(logs: LineCapture, more: { timeouts: Record<string, number>; chunks?: number; tenants?: GatewayConfigInput['tenants'] }) {
  const [primary, fallback] = await Promise.all([startFakeOpenAI({ latencyMs: 1, chunks: more.chunks }), startFakeOpenAI({ latencyMs: 1, chunks: more.chunks })]);
  const account = (url: string) => [{ id: 'acct', endpoints: [{ region: 'r1', url }] }];
  const gw = await startGateway(
    {
      providers: [
        { id: 'primary', type: 'openai-compatible', accounts: account(primary.url) },
        { id: 'fallback', type: 'openai-compatible', accounts: account(fallback.url) },
      ],
      models: [
        {
          name: 'chat',
          targets: [
            { provider: 'primary', model: 'm' },
            { provider: 'fallback', model: 'm' },
          ],
          timeouts: more.timeouts,
        },
      ],
      ...(more.tenants ? { tenants: more.tenants } : {}),
      operators: LOOPBACK_OPERATORS,
    },
    'all-in-one',
    { probes: false, observability: { destination: logs } },
  );
  return { primary, fallback, gw };
}

describe('an operator reads /metrics, /status and the logs while providers fail', () => {
  let primary: FakeOpenAI;
  let fallback: FakeOpenAI;
  let gw: TestGateway;
  const logs = new LineCapture();

  beforeAll(async () => {
    ({ primary, fallback, gw } = await twoRoutes(logs, { timeouts: { firstByteMs: 300, completeMs: 400 }, tenants: [{ id: 'team', keys: [hashKey('key-team')] }] }));
  });
  afterAll(async () => {
    fallback.always = undefined;
    await gw?.close();
    await Promise.all([primary?.close(), fallback?.close()]);
  });

  it('tells which route failed, why, how often, its state and when it serves again', async () => {
    // A 429 with a Retry-After too long to wait: the fallback answers, the primary cools down for 30 s.
    primary.faults.push({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const before = Date.now();
    expect((await send(gw.url, 'key-team', CHAT)).status).toBe(200);
    // Then the fallback fails twice with a 500 (a same-route retry), and then hangs.
    fallback.faults.push({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    expect(await send(gw.url, 'key-team', CHAT)).toMatchObject({ status: 502, code: 'upstream_unavailable' });
    fallback.always = { kind: 'hang' };
    expect(await send(gw.url, 'key-team', CHAT)).toMatchObject({ status: 504, code: 'upstream_timeout' });

    const samples = await metricsOf(gw.url);
    const status = await jsonOf<StatusSnapshot>(await fetch(`${gw.url}/status.json`));
    const routes = Object.fromEntries(status.models[0].routes.map((r) => [r.route, r]));

    // Why and how many, per route.
    expect(valueOf(samples, 'gateway_attempts_total', { route: PRIMARY, outcome: 'throttled' })).toBe(1);
    expect(valueOf(samples, 'gateway_attempts_total', { route: PRIMARY, outcome: 'cooldown' })).toBe(2);
    expect(valueOf(samples, 'gateway_attempts_total', { route: FALLBACK, outcome: 'transient' })).toBe(2);
    expect(valueOf(samples, 'gateway_attempts_total', { route: FALLBACK, outcome: 'silent' })).toBe(1);
    expect(valueOf(samples, 'gateway_cooldowns_total', { route: PRIMARY, reason: 'throttled' })).toBe(1);
    expect(valueOf(samples, 'gateway_ejections_total', { route: FALLBACK })).toBe(1);
    expect(valueOf(samples, 'gateway_errors_total', { model: 'chat', code: 'upstream_unavailable' })).toBe(1);
    expect(valueOf(samples, 'gateway_errors_total', { model: 'chat', code: 'upstream_timeout' })).toBe(1);

    // State, and when each route serves again: the same instant on /metrics and /status.
    expect(valueOf(samples, 'gateway_route_state', { route: PRIMARY, state: 'cooldown' })).toBe(1);
    expect(valueOf(samples, 'gateway_route_state', { route: FALLBACK, state: 'ejected' })).toBe(1);
    expect(routes[PRIMARY]).toMatchObject({ state: 'cooldown' });
    expect(routes[FALLBACK].state).toBe('ejected');
    expect(routes[FALLBACK].lastFailure).toContain('silent: no answer within 400 ms');
    const cooldownEnds = valueOf(samples, 'gateway_route_reopens_timestamp_seconds', { route: PRIMARY })!;
    expect(cooldownEnds).toBe(Date.parse(routes[PRIMARY].until!) / 1000);
    expect(cooldownEnds * 1000).toBeGreaterThanOrEqual(before + 30_000);
    expect(cooldownEnds * 1000).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(valueOf(samples, 'gateway_route_reopens_timestamp_seconds', { route: FALLBACK })).toBe(Date.parse(routes[FALLBACK].until!) / 1000);
    expect(valueOf(samples, 'gateway_quota_store_degraded')).toBe(0);

    // The recent list says what was tried and what was passed over, and why.
    const texts = status.recent.map((e) => `${e.kind}: ${e.text}`);
    expect(texts).toEqual([
      `error: chat: answered 504 upstream_timeout after ${FALLBACK} (silent); passed over ${PRIMARY} (cooldown)`,
      `ejection: silent: no answer within 400 ms`,
      `error: chat: answered 502 upstream_unavailable after ${FALLBACK} (transient 500), ${FALLBACK} (transient 500); passed over ${PRIMARY} (cooldown)`,
      `failover: chat: ${PRIMARY} (throttled 429) → served by ${FALLBACK}`,
      'cooldown: throttled',
    ]);
    expect(status.recent.find((e) => e.kind === 'cooldown')).toMatchObject({ route: PRIMARY, until: routes[PRIMARY].until });

    // One log line per request: tenant, status, error code, the route that answered and every attempt.
    const lines = logs.requests().map((r) => ({
      tenant: r.tenant,
      status: r.status,
      errorCode: r.errorCode,
      route: r.route,
      attempts: (r.attempts as { route: string; outcome: string; status?: number; retryAfterMs?: number; retry?: boolean }[]).map(
        (a) => `${a.route} ${a.outcome}${a.status ? ` ${a.status}` : ''}${a.retry ? ' retry' : ''}`,
      ),
    }));
    expect(lines).toEqual([
      { tenant: 'team', status: 200, errorCode: undefined, route: FALLBACK, attempts: [`${PRIMARY} throttled 429`, `${FALLBACK} ok`] },
      { tenant: 'team', status: 502, errorCode: 'upstream_unavailable', route: undefined, attempts: [`${PRIMARY} cooldown`, `${FALLBACK} transient 500`, `${FALLBACK} transient 500 retry`] },
      { tenant: 'team', status: 504, errorCode: 'upstream_timeout', route: undefined, attempts: [`${PRIMARY} cooldown`, `${FALLBACK} silent`] },
    ]);
    expect((logs.requests()[0].attempts as { retryAfterMs?: number }[])[0].retryAfterMs).toBe(30_000);
  });
});

describe('an operator reads /metrics, /status and the logs while streams break', () => {
  let primary: FakeOpenAI;
  let fallback: FakeOpenAI;
  let gw: TestGateway;
  const logs = new LineCapture();

  beforeAll(async () => {
    ({ primary, fallback, gw } = await twoRoutes(logs, { timeouts: { idleMs: 300 }, chunks: 6 }));
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([primary?.close(), fallback?.close()]);
  });

  const stream = async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...CHAT, stream: true }) });
    return { status: res.status, body: await res.text() };
  };

  it('counts each break on the route it happened on, and a stream that could not be finished is a failure, not a failover', async () => {
    // The primary goes quiet after 2 chunks: continued on the fallback, the client gets one whole answer.
    primary.faults.push({ kind: 'stall', afterChunks: 2 });
    const whole = await stream();
    expect(whole.status).toBe(200);
    expect(whole.body).toContain('data: [DONE]');
    // Then the primary goes quiet again and the fallback cuts its continuation: no route is left to finish it.
    primary.faults.push({ kind: 'stall', afterChunks: 2 });
    fallback.faults.push({ kind: 'cut', afterChunks: 1 });
    const broken = await stream();
    expect(broken.status).toBe(200);
    expect(broken.body).toContain('"error"');

    const samples = await metricsOf(gw.url);
    expect(valueOf(samples, 'gateway_stream_breaks_total', { route: PRIMARY, outcome: 'silent' })).toBe(2);
    expect(valueOf(samples, 'gateway_stream_breaks_total', { route: FALLBACK, outcome: 'transient' })).toBe(1);
    expect(valueOf(samples, 'gateway_stream_continuations_total')).toBe(2);
    expect(valueOf(samples, 'gateway_errors_total', { model: 'chat', code: 'stream_interrupted' })).toBe(1);

    const status = await jsonOf<StatusSnapshot>(await fetch(`${gw.url}/status.json`));
    expect(status.totals).toMatchObject({ requests: 2, failed: 1, failovers: 1 });
    expect(status.recent.map((e) => `${e.kind}: ${e.text}`)).toEqual([
      `error: chat: stream started on ${PRIMARY} ended early (stream_interrupted) after 1 continuation`,
      `failover: chat: ${PRIMARY} (silent mid-stream) → served by ${FALLBACK}`,
    ]);
    // The log lines name every break's route and how it failed, beside the attempts that started the streams.
    const lines = logs
      .requests()
      .map((r) => [r.level, r.status, r.errorCode, r.route, r.continuations, (r.breaks as { route: string; outcome: string }[]).map((b) => `${b.route} ${b.outcome}`)]);
    expect(lines).toEqual([
      ['info', 200, undefined, FALLBACK, 1, [`${PRIMARY} silent`]],
      ['warn', 200, 'stream_interrupted', PRIMARY, 1, [`${PRIMARY} silent`, `${FALLBACK} transient`]],
    ]);
  });
});

describe('/metrics while the shared quota store is away', () => {
  it('says gateway_quota_store_degraded 1 until Redis answers again', async () => {
    const redis = await startRedisServer();
    const doc: GatewayConfigInput = { ...simulatedConfig(), state: { redis: redis.url } };
    const quota = createQuotaStore(parseConfig(doc), systemClock, { commandTimeoutMs: 2000, startupWaitMs: 5000 });
    const gw = await startGateway(doc, 'all-in-one', { probes: false, quota });
    const degraded = async (want: number) => {
      const seen = await until(async () => valueOf(await metricsOf(gw.url), 'gateway_quota_store_degraded') === want, 5000);
      expect(seen ? want : `never ${want}`).toBe(want);
    };
    try {
      await degraded(0);
      await redis.kill();
      await degraded(1);
      await redis.restart();
      await degraded(0);
    } finally {
      await gw.close();
      await redis.close();
    }
  });
});
