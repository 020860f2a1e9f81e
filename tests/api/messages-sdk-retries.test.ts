/**
 * The Anthropic SDK's own retries against the gateway's refusals: the SDK retries a 429
 * or 5xx after the answer's Retry-After, however long (a budget's runs to the end of the
 * UTC day), unless `x-should-retry: false` says not to. A wait longer than a client should
 * sit through is said that way, so the client hears the refusal at once; a short one stays
 * the SDK's to wait out.
 */
import Anthropic from '@anthropic-ai/sdk';
import { hashKey } from '../../runtime/src/tenants/auth';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { ShiftedClock } from '../helpers/manual-clock';

describe('the Anthropic SDK’s retries on the gateway’s refusals', () => {
  let upstream: FakeAnthropic;
  let gw: TestGateway;
  /** The HTTP requests the SDK made, retries included. */
  let sent = 0;
  const countingFetch: typeof fetch = (input, init) => {
    sent++;
    return fetch(input, init);
  };

  beforeAll(async () => {
    process.env.RETRIES_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    upstream = await startFakeAnthropic({ reply: () => ({ text: 'Budgeted.' }) });
    const clock = new ShiftedClock();
    clock.set('2030-05-17T12:00:00.000Z'); // twelve hours before the UTC day ends
    gw = await startGateway(
      {
        providers: [{ id: 'anthropic', type: 'anthropic', accounts: [{ id: 'acct', credentials: { env: 'RETRIES_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: upstream.url }] }] }],
        models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-x', price: { inputPerMTok: 3, outputPerMTok: 15 } }] }],
        tenants: [
          { id: 'budgeted', keys: [hashKey('key-budgeted')], budget: { usdPerDay: 0.01 } },
          { id: 'limited', keys: [hashKey('key-limited')], limits: { rpm: 1 } },
        ],
      },
      'all-in-one',
      { probes: false, clock },
    );
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
    delete process.env.RETRIES_TEST_ANTHROPIC_KEY;
  });
  beforeEach(() => (sent = 0));

  it('raises a budget refusal at once, with the SDK’s default retries on, instead of sleeping until the day ends', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'key-budgeted', fetch: countingFetch });
    // A coding agent's stream: 32,000 output tokens at $15 per million is $0.48, far over the $0.01 a day.
    const err = await client.messages
      .stream({ model: 'claude', max_tokens: 32_000, messages: [{ role: 'user', content: 'Hi' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.errorCode).toBe('budget_exceeded');
    expect(Number(e.headers?.get('retry-after'))).toBe(12 * 3600);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    expect(sent).toBe(1);
  });

  it('leaves a short Retry-After (a tenant’s rpm) to the SDK to wait out', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'key-limited', maxRetries: 0, fetch: countingFetch });
    const ask = { model: 'claude', max_tokens: 10, messages: [{ role: 'user' as const, content: 'Hi' }] };
    await client.messages.create(ask);
    const err = await client.messages.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.errorCode).toBe('tenant_rate_limited');
    expect(Number(e.headers?.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(e.headers?.get('x-should-retry')).toBeNull();
  });
});
