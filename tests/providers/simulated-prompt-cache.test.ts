/**
 * The simulated provider's prompt cache, through the gateway: a marked prefix is written
 * on the first request and read on the next one at the same endpoint (usage reports both,
 * whole and streamed), not at another endpoint, not after its lifetime, not below the
 * minimum size; a long unmarked prompt is cached at its message boundaries (reads only);
 * how much sooner a cached prompt answers is measured by the prompt-cache benchmark.
 */
import { expect } from '@jest/globals';
import type OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { ManualClock } from '../helpers/manual-clock';

type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type Usage = OpenAI.CompletionUsage & { prompt_tokens_details?: { cached_tokens?: number; cache_write_tokens?: number } };

const LONG = 'Policy clause: refunds within thirty days, no questions asked. '.repeat(120); // ~2000 tokens
const mark = { type: 'ephemeral' };
const turn = (question: string, system = LONG) => ({
  model: 'chat',
  messages: [
    { role: 'system', content: [{ type: 'text', text: system, cache_control: mark }] },
    { role: 'user', content: question },
  ],
});

function config(accounts: number): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'sim',
        type: 'simulated',
        accounts: Array.from({ length: accounts }, (_, i) => ({ id: `a${i + 1}`, endpoints: [{ region: 'local', latencyMs: 1, tokensPerSecond: 100_000, seed: 1 }] })),
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'm' }] }],
  };
}

let gw: TestGateway;
afterEach(() => gw?.close());

async function usageOf(body: object): Promise<{ usage: Usage; route: string | null }> {
  const { data, response } = await gw.client.chat.completions.create(body as Params).withResponse();
  return { usage: data.usage as Usage, route: response.headers.get('x-gateway-route') };
}

describe('simulated prompt cache', () => {
  it('writes a marked prefix, then reads it at the same endpoint, whole and streamed', async () => {
    gw = await startGateway(config(1));
    const first = (await usageOf(turn('one?'))).usage;
    expect(first.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    expect(first.prompt_tokens_details?.cache_write_tokens).toBeGreaterThan(1024);
    const second = (await usageOf(turn('two?'))).usage;
    expect(second.prompt_tokens_details).toEqual({ cached_tokens: first.prompt_tokens_details!.cache_write_tokens });
    const stream = await gw.client.chat.completions.create({ ...turn('three?'), stream: true, stream_options: { include_usage: true } } as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
    let streamed: Usage | undefined;
    for await (const chunk of stream) if (chunk.usage) streamed = chunk.usage;
    expect(streamed?.prompt_tokens_details?.cached_tokens).toBe(first.prompt_tokens_details!.cache_write_tokens);
  });

  it('finds the previous turn when the marker moves to the newest message (lookback)', async () => {
    gw = await startGateway(config(1));
    const user = (text: string) => ({ role: 'user', content: [{ type: 'text', text, cache_control: mark }] });
    const first = (await usageOf({ model: 'chat', messages: [{ role: 'system', content: LONG }, user('one?')] })).usage;
    const cachedByFirst = first.prompt_tokens_details!.cache_write_tokens!;
    const second = (
      await usageOf({
        model: 'chat',
        messages: [{ role: 'system', content: LONG }, { role: 'user', content: 'one?' }, { role: 'assistant', content: 'One.' }, user('two?')],
      })
    ).usage;
    expect(second.prompt_tokens_details?.cached_tokens).toBe(cachedByFirst);
    expect(second.prompt_tokens_details?.cache_write_tokens).toBeGreaterThan(0);
  });

  it('is per endpoint: another account has not seen the prefix', async () => {
    gw = await startGateway(config(2));
    const seen = new Map<string, number>();
    // Without a session the requests spread; each endpoint writes the prefix once, then reads it.
    for (let i = 0; i < 12; i++) {
      const { usage, route } = await usageOf(turn(`q${i}?`));
      const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
      if (!seen.has(route!)) expect(cached).toBe(0);
      else expect(cached).toBeGreaterThan(1024);
      seen.set(route!, cached);
    }
    expect(seen.size).toBe(2);
  });

  it('forgets a prefix after its lifetime, and caches nothing below the minimum size', async () => {
    const clock = new ManualClock(Date.now());
    gw = await startGateway(config(1), 'all-in-one', { clock });
    await usageOf(turn('one?'));
    clock.advance(4 * 60_000);
    expect((await usageOf(turn('two?'))).usage.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
    // Read at minute 4: the lifetime starts again, so minute 8 still hits; minute 14 does not.
    clock.advance(4 * 60_000);
    expect((await usageOf(turn('three?'))).usage.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
    clock.advance(6 * 60_000);
    expect((await usageOf(turn('four?'))).usage.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    const short = (await usageOf(turn('five?', 'A short system prompt.'))).usage;
    expect(short.prompt_tokens_details).toBeUndefined();
  });

  it('caches a long unmarked conversation at its message boundaries (reads only)', async () => {
    gw = await startGateway(config(1));
    const history = [
      { role: 'system', content: LONG },
      { role: 'user', content: 'first?' },
    ];
    expect((await usageOf({ model: 'chat', messages: history })).usage.prompt_tokens_details).toBeUndefined();
    const next = (await usageOf({ model: 'chat', messages: [...history, { role: 'assistant', content: 'An answer.' }, { role: 'user', content: 'second?' }] })).usage;
    expect(next.prompt_tokens_details?.cached_tokens).toBeGreaterThan(1024);
    expect(next.prompt_tokens_details?.cache_write_tokens).toBeUndefined();
  });
});
