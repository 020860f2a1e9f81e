/**
 * Clients that leave are not provider failures: cancelled streams never eject a healthy
 * route or start a continuation, and a request abandoned before its answer is reported
 * as 499 client_closed, not as a gateway error.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import type { RequestEvent } from '../../runtime/src/observability/events';

describe('clients that go away', () => {
  let up: FakeOpenAI;
  let gw: TestGateway;
  const events: RequestEvent[] = [];
  beforeAll(async () => {
    up = await startFakeOpenAI({ chunks: 50, chunkDelayMs: 20 });
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: up.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false },
    );
    gw.gateway.events.subscribe((e) => e.type === 'request' && events.push(e));
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const post = (signal: AbortSignal, stream: boolean, requestId?: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
      body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }),
      signal,
    });

  it('cancelled streams leave the route healthy and start no continuation', async () => {
    const before = up.requests.length;
    for (let i = 0; i < 12; i++) {
      const ac = new AbortController();
      const res = await post(ac.signal, true);
      await res.body!.getReader().read();
      ac.abort();
    }
    for (let i = 0; i < 50 && events.length < 12; i++) await new Promise((r) => setTimeout(r, 20));
    expect(up.requests.length - before).toBe(12); // one upstream call each, no continuation
    const health = await healthOf(gw.url);
    expect(health.routes[0].state).toBe('healthy');
    expect(events.filter((e) => e.errorCode === 'client_closed')).toHaveLength(12);
    const after = await gw.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'still there?' }] });
    expect(after.choices[0].message.content).toBeTruthy();
  });

  it('reports a request abandoned before its answer as 499 client_closed', async () => {
    up.options.latencyMs = 300;
    try {
      const ac = new AbortController();
      const pending = post(ac.signal, false, 'abandoned-1').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      ac.abort();
      await pending;
      const abandoned = () => events.find((e) => e.requestId === 'abandoned-1');
      await until(() => abandoned() !== undefined);
      expect(abandoned()).toMatchObject({ status: 499, errorCode: 'client_closed' });
    } finally {
      up.options.latencyMs = 0;
    }
  });
});
