/**
 * A spoke's 4xx on the Messages routes reaches the client through the proxy as the spoke
 * sent it: same status, same Anthropic error body (the proxy forwards the request id, so
 * even `request_id` matches), whether the client streams, creates or counts tokens.
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
  ])('%s on %s: the spoke’s 400, body and all', async (_name, path, body) => {
    const before = upstream.requests.length;
    const { direct, proxied } = await bothWays(path, body, `refused-${_name.replace(/\W+/g, '-')}`);
    expect(direct.status).toBe(400);
    expect(JSON.parse(direct.text)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(proxied.status).toBe(direct.status);
    expect(proxied.text).toBe(direct.text);
    expect(proxied.headers.get('content-type')).toBe('application/json');
    expect(upstream.requests.length).toBe(before);
  });
});
