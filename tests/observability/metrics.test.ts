/**
 * GET /metrics after known traffic through fake OpenAI-compatible providers: the exact
 * counts an operator would graph (requests, errors by code, attempts by outcome,
 * failovers, cooldowns, ejections, tokens, latency histograms) and the route gauges.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { LineCapture, parsePrometheus, sumOf, valueOf, type Sample } from './capture';

const GOOD = 'good/a1/local/m';
const FLAKY = 'flaky/a1/local/m';
const LIMITED = 'limited/a1/local/m';
const chat = (model: string, content = 'hi') => ({ model, messages: [{ role: 'user' as const, content }] });

function provider(id: string, fake: FakeOpenAI, limits: Record<string, { rpm?: number }> = {}) {
  return { id, type: 'openai-compatible' as const, accounts: [{ id: 'a1', limits, endpoints: [{ region: 'local', url: fake.url }] }] };
}

async function scrape(tg: TestGateway): Promise<{ samples: Sample[]; contentType: string | null; text: string }> {
  const res = await fetch(`${tg.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { samples: parsePrometheus(text), contentType: res.headers.get('content-type'), text };
}

describe('GET /metrics after known traffic (all-in-one)', () => {
  let good: FakeOpenAI;
  let flaky: FakeOpenAI;
  let limited: FakeOpenAI;
  let tg: TestGateway;
  let samples: Sample[];
  let contentType: string | null;
  const tokens = { chatIn: 0, chatOut: 0, failoverIn: 0, failoverOut: 0 };

  beforeAll(async () => {
    [good, flaky, limited] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
    const config: GatewayConfigInput = {
      providers: [provider('good', good, { '*': { rpm: 100 } }), provider('flaky', flaky), provider('limited', limited)],
      models: [
        { name: 'chat', targets: [{ provider: 'good', model: 'm' }] },
        {
          name: 'failover',
          targets: [
            { provider: 'flaky', model: 'm' },
            { provider: 'good', model: 'm' },
          ],
        },
        { name: 'limited', targets: [{ provider: 'limited', model: 'm' }] },
      ],
    };
    tg = await startGateway(config, 'all-in-one', { probes: false, observability: { destination: new LineCapture() } });

    // 3 OK requests on `chat`: two answers, one stream.
    for (let i = 0; i < 2; i++) {
      const c = await tg.client.chat.completions.create(chat('chat'));
      tokens.chatIn += c.usage!.prompt_tokens;
      tokens.chatOut += c.usage!.completion_tokens;
    }
    const stream = await tg.client.chat.completions.create({ ...chat('chat'), stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      if (chunk.usage) {
        tokens.chatIn += chunk.usage.prompt_tokens;
        tokens.chatOut += chunk.usage.completion_tokens;
      }
    }
    // 1 failover: the first target answers 500 twice (its only route is retried once), the fallback serves.
    flaky.faults.push({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const f = await tg.client.chat.completions.create(chat('failover'));
    tokens.failoverIn += f.usage!.prompt_tokens;
    tokens.failoverOut += f.usage!.completion_tokens;
    // 1 unknown model.
    expect((await postJson(`${tg.url}/v1/chat/completions`, chat('no-such-model'))).status).toBe(404);
    // 1 upstream 429 with a long Retry-After: the only route cools down, the client is told.
    limited.faults.push({ kind: 'status', status: 429, code: 'rate_limit_exceeded', headers: { 'retry-after': '60' } });
    expect((await postJson(`${tg.url}/v1/chat/completions`, chat('limited'))).status).toBe(503);

    ({ samples, contentType } = await scrape(tg));
  });

  afterAll(async () => {
    await tg?.close();
    await Promise.all([good, flaky, limited].map((f) => f?.close()));
  });

  it('is Prometheus text with the registry content type, process metrics included', () => {
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    // CPU time since the registry began, counted in clock ticks: present, possibly still 0.
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts requests by model, status and role; unknown models share one label', () => {
    const role = 'all-in-one';
    expect(valueOf(samples, 'gateway_requests_total', { model: 'chat', status: '200', role })).toBe(3);
    expect(valueOf(samples, 'gateway_requests_total', { model: 'failover', status: '200', role })).toBe(1);
    expect(valueOf(samples, 'gateway_requests_total', { model: 'unknown', status: '404', role })).toBe(1);
    expect(valueOf(samples, 'gateway_requests_total', { model: 'limited', status: '503', role })).toBe(1);
    expect(sumOf(samples, 'gateway_requests_total')).toBe(6);
    expect(samples.some((s) => s.labels.model === 'no-such-model')).toBe(false);
  });

  it('counts errors by code', () => {
    expect(valueOf(samples, 'gateway_errors_total', { model: 'unknown', code: 'model_not_found' })).toBe(1);
    expect(valueOf(samples, 'gateway_errors_total', { model: 'limited', code: 'upstream_quota_exhausted' })).toBe(1);
    expect(sumOf(samples, 'gateway_errors_total')).toBe(2);
  });

  it('counts attempts per route and outcome, and the failover', () => {
    expect(valueOf(samples, 'gateway_attempts_total', { route: GOOD, outcome: 'ok' })).toBe(4);
    expect(valueOf(samples, 'gateway_attempts_total', { route: FLAKY, outcome: 'transient' })).toBe(2);
    expect(valueOf(samples, 'gateway_attempts_total', { route: LIMITED, outcome: 'throttled' })).toBe(1);
    expect(sumOf(samples, 'gateway_attempts_total')).toBe(7);
    expect(valueOf(samples, 'gateway_failovers_total', { model: 'failover' })).toBe(1);
    expect(sumOf(samples, 'gateway_failovers_total')).toBe(1);
    expect(valueOf(samples, 'gateway_stream_continuations_total')).toBe(0);
  });

  it('counts the cooldown and shows the route in cooldown, the others healthy, with quota headroom', () => {
    expect(valueOf(samples, 'gateway_cooldowns_total', { route: LIMITED, reason: 'throttled' })).toBe(1);
    expect(sumOf(samples, 'gateway_ejections_total')).toBe(0);
    expect(valueOf(samples, 'gateway_route_state', { route: LIMITED, state: 'cooldown' })).toBe(1);
    expect(valueOf(samples, 'gateway_route_state', { route: LIMITED, state: 'healthy' })).toBe(0);
    expect(valueOf(samples, 'gateway_route_state', { route: GOOD, state: 'healthy' })).toBe(1);
    expect(valueOf(samples, 'gateway_route_state', { route: FLAKY, state: 'healthy' })).toBe(1);
    expect(sumOf(samples, 'gateway_route_state')).toBe(3);
    // 4 of 100 requests per minute used on the good account.
    expect(valueOf(samples, 'gateway_quota_headroom_ratio', { route: GOOD })).toBeCloseTo(0.96, 3);
    expect(valueOf(samples, 'gateway_quota_headroom_ratio', { route: FLAKY })).toBe(1);
  });

  it('counts tokens in and out as the providers reported them', () => {
    expect(tokens.chatIn).toBeGreaterThan(0);
    expect(valueOf(samples, 'gateway_tokens_total', { model: 'chat', direction: 'in' })).toBe(tokens.chatIn);
    expect(valueOf(samples, 'gateway_tokens_total', { model: 'chat', direction: 'out' })).toBe(tokens.chatOut);
    expect(valueOf(samples, 'gateway_tokens_total', { model: 'failover', direction: 'in' })).toBe(tokens.failoverIn);
    expect(valueOf(samples, 'gateway_tokens_total', { model: 'failover', direction: 'out' })).toBe(tokens.failoverOut);
  });

  it('observes durations per model and stream, and time to first token for the stream', () => {
    const count = (model: string, stream: string) => valueOf(samples, 'gateway_request_duration_seconds_count', { model, stream });
    expect(count('chat', 'false')).toBe(2);
    expect(count('chat', 'true')).toBe(1);
    expect(count('failover', 'false')).toBe(1);
    expect(count('unknown', 'false')).toBe(1);
    expect(count('limited', 'false')).toBe(1);
    expect(valueOf(samples, 'gateway_time_to_first_token_seconds_count', { model: 'chat' })).toBe(1);
    expect(valueOf(samples, 'gateway_time_to_first_token_seconds_bucket', { model: 'chat', le: '+Inf' })).toBe(1);
    expect(sumOf(samples, 'gateway_time_to_first_token_seconds_count')).toBe(1);
  });

  it('is counted per gateway: a second gateway in the same process starts from zero', async () => {
    const other = await startGateway({ providers: [provider('good', good)], models: [{ name: 'chat', targets: [{ provider: 'good', model: 'm' }] }] }, 'all-in-one', {
      probes: false,
      observability: { destination: new LineCapture() },
    });
    try {
      const before = await scrape(other);
      expect(sumOf(before.samples, 'gateway_requests_total')).toBe(0);
      await other.client.chat.completions.create(chat('chat'));
      const after = await scrape(other);
      expect(valueOf(after.samples, 'gateway_requests_total', { model: 'chat', status: '200', role: 'all-in-one' })).toBe(1);
      // The first gateway's counts are untouched.
      expect(valueOf((await scrape(tg)).samples, 'gateway_requests_total', { model: 'chat', status: '200', role: 'all-in-one' })).toBe(3);
    } finally {
      await other.close();
    }
  });
});

describe('ejections', () => {
  it('counts the ejection of a route that keeps failing and shows it ejected', async () => {
    const [broken, good] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
    broken.always = { kind: 'status', status: 500 };
    const logs = new LineCapture();
    const tg = await startGateway(
      {
        providers: [provider('broken', broken), provider('good', good)],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'broken', model: 'm' },
              { provider: 'good', model: 'm' },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
    try {
      // The circuit opens after three consecutive failures: the first request's (and its one
      // retry of the only route), the second's; both fail over, the third passes the route over.
      for (let i = 0; i < 3; i++) await tg.client.chat.completions.create(chat('chat'));
      const { samples } = await scrape(tg);
      expect(valueOf(samples, 'gateway_ejections_total', { route: 'broken/a1/local/m' })).toBe(1);
      expect(valueOf(samples, 'gateway_route_state', { route: 'broken/a1/local/m', state: 'ejected' })).toBe(1);
      expect(valueOf(samples, 'gateway_failovers_total', { model: 'chat' })).toBe(2);
      expect(valueOf(samples, 'gateway_attempts_total', { route: 'broken/a1/local/m', outcome: 'transient' })).toBe(3);
      expect(valueOf(samples, 'gateway_attempts_total', { route: 'broken/a1/local/m', outcome: 'ejected' })).toBe(1);
      // The operator's log has the ejection as a warning.
      const warn = logs.records().filter((r) => r.msg === 'route ejected');
      expect(warn).toHaveLength(1);
      expect(warn[0]).toMatchObject({ level: 'warn', route: 'broken/a1/local/m' });
      expect(String(warn[0].reason)).toMatch(/^transient/);
    } finally {
      await tg.close();
      await Promise.all([broken.close(), good.close()]);
    }
  });
});

describe('one vocabulary in every role', () => {
  it('a spoke answers an upstream 429 with 429 and a proxy in front counts the same metrics under its role', async () => {
    const fake = await startFakeOpenAI();
    const spokeDoc: GatewayConfigInput = {
      providers: [provider('p', fake)],
      models: [
        { name: 'chat', targets: [{ provider: 'p', model: 'm' }] },
        { name: 'busy', targets: [{ provider: 'p', model: 'busy' }] },
      ],
    };
    const spoke = await startGateway(spokeDoc, 'spoke', { probes: false, observability: { destination: new LineCapture() } });
    const proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] }, 'proxy', {
      probes: false,
      observability: { destination: new LineCapture() },
    });
    try {
      await proxy.client.chat.completions.create(chat('chat'));
      fake.faults.push({ kind: 'status', status: 429, code: 'rate_limit_exceeded', headers: { 'retry-after': '60' } });
      expect((await postJson(`${spoke.url}/v1/chat/completions`, chat('busy'))).status).toBe(429);

      const spokeScrape = await scrape(spoke);
      const proxyScrape = await scrape(proxy);
      const s = spokeScrape.samples;
      const p = proxyScrape.samples;
      expect(valueOf(s, 'gateway_requests_total', { model: 'chat', status: '200', role: 'spoke' })).toBe(1);
      expect(valueOf(s, 'gateway_requests_total', { model: 'busy', status: '429', role: 'spoke' })).toBe(1);
      expect(valueOf(s, 'gateway_errors_total', { model: 'busy', code: 'upstream_quota_exhausted' })).toBe(1);
      expect(valueOf(s, 'gateway_cooldowns_total', { route: 'p/a1/local/busy', reason: 'throttled' })).toBe(1);
      expect(valueOf(p, 'gateway_requests_total', { model: 'chat', status: '200', role: 'proxy' })).toBe(1);
      expect(sumOf(p, 'gateway_attempts_total', { outcome: 'ok' })).toBe(1);
      // The same metric families on both sides.
      const families = (text: string) => [...text.matchAll(/^# TYPE (gateway_\w+) (\w+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
      expect(families(proxyScrape.text)).toHaveLength(26);
      expect(families(proxyScrape.text)).toEqual(families(spokeScrape.text));
    } finally {
      await proxy.close();
      await spoke.close();
      await fake.close();
    }
  });
});
