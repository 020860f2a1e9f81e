/**
 * Capacity classes through proxy -> spoke on /v1/messages: a spoke that keeps its reserve
 * answers a batch request 429 `capacity_reserved` in Anthropic's shape (the code in
 * `error.details.error_code`); the proxy passes that 429 on, as it does for chat, and puts
 * the spoke in no cooldown, so a critical request still goes through it.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { classTenants, KEYS } from './helpers';

const ASK = { model: 'claude', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };

interface Answer {
  status: number;
  code?: string;
  type?: string;
  retryAfter: string | null;
  message?: string;
}

/** One Messages request as `key` to the proxy, read whole (a stream to its end). */
async function ask(url: string, key: string, stream = false): Promise<Answer> {
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...ASK, stream }),
  });
  const text = await res.text();
  if (res.status === 200) return { status: 200, retryAfter: null };
  const doc = JSON.parse(text) as { error: { type: string; message: string; details?: { error_code?: string } } };
  return { status: res.status, code: doc.error.details?.error_code, type: doc.error.type, retryAfter: res.headers.get('retry-after'), message: doc.error.message };
}

describe('capacity classes on /v1/messages through proxy -> spoke', () => {
  let upstream: FakeAnthropic;
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    process.env.CAPACITY_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    upstream = await startFakeAnthropic({ reply: { text: 'Served.' } });
    spoke = await startGateway(
      {
        providers: [
          {
            id: 'anthropic',
            type: 'anthropic',
            accounts: [{ id: 'acct', credentials: { env: 'CAPACITY_TEST_ANTHROPIC_KEY' }, limits: { '*': { rpm: 10 } }, endpoints: [{ region: 'us', url: upstream.url }] }],
          },
        ],
        models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-spoke' }] }],
        // Batch may use 3 of the 10 requests a minute.
        capacity: { criticalReserve: 0.4, batchCeiling: 0.3 },
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway(
      { spokes: [{ id: 'spoke-1', url: spoke.url }], models: [{ name: 'claude', targets: [{ provider: 'spokes', model: 'claude' }] }], tenants: classTenants() },
      'proxy',
      { probes: false },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await upstream.close();
    delete process.env.CAPACITY_TEST_ANTHROPIC_KEY;
  });

  it('passes the spoke’s capacity_reserved on as its own 429 and cools the spoke down for nobody', async () => {
    const batch = await Promise.all(Array.from({ length: 5 }, () => ask(proxy.url, KEYS.batch)));
    expect(batch.filter((a) => a.status === 200)).toHaveLength(3);
    // A stream is refused before its first byte the same way.
    const refused = [...batch.filter((a) => a.status !== 200), await ask(proxy.url, KEYS.batch, true)];
    expect(refused).toHaveLength(3);
    for (const a of refused) {
      expect(a).toMatchObject({ status: 429, code: 'capacity_reserved', type: 'rate_limit_error' });
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(55);
      expect(a.message).toMatch(/spokes\/spoke-1\/127\.0\.0\.1\/claude: reserved 429 .*anthropic\/acct\/us\/claude-spoke: reserved/);
    }
    // The spoke refused batch only: critical requests still go through it (the SDK's own client, JSON and stream).
    const critical = new Anthropic({ baseURL: proxy.url, apiKey: KEYS.critical, maxRetries: 0 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => critical.messages.create(ASK)));
    for (const m of answers) expect(m.content[0]).toMatchObject({ type: 'text', text: 'Served.' });
    expect((await critical.messages.stream(ASK).finalMessage()).content[0]).toMatchObject({ text: 'Served.' });
    expect((await healthOf(proxy.url)).routes.map((r) => r.state)).toEqual(['healthy']);
  });
});
