/**
 * A request larger than every route's whole tokens-per-minute limit can never be served:
 * it is that request's 400, named as such, and costs nobody else anything. Before, each
 * spoke answered "out of quota, retry in 60 s", and the proxy cooled both spokes down for
 * a minute: one oversized request made the model unavailable to every client.
 */
import { expect } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const TPM = [4_000, 8_000];

function spokeConfig(fake: FakeOpenAI, tpm: number): GatewayConfigInput {
  return {
    providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', limits: { '*': { tpm } }, endpoints: [{ region: 'local', url: fake.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] }],
  };
}

describe('a request larger than any route takes in a minute', () => {
  const upstreams: FakeOpenAI[] = [];
  const spokes: TestGateway[] = [];
  let proxy: TestGateway;
  const chatRequests = () => upstreams.reduce((n, u) => n + u.requests.filter((r) => r.path === '/v1/chat/completions').length, 0);

  beforeAll(async () => {
    for (const tpm of TPM) {
      const up = await startFakeOpenAI();
      upstreams.push(up);
      spokes.push(await startGateway(spokeConfig(up, tpm), 'spoke', { probes: false }));
    }
    proxy = await startGateway(
      { spokes: spokes.map((s, i) => ({ id: `spoke-${i + 1}`, url: s.url })), models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] },
      'proxy',
      { probes: false },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await Promise.all(spokes.map((s) => s.close()));
    await Promise.all(upstreams.map((u) => u.close()));
  });

  const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const small = { model: 'chat', messages: [{ role: 'user' as const, content: 'Hello!' }], max_tokens: 16 };

  it('is a 400 naming every route and its limit, from a spoke and through the proxy, and nothing reaches a provider', async () => {
    for (const url of [spokes[1].url, proxy.url]) {
      const err = await client(url)
        .chat.completions.create({ ...small, max_tokens: 20_000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(e.code).toBe('tokens_over_route_limit');
      expect(e.message).toMatch(/larger than any route of its model takes in a minute/);
      expect(e.message).toContain(`over its limit of ${TPM[1]} a minute`);
      expect(e.headers?.get('retry-after') ?? null).toBeNull();
      // Through the proxy, each spoke's routes and limits are listed.
      if (url === proxy.url) expect(e.message).toContain(`over its limit of ${TPM[0]} a minute`);
    }
    // The prompt alone can be what does not fit.
    const long = { ...small, messages: [{ role: 'user' as const, content: 'word '.repeat(40_000) }] };
    await expect(client(proxy.url).chat.completions.create(long)).rejects.toMatchObject({ status: 400, code: 'tokens_over_route_limit' });
    expect(chatRequests()).toBe(0);
  });

  it('leaves every route open: the next ordinary request is served at once', async () => {
    await expect(client(proxy.url).chat.completions.create({ ...small, max_tokens: 20_000 })).rejects.toMatchObject({ status: 400 });
    const before = chatRequests();
    const answer = await client(proxy.url).chat.completions.create(small);
    expect(answer.choices[0].message.content).toBeTruthy();
    expect(chatRequests()).toBe(before + 1);
  });

  it('fits on the route whose limit is large enough, passing over the smaller one', async () => {
    const before = upstreams.map((u) => u.requests.length);
    // More than spoke-1's 4,000 a minute, within spoke-2's 8,000 (and the proxy picks either first).
    for (let i = 0; i < 8; i++) {
      const res = await client(proxy.url)
        .chat.completions.create({ ...small, max_tokens: 6_000 })
        .withResponse();
      expect(res.response.status).toBe(200);
    }
    expect(upstreams[0].requests.length).toBe(before[0]);
    expect(upstreams[1].requests.length).toBe(before[1] + 8);
  });

  it('is a 400 in the Messages API too, in its own error shape', async () => {
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    const err = await anthropic.messages.create({ model: 'chat', max_tokens: 20_000, messages: [{ role: 'user', content: 'Hello!' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect((err as Error).message).toMatch(/larger than any route of its model takes in a minute/);
  });
});
