/**
 * Messages through the two tiers: the proxy hands a spoke the client's JSON as it came
 * (a thin hop: only model, stream and max_tokens read), with its Anthropic headers; the
 * spoke validates, routes and answers in Anthropic's shapes, which reach the client
 * unchanged; a spoke out of quota sends the proxy to the other one, and a spoke that
 * dies mid-stream leaves the other to continue the message.
 */
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

const TEXT = 'Two tiers, one whole answer for the client.';

function prefill(req: FakeAnthropicRequest): string {
  const last = req.messages?.at(-1);
  if (last?.role !== 'assistant') return '';
  return (last.content as Array<{ text?: string }>).map((b) => b.text ?? '').join('');
}

describe('proxy -> spoke for Messages', () => {
  let upstreamA: FakeAnthropic;
  let upstreamB: FakeAnthropic;
  let spokeA: TestGateway;
  let spokeB: TestGateway;
  let proxy: TestGateway;
  let client: Anthropic;

  const spokeConfig = (url: string, account: string) => ({
    providers: [{ id: 'anthropic', type: 'anthropic' as const, accounts: [{ id: account, credentials: { env: 'PROXY_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'us', url }] }] }],
    models: [{ name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-spoke' }] }],
  });

  beforeAll(async () => {
    process.env.PROXY_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    const reply = (req: FakeAnthropicRequest) => ({ text: TEXT.slice(prefill(req).length) });
    [upstreamA, upstreamB] = await Promise.all([startFakeAnthropic({ reply }), startFakeAnthropic({ reply })]);
    spokeA = await startGateway(spokeConfig(upstreamA.url, 'acct-a'), 'spoke', { probes: false });
    spokeB = await startGateway(spokeConfig(upstreamB.url, 'acct-b'), 'spoke', { probes: false });
    proxy = await startGateway(
      {
        spokes: [
          { id: 'spoke-a', url: spokeA.url },
          { id: 'spoke-b', url: spokeB.url },
        ],
        models: [{ name: 'claude', targets: [{ provider: 'spokes', model: 'claude' }] }],
      },
      'proxy',
      { probes: false },
    );
    client = new Anthropic({ baseURL: proxy.url, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all([spokeA.close(), spokeB.close()]);
    await Promise.all([upstreamA.close(), upstreamB.close()]);
    delete process.env.PROXY_TEST_ANTHROPIC_KEY;
  });

  beforeEach(() => {
    upstreamA.faults.length = 0;
    upstreamB.faults.length = 0;
    proxy.gateway.stats.retain([]);
    // Spoke B looks slow to the proxy, so spoke A is tried first (the selector prefers the faster route).
    const routeB = proxy.gateway.routeTable.forModel('claude')!.groups[0].find((r) => r.account.id === 'spoke-b')!;
    proxy.gateway.stats.get(routeB.key).firstChunkMs.add(5_000);
    proxy.gateway.stats.get(routeB.key).completeMs.add(5_000);
  });

  const upstreamRequests = () => [...upstreamA.requests, ...upstreamB.requests];

  it('creates and streams through a spoke: the client body as it came, the spoke’s route in the headers', async () => {
    const before = upstreamRequests().length;
    const body = {
      model: 'claude',
      max_tokens: 100,
      metadata: { user_id: 'u-7' },
      messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hi', cache_control: { type: 'ephemeral' as const } }] }],
    };
    const { data, response } = await client.messages.create(body).withResponse();
    expect(data.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/acct-a/us/claude-spoke');
    expect(upstreamRequests()[before].body).toEqual({ ...body, model: 'claude-spoke' });
    expect(upstreamRequests()[before].headers['anthropic-version']).toBe('2026-10-21');

    const final = await client.messages.stream(body).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
  });

  it('counts tokens through the hop with the spoke’s provider counter', async () => {
    const { data, response } = await client.messages.countTokens({ model: 'claude', messages: [{ role: 'user', content: 'Count me please.' }] }).withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-gateway-token-count')).toBe('provider');
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/acct-a/us/claude-spoke');
  });

  it('gives the client the spoke’s own 400 for a body only the spoke validates, and calls no provider', async () => {
    const before = upstreamRequests().length;
    const res = await postJson(
      `${proxy.url}/v1/messages`,
      { model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      { 'anthropic-version': '2023-06-01' },
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(body.error.message).toContain('messages.0.content.0.text: Field required');
    expect(upstreamRequests().length).toBe(before);
  });

  it('continues a message on the other spoke when the first one’s stream breaks', async () => {
    const beforeA = upstreamA.requests.length;
    // Spoke A's upstream cuts the stream; spoke A cannot continue it alone (its one route broke), the proxy can.
    const beforeB = upstreamB.requests.length;
    upstreamA.faults.push({ kind: 'cut', afterChunks: 2 });
    const final = await client.messages.stream({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: TEXT })]);
    expect(upstreamA.requests.length).toBe(beforeA + 1);
    const continued = upstreamB.requests[beforeB].body as FakeAnthropicRequest;
    expect(continued.messages?.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Two tiers,' }] });
  });

  it('moves to the other spoke when one is out of quota, and says so in Anthropic’s words when both are', async () => {
    upstreamA.always = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    const askedA = upstreamA.requests.length;
    const { data, response } = await client.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(data.content).toEqual([expect.objectContaining({ text: TEXT })]);
    expect(response.headers.get('x-gateway-route')).toBe('anthropic/acct-b/us/claude-spoke');
    expect(upstreamA.requests.length).toBeGreaterThan(askedA); // spoke A was tried first and said it is out of quota
    upstreamB.always = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    const err = await client.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).errorCode).toBe('upstream_quota_exhausted');
    upstreamA.always = undefined;
    upstreamB.always = undefined;
  });
});
