/**
 * Everything down: both accounts of the primary provider and the model fallback answer
 * 503. The client gets a 503 that lists each attempt and why, well before the gateway's
 * 30 s deadline (its own timeout is 5 s, so a gateway waiting for the deadline would
 * show as a client timeout). Once the routes are ejected, further requests get the 503
 * without a single upstream request.
 */
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway, jsonOf, type HealthBody } from '../helpers/gateway';
import { ask, type Outcome } from './load';

const ROUTES = ['oa/acct-1/east/gpt-x', 'oa/acct-2/west/gpt-x', 'fb/acct/south/gpt-y'];

describe('everything down', () => {
  let fakes: FakeOpenAI[];
  let gw: TestGateway;
  let client: OpenAI;
  const upstreamRequests = () => fakes.reduce((n, f) => n + f.requests.filter((r) => r.path === '/v1/chat/completions').length, 0);

  beforeAll(async () => {
    fakes = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
    const [e, w, s] = fakes as [FakeOpenAI, FakeOpenAI, FakeOpenAI];
    gw = await startGateway(
      {
        server: { requestTimeoutMs: 30_000 },
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'acct-1', endpoints: [{ region: 'east', url: e.url }] },
              { id: 'acct-2', endpoints: [{ region: 'west', url: w.url }] },
            ],
          },
          { id: 'fb', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'south', url: s.url }] }] },
        ],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'oa', model: 'gpt-x' },
              { provider: 'fb', model: 'gpt-y' },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false },
    );
    // A client that gives up long before the gateway's deadline.
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'test-key', maxRetries: 0, timeout: 5_000 });
    for (const f of fakes) f.always = { kind: 'status', status: 503 };
  });
  afterAll(async () => {
    await gw.close();
    for (const f of fakes) await f.close();
  });

  const expect503 = (o: Outcome) => {
    expect(o.ok).toBe(false);
    expect(o.status).toBe(503); // an answer from the gateway, not a client timeout (status 0)
  };

  it('answers a prompt 503 listing each attempt and why', async () => {
    const o = await ask(client, 0);
    expect503(o);
    expect(o.errorCode).toBe('upstream_unavailable');
    for (const r of ROUTES) expect(o.error).toContain(`${r}: transient 503`);
    expect(upstreamRequests()).toBeGreaterThanOrEqual(ROUTES.length);

    const streamed = await ask(client, 1, { stream: true });
    expect503(streamed);
    for (const r of ROUTES) expect(streamed.error).toContain(r);
  });

  it('once the routes are ejected, answers 503 without asking any upstream', async () => {
    // A few more failures eject every route (three in a row each).
    let quiet: Outcome | undefined;
    for (let i = 0; i < 10 && !quiet; i++) {
      const before = upstreamRequests();
      const o = await ask(client, i);
      expect503(o);
      if (upstreamRequests() === before) quiet = o;
    }
    expect(quiet).toBeDefined();

    const before = upstreamRequests();
    for (let i = 0; i < 5; i++) {
      const o = await ask(client, i, { stream: i % 2 === 1 });
      expect503(o);
      for (const r of ROUTES) expect(o.error).toContain(`${r}: ejected`);
    }
    expect(upstreamRequests()).toBe(before);

    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(503);
    const body = await jsonOf<HealthBody>(health);
    expect(body.routes.map((r) => r.state)).toEqual(['ejected', 'ejected', 'ejected']);
  });
});
