/**
 * A 429 that refuses one request for its size, while the window still has room for smaller
 * ones, keeps only requests that large off the route. Before, the proxy cooled the spoke
 * down for everyone (and an all-in-one gateway its provider route): one large request made
 * the model unavailable to every small one until the Retry-After.
 */
import { expect } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const TPM = 8_000;

function providerConfig(fake: FakeOpenAI, tpm?: number): GatewayConfigInput {
  return {
    providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', ...(tpm ? { limits: { '*': { tpm } } } : {}), endpoints: [{ region: 'local', url: fake.url }] }] }],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] }],
  };
}

const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
const ask = (maxTokens: number) => ({ model: 'chat', messages: [{ role: 'user' as const, content: 'Hello!' }], max_tokens: maxTokens });
const chatCalls = (fake: FakeOpenAI) => fake.requests.filter((r) => r.path === '/v1/chat/completions').length;

describe('a spoke without room for one large request, behind a proxy', () => {
  let upstream: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    spoke = await startGateway(providerConfig(upstream, TPM), 'spoke', { probes: false });
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] }, 'proxy', { probes: false });
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await upstream.close();
  });

  /** Holds ~6,000 of the spoke's 8,000 tokens a minute while `during` runs: a request still in flight keeps its reservation. */
  async function whileMostIsHeld(during: () => Promise<void>): Promise<void> {
    upstream.faults.push({ kind: 'delay', ms: 1_500 });
    const held = client(proxy.url).chat.completions.create(ask(6_000));
    try {
      await new Promise((r) => setTimeout(r, 300));
      await during();
    } finally {
      await held;
    }
  }

  it('says how much room is left on its 429, and the proxy keeps serving smaller requests there', async () => {
    await whileMostIsHeld(async () => {
      // Spoke itself: the 429 names the room left for smaller requests.
      const direct = await client(spoke.url)
        .chat.completions.create(ask(4_000))
        .catch((e: unknown) => e);
      expect(direct).toBeInstanceOf(OpenAI.RateLimitError);
      const left = Number((direct as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-ratelimit-remaining-tokens'));
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThan(4_000);
      expect((direct as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-ratelimit-reset-tokens')).toMatch(/^\d+ms$/);

      // Through the proxy: the large one cannot be served now (its only spoke is full for it) ...
      await expect(client(proxy.url).chat.completions.create(ask(4_000))).rejects.toMatchObject({ status: 503 });
      const before = chatCalls(upstream);
      // ... but a small one is, at once: the spoke was not cooled down.
      const small = await client(proxy.url).chat.completions.create(ask(16));
      expect(small.choices[0].message.content).toBeTruthy();
      expect(chatCalls(upstream)).toBe(before + 1);
    });
  });

  it('works the same in the Messages API', async () => {
    const anthropic = new Anthropic({ baseURL: proxy.url, apiKey: 'unused', maxRetries: 0 });
    await whileMostIsHeld(async () => {
      const err = await anthropic.messages.create({ model: 'chat', max_tokens: 4_000, messages: [{ role: 'user', content: 'Hello!' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
      const small = await anthropic.messages.create({ model: 'chat', max_tokens: 16, messages: [{ role: 'user', content: 'Hello!' }] });
      expect(small.content[0]).toMatchObject({ type: 'text' });
    });
  });
});

describe('a spoke with no room for any request, behind a proxy', () => {
  it('says no room is left, and the proxy cools it down for everyone', async () => {
    const upstream = await startFakeOpenAI();
    const spoke = await startGateway(
      {
        ...providerConfig(upstream),
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', limits: { '*': { rpm: 1 } }, endpoints: [{ region: 'local', url: upstream.url }] }] }],
      },
      'spoke',
      {
        probes: false,
      },
    );
    const proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] }, 'proxy', {
      probes: false,
    });
    try {
      await client(proxy.url).chat.completions.create(ask(16)); // the minute's one request
      const direct = await client(spoke.url)
        .chat.completions.create(ask(16))
        .catch((e: unknown) => e);
      expect(direct).toBeInstanceOf(OpenAI.RateLimitError);
      expect((direct as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-ratelimit-remaining-tokens') ?? null).toBeNull();
      await expect(client(proxy.url).chat.completions.create(ask(16))).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/throttled/) });
      // Cooled down: the next request is not even sent to the spoke.
      await expect(client(proxy.url).chat.completions.create(ask(16))).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/: cooldown \(/) });
    } finally {
      await proxy.close();
      await spoke.close();
      await upstream.close();
    }
  });
});

describe('a provider 429 that says tokens are left, on a direct route', () => {
  let upstream: FakeOpenAI;
  let gateway: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    gateway = await startGateway(providerConfig(upstream), 'all-in-one', { probes: false });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  const sizeRefusal = (remainingTokens: string) => ({
    kind: 'status' as const,
    status: 429,
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached on tokens per min (TPM): Limit 30000, Used 29500, Requested 4016.',
    headers: { 'retry-after': '20', 'x-ratelimit-remaining-requests': '40', 'x-ratelimit-remaining-tokens': remainingTokens, 'x-ratelimit-reset-tokens': '20s' },
  });

  it('sends smaller requests on at once, and the next large one is tried again', async () => {
    upstream.faults.push(sizeRefusal('500'));
    await expect(client(gateway.url).chat.completions.create(ask(4_000))).rejects.toMatchObject({ status: 503 });
    expect(chatCalls(upstream)).toBe(1);
    const small = await client(gateway.url).chat.completions.create(ask(16));
    expect(small.choices[0].message.content).toBeTruthy();
    const large = await client(gateway.url).chat.completions.create(ask(4_000));
    expect(large.choices[0].message.content).toBeTruthy();
    expect(chatCalls(upstream)).toBe(3);
  });

  it('cools the route down when the 429 leaves no tokens, or enough for the request (so size was not why)', async () => {
    for (const [remaining, maxTokens] of [
      ['0', 4_000],
      ['30000', 16],
    ] as const) {
      const fake = await startFakeOpenAI();
      const gw = await startGateway(providerConfig(fake), 'all-in-one', { probes: false });
      try {
        fake.faults.push(sizeRefusal(remaining));
        await expect(client(gw.url).chat.completions.create(ask(maxTokens))).rejects.toMatchObject({ status: 503 });
        await expect(client(gw.url).chat.completions.create(ask(16))).rejects.toMatchObject({ status: 503 });
        expect(chatCalls(fake)).toBe(1);
      } finally {
        await gw.close();
        await fake.close();
      }
    }
  });
});
