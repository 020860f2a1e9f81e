/**
 * A hedged stream as an operator sees it: counted in /metrics (by result), on the request's
 * log line (the hedge attempt marked, the cancelled one too), in /status.json's totals,
 * and the learnt timeouts and hedge delays as gauges and on /status.json with the live
 * failover settings.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import type { StatusSnapshot } from '../../runtime/src/status/snapshot';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture, parsePrometheus, valueOf } from './capture';

const SLOW = 'slow/a1/local/m';
const FAST = 'fast/a1/local/m';

describe('a hedged stream, observed', () => {
  let slow: FakeOpenAI;
  let fast: FakeOpenAI;
  let gw: TestGateway;
  const logs = new LineCapture();

  beforeAll(async () => {
    // The primary's first chunk would come after 3 s; the hedge starts after 100 ms (cold delay).
    [slow, fast] = await Promise.all([startFakeOpenAI({ latencyMs: 3000 }), startFakeOpenAI()]);
    const provider = (id: string, fake: FakeOpenAI) => ({ id, type: 'openai-compatible' as const, accounts: [{ id: 'a1', endpoints: [{ region: 'local', url: fake.url }] }] });
    const config: GatewayConfigInput = {
      providers: [provider('slow', slow), provider('fast', fast)],
      failover: { hedging: { coldDelayMs: 100 } },
      models: [
        {
          name: 'chat',
          targets: [
            { provider: 'slow', model: 'm' },
            { provider: 'fast', model: 'm' },
          ],
        },
      ],
    };
    gw = await startGateway(config, 'all-in-one', { probes: false, observability: { destination: logs } });
    const started = Date.now();
    const stream = await gw.client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(2500); // not the slow route's 3 s
  });
  afterAll(async () => {
    await gw?.close();
    await Promise.all([slow?.close(), fast?.close()]);
  });

  it('is counted in /metrics by result, and each route shows its first-chunk timeout and hedge delay', async () => {
    const samples = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(valueOf(samples, 'gateway_hedges_total', { model: 'chat', result: 'won' })).toBe(1);
    expect(valueOf(samples, 'gateway_first_chunk_timeout_seconds', { route: SLOW })).toBe(20);
    expect(valueOf(samples, 'gateway_hedge_delay_seconds', { route: SLOW })).toBe(0.1);
  });

  it('is on the log line: the hedge won, the slow attempt cancelled', async () => {
    expect(await until(() => logs.requests().length > 0)).toBe(true);
    const line = logs.requests()[0];
    expect(line).toMatchObject({ status: 200, route: FAST, hedge: 'won' });
    expect(line.attempts).toEqual(
      expect.arrayContaining([expect.objectContaining({ route: SLOW, outcome: 'cancelled' }), expect.objectContaining({ route: FAST, outcome: 'ok', hedge: true })]),
    );
    // The slow upstream call was closed at once, not left to run.
    expect(await until(() => slow.inFlight() === 0)).toBe(true);
  });

  it('is in /status.json with the live failover settings and the learnt timings', async () => {
    const snapshot = (await (await fetch(`${gw.url}/status.json`)).json()) as StatusSnapshot;
    expect(snapshot.totals).toMatchObject({ hedges: 1, hedgesWon: 1 });
    const chat = snapshot.models.find((m) => m.name === 'chat')!;
    expect(chat.failover).toEqual({
      sameRouteRetry: true,
      maxRetryAfterMs: 5000,
      adaptive: { enabled: true, percentile: 0.99, multiplier: 3, minMs: 1000, minSamples: 20, wholeAnswers: false },
      hedging: { share: 0.05, percentile: 0.95, minDelayMs: 50, coldDelayMs: 100 },
    });
    expect(chat.timeouts).toEqual({ connectMs: 3000, firstByteMs: 20_000, idleMs: 20_000, completeMs: 90_000 });
    const fast = chat.routes.find((r) => r.route === FAST)!;
    expect(fast.timings.stream).toMatchObject({ samples: 1, timeoutMs: 20_000, learnt: false, hedgeDelayMs: 100 });
    expect(fast.timings.stream.p50Ms).toBeGreaterThanOrEqual(0);
  });
});
