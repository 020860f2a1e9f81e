/**
 * Embeddings in the proxy/spoke topology: the proxy forwards the client's JSON to a spoke
 * as a thin hop (nothing rewritten, the spoke's answer back as it came), the spoke's 400s
 * reach the client unchanged, another spoke answers when one is down, and the proxy's
 * tenants and guardrails apply to embeddings as to chat.
 */
import { expect } from '@jest/globals';
import OpenAI from 'openai';
import { hashKey } from '../../runtime/src/tenants/auth';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { LineCapture } from '../observability/capture';
import { jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

const MODEL = 'text-embedding-3-small';
const KEY = 'team-search-key';
const OTHER_KEY = 'team-chat-only-key';
const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

function spokeConfig(fake: FakeOpenAI) {
  return {
    providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: fake.url }] }] }],
    models: [
      { name: 'embed', api: 'embeddings' as const, targets: [{ provider: 'oa', model: MODEL }], batch: { size: 3 } },
      { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] },
    ],
  };
}

const proxyModels = [
  { name: 'embed', api: 'embeddings' as const, targets: [{ provider: 'spokes', model: 'embed' }] },
  { name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] },
];

describe('embeddings through proxy -> spoke', () => {
  let upstreamA: FakeOpenAI;
  let upstreamB: FakeOpenAI;
  let spokeA: TestGateway;
  let spokeB: TestGateway;
  let proxy: TestGateway;
  let guarded: TestGateway;
  let spokeAClosed = false;
  const proxyLogs = new LineCapture();
  const embeddings = (fake: FakeOpenAI) => fake.requests.filter((r) => r.path === '/v1/embeddings');
  const sentToProviders = () => embeddings(upstreamA).length + embeddings(upstreamB).length;

  beforeAll(async () => {
    [upstreamA, upstreamB] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
    spokeA = await startGateway(spokeConfig(upstreamA), 'spoke', { probes: false });
    spokeB = await startGateway(spokeConfig(upstreamB), 'spoke', { probes: false });
    proxy = await startGateway(
      {
        spokes: [{ id: 'spoke-a', url: spokeA.url }],
        models: proxyModels,
        tenants: [
          { id: 'search', keys: [hashKey(KEY)], models: ['embed'], limits: { tpm: 400 } },
          { id: 'chat-team', keys: [hashKey(OTHER_KEY)], models: ['chat'] },
        ],
      },
      'proxy',
      { probes: false, observability: { destination: proxyLogs } },
    );
    guarded = await startGateway(
      {
        spokes: [
          { id: 'spoke-a', url: spokeA.url },
          { id: 'spoke-b', url: spokeB.url },
        ],
        models: proxyModels,
        guardrails: [{ id: 'pii', models: ['embed'], local: { deny: ['secret project \\w+'], mask: ['email'] } }],
      },
      'proxy',
      { probes: false },
    );
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), guarded.close()]);
    await Promise.all([spokeAClosed ? undefined : spokeA.close(), spokeB.close()]);
    await Promise.all([upstreamA.close(), upstreamB.close()]);
  });

  it("hands the spoke the client's JSON and the client the spoke's answer, byte for byte, with the spoke's route, attempts and batches", async () => {
    const body = { model: 'embed', input: ['one', 'two', 'three', 'four'], encoding_format: 'base64', user: 'u-1' };
    const viaProxy = await postJson(`${proxy.url}/v1/embeddings`, body, auth());
    const direct = await postJson(`${spokeA.url}/v1/embeddings`, body);
    expect(viaProxy.status).toBe(200);
    expect(await viaProxy.text()).toBe(await direct.text());
    expect(viaProxy.headers.get('x-gateway-route')).toBe(`oa/acct/local/${MODEL}`);
    expect(viaProxy.headers.get('x-gateway-attempts')).toBe('2'); // the spoke's two batches
    expect(viaProxy.headers.get('x-gateway-batches')).toBe('2');
    // The proxy's log line counts the spoke's real tokens, read from its answer.
    await until(() => proxyLogs.requests().some((l) => l.api === 'embeddings' && l.status === 200));
    const line = proxyLogs.requests().find((l) => l.api === 'embeddings' && l.status === 200)!;
    const tokens = body.input.reduce((n, t) => n + Math.ceil(t.length / 4), 0);
    expect(line).toMatchObject({ model: 'embed', tenant: 'search', route: `oa/acct/local/${MODEL}`, tokens: { in: tokens, out: 0 }, batches: 2 });
  });

  it('the OpenAI SDK through the proxy: base64 by default, float on request, the same vectors', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const b64 = await client.embeddings.create({ model: 'embed', input: ['alpha', 'beta'] });
    const floats = await client.embeddings.create({ model: 'embed', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(b64.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding.map(Math.fround)));
  });

  it("the spoke's 400s reach the client unchanged, and nothing reaches a provider", async () => {
    const before = sentToProviders();
    for (const body of [
      { model: 'embed', input: ['fine', ''] },
      { model: 'embed', input: [1, 2.5] },
      { model: 'embed', input: 'hi', encoding_format: 'hex' },
      { model: 'embed', input: 'hi', temperature: 1 },
    ]) {
      const viaProxy = await postJson(`${proxy.url}/v1/embeddings`, body, auth());
      const direct = await postJson(`${spokeA.url}/v1/embeddings`, body);
      expect(viaProxy.status).toBe(400);
      const [a, b] = [(await jsonOf<ErrorBody>(viaProxy)).error, (await jsonOf<ErrorBody>(direct)).error];
      expect(a).toEqual(b);
    }
    // What the proxy routes on, it checks itself: a chat model asked for embeddings, a body without input.
    const chat = await postJson(`${proxy.url}/v1/embeddings`, { model: 'chat', input: 'hi' }, auth(OTHER_KEY));
    expect(chat.status).toBe(400);
    expect((await jsonOf<ErrorBody>(chat)).error).toMatchObject({ param: 'model', code: 'model_not_supported' });
    const noInput = await postJson(`${proxy.url}/v1/embeddings`, { model: 'embed' }, auth());
    expect((await jsonOf<ErrorBody>(noInput)).error).toMatchObject({ param: 'input', message: "Invalid 'input': missing required parameter" });
    expect(sentToProviders()).toBe(before);
  });

  it("the proxy's tenants: a key, the tenant's models, and its token limit", async () => {
    expect((await postJson(`${proxy.url}/v1/embeddings`, { model: 'embed', input: 'hi' })).status).toBe(401);
    const forbidden = await postJson(`${proxy.url}/v1/embeddings`, { model: 'embed', input: 'hi' }, auth(OTHER_KEY));
    expect(forbidden.status).toBe(403);
    // 400 tokens a minute: a large request is refused before it is forwarded.
    const before = sentToProviders();
    const big = await postJson(`${proxy.url}/v1/embeddings`, { model: 'embed', input: ['x'.repeat(2000)] }, auth());
    expect(big.status).toBe(429);
    expect((await jsonOf<ErrorBody>(big)).error.code).toBe('tenant_rate_limited');
    expect(big.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(sentToProviders()).toBe(before);
  });

  it('with guardrails the proxy checks the texts: a deny rule blocks, masking changes what the provider embeds, token ids are refused', async () => {
    const blocked = await postJson(`${guarded.url}/v1/embeddings`, { model: 'embed', input: ['fine', 'about secret project apollo'] });
    expect(blocked.status).toBe(400);
    expect((await jsonOf<ErrorBody>(blocked)).error).toMatchObject({ code: 'content_filter', param: 'input' });
    const ids = await postJson(`${guarded.url}/v1/embeddings`, { model: 'embed', input: [[1, 2, 3]] });
    expect(ids.status).toBe(400);
    expect((await jsonOf<ErrorBody>(ids)).error).toMatchObject({ code: 'guardrail_requires_text', param: 'input' });
    const before = embeddings(upstreamA).length + embeddings(upstreamB).length;
    const masked = await postJson(`${guarded.url}/v1/embeddings`, { model: 'embed', input: ['write to jane@example.org'], dimensions: 8, encoding_format: 'float' });
    expect(masked.status).toBe(200);
    const sent = [...embeddings(upstreamA), ...embeddings(upstreamB)].slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].body).toEqual({ model: MODEL, input: ['write to [EMAIL]'], dimensions: 8 });
    expect((await jsonOf<{ data: Array<{ embedding: number[] }> }>(masked)).data[0].embedding).toHaveLength(8);
  });

  it('a spoke that is down: the other spoke answers', async () => {
    await upstreamA.kill();
    await spokeA.close();
    spokeAClosed = true;
    try {
      for (let i = 0; i < 3; i++) {
        const res = await postJson(`${guarded.url}/v1/embeddings`, { model: 'embed', input: [`text ${i}`] });
        expect(res.status).toBe(200);
        expect(res.headers.get('x-gateway-route')).toBe(`oa/acct/local/${MODEL}`);
      }
      expect(embeddings(upstreamB).length).toBeGreaterThanOrEqual(3);
    } finally {
      await upstreamA.revive();
    }
  });
});
