/**
 * A provider's 401 (a wrong or rotated key on one account) is the gateway's own
 * configuration, not the client's fault: that route is ejected and the equivalent
 * account serves every request.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway } from '../helpers/gateway';

describe('one account with a wrong key', () => {
  let good: FakeOpenAI;
  let bad: FakeOpenAI;
  beforeAll(async () => {
    good = await startFakeOpenAI({ apiKey: 'sk-good-key-000000000000' });
    bad = await startFakeOpenAI({ apiKey: 'sk-expected-by-provider-0000' });
    process.env.GOOD_KEY = 'sk-good-key-000000000000';
    process.env.STALE_KEY = 'sk-stale-rotated-key-00000';
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
    delete process.env.GOOD_KEY;
    delete process.env.STALE_KEY;
  });

  it('is ejected and the other account serves, with no client error', async () => {
    const gw = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'stale', credentials: { env: 'STALE_KEY' }, endpoints: [{ region: 'r', url: bad.url }] },
              { id: 'ok', credentials: { env: 'GOOD_KEY' }, endpoints: [{ region: 'r', url: good.url }] },
            ],
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false },
    );
    try {
      for (let i = 0; i < 20; i++) {
        const { response } = await gw.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
        expect(response.headers.get('x-gateway-route')).toBe('oa/ok/r/m');
      }
      const health = await healthOf(gw.url);
      expect(health.routes.find((r) => r.route === 'oa/stale/r/m')?.state).toBe('ejected');
      expect(bad.requests.filter((r) => r.path === '/v1/chat/completions').length).toBeLessThanOrEqual(2);
    } finally {
      await gw.close();
    }
  });
});
