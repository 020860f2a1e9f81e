/**
 * Session affinity on /v1/messages: a request that names its session (x-session-id) goes
 * to the route that served the session last, and the answer says so (x-gateway-affinity).
 */
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

describe('session affinity for Messages', () => {
  let a: FakeAnthropic;
  let b: FakeAnthropic;
  let gw: TestGateway;

  beforeAll(async () => {
    process.env.AFFINITY_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [a, b] = await Promise.all([startFakeAnthropic({ reply: { text: 'from a' } }), startFakeAnthropic({ reply: { text: 'from b' } })]);
    gw = await startGateway(
      {
        providers: [
          {
            id: 'anthropic',
            type: 'anthropic',
            accounts: [
              { id: 'a', credentials: { env: 'AFFINITY_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: a.url }] },
              { id: 'b', credentials: { env: 'AFFINITY_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: b.url }] },
            ],
          },
        ],
        models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-x' }] }],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([a.close(), b.close()]);
    delete process.env.AFFINITY_TEST_ANTHROPIC_KEY;
  });

  const send = async (session: string | undefined, stream = false) => {
    const res = await postJson(
      `${gw.url}/v1/messages`,
      { model: 'claude', max_tokens: 16, stream, messages: [{ role: 'user', content: 'hi' }] },
      { 'x-api-key': 'k', 'anthropic-version': '2023-06-01', ...(session ? { 'x-session-id': session } : {}) },
    );
    await res.arrayBuffer();
    return { status: res.status, route: res.headers.get('x-gateway-route'), affinity: res.headers.get('x-gateway-affinity') };
  };

  it('keeps each session on its route, JSON and streams, and says hit; no header without a session', async () => {
    const sessions = Array.from({ length: 8 }, (_, i) => `agent-${i}`);
    const first = new Map<string, string | null>();
    for (const s of sessions) {
      const r = await send(s);
      expect(r).toMatchObject({ status: 200, affinity: 'new' });
      first.set(s, r.route);
    }
    // The sessions landed on both accounts: staying put below is affinity, not a single choice.
    expect(new Set(first.values()).size).toBe(2);
    for (const s of sessions) {
      for (const stream of [false, true]) {
        const r = await send(s, stream);
        expect(r).toMatchObject({ status: 200, affinity: 'hit', route: first.get(s) });
      }
    }
    expect((await send(undefined)).affinity).toBeNull();
  });
});
