/**
 * A spoke's 4xx on the Messages routes reaches the client through the proxy as the spoke
 * sent it: same status, same Anthropic error body (the proxy forwards the request id, so
 * even `request_id` matches), whether the client streams, creates or counts tokens. Token
 * counting still falls back to the gateway's estimate where it did: no counter answers, or
 * a provider's own counter (not a spoke's) refuses.
 */
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

const user = [{ role: 'user', content: 'hi' }];
const VERSION = { 'anthropic-version': '2023-06-01' };

describe('proxy -> spoke: the spoke’s refusals on the Messages routes', () => {
  let upstream: FakeAnthropic;
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    process.env.PROXY_ERRORS_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    upstream = await startFakeAnthropic();
    spoke = await startGateway(
      {
        providers: [{ id: 'anthropic', type: 'anthropic', accounts: [{ id: 'acct', credentials: { env: 'PROXY_ERRORS_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: upstream.url }] }] }],
        models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-spoke' }] }],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'claude', targets: [{ provider: 'spokes', model: 'claude' }] }] }, 'proxy', { probes: false });
  });

  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await upstream.close();
    delete process.env.PROXY_ERRORS_ANTHROPIC_KEY;
  });

  /** The same request, with the same request id, to the spoke directly and through the proxy. */
  async function bothWays(path: string, body: unknown, id: string) {
    const headers = { ...VERSION, 'x-request-id': id };
    const direct = await postJson(`${spoke.url}${path}`, body, headers);
    const proxied = await postJson(`${proxy.url}${path}`, body, headers);
    return { direct: { status: direct.status, text: await direct.text() }, proxied: { status: proxied.status, text: await proxied.text(), headers: proxied.headers } };
  }

  it.each([
    ['an unknown field', '/v1/messages', { model: 'claude', max_tokens: 5, foo: 1, messages: user }],
    ['an unknown field, streamed', '/v1/messages', { model: 'claude', max_tokens: 5, stream: true, foo: 1, messages: user }],
    ['a block without its text', '/v1/messages', { model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'text' }] }] }],
    // count_tokens: the proxy answers the spoke's verdict, not an estimate of its own.
    ['max_tokens (not a count_tokens field)', '/v1/messages/count_tokens', { model: 'claude', max_tokens: 5, messages: user }],
    ['an unknown field', '/v1/messages/count_tokens', { model: 'claude', foo: 1, messages: user }],
    ['stream', '/v1/messages/count_tokens', { model: 'claude', stream: true, messages: user }],
    ['a tool without input_schema', '/v1/messages/count_tokens', { model: 'claude', tools: [{ name: 'f' }], messages: user }],
  ])('%s on %s: the spoke’s 400, body and all', async (name, path, body) => {
    const before = upstream.requests.length;
    const { direct, proxied } = await bothWays(path, body, `refused-${name.replace(/\W+/g, '-')}`);
    expect(direct.status).toBe(400);
    expect(JSON.parse(direct.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(proxied.status).toBe(direct.status);
    expect(proxied.text).toBe(direct.text);
    expect(proxied.headers.get('content-type')).toBe('application/json');
    expect(proxied.headers.get('x-gateway-token-count')).toBeNull();
    expect(upstream.requests.length).toBe(before);
  });

  it('count_tokens still falls back to the proxy’s estimate when no spoke’s counter can answer', async () => {
    const gone = await startGateway(
      { models: [{ name: 'claude', targets: [{ provider: 'sim', model: 'm' }] }], providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'r' }] }] }] },
      'spoke',
      {
        probes: false,
      },
    );
    await gone.close(); // its port now refuses connections
    const lonely = await startGateway({ spokes: [{ id: 'gone', url: gone.url }], models: [{ name: 'claude', targets: [{ provider: 'spokes', model: 'claude' }] }] }, 'proxy', {
      probes: false,
    });
    try {
      const res = await postJson(`${lonely.url}/v1/messages/count_tokens`, { model: 'claude', messages: user }, VERSION);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-gateway-token-count')).toBe('estimate');
      expect(await res.json()).toEqual({ input_tokens: expect.any(Number) as unknown });
    } finally {
      await lonely.close();
    }
  });

  it('count_tokens falls back to the estimate when a provider’s own counter refuses (only a spoke’s refusal is final)', async () => {
    const allInOne = await startGateway({
      providers: [{ id: 'anthropic', type: 'anthropic', accounts: [{ id: 'acct', credentials: { env: 'PROXY_ERRORS_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url: upstream.url }] }] }],
      models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-direct' }] }],
    });
    try {
      const before = upstream.requests.length;
      upstream.faults.push({ kind: 'status', status: 400, message: 'counting is not offered for this model' });
      const res = await postJson(`${allInOne.url}/v1/messages/count_tokens`, { model: 'claude', messages: user }, VERSION);
      expect(upstream.requests.length).toBe(before + 1);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-gateway-token-count')).toBe('estimate');
    } finally {
      upstream.faults.length = 0;
      await allInOne.close();
    }
  });
});
