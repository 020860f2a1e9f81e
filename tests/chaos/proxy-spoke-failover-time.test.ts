/**
 * A provider route that goes silent behind a proxy: the spoke gives up on it at the model's
 * limit and answers from its next route, and the proxy (same model config, as the platform
 * deploys it) waits for that instead of giving up on the spoke at the same moment. Before,
 * behind a single spoke every such failover reached the client as a 504 "Every route timed
 * out", and the spoke was blamed for its provider; with learnt limits as with fixed ones.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';

type ModelSettings = Pick<NonNullable<GatewayConfigInput['models']>[number], 'timeouts' | 'failover'>;

const SCENARIOS: Array<[string, ModelSettings]> = [
  ['fixed limits', { timeouts: { firstByteMs: 300, completeMs: 300 }, failover: { adaptiveTimeouts: { enabled: false } } }],
  ['learnt limits', { timeouts: { firstByteMs: 10_000, completeMs: 10_000 }, failover: { adaptiveTimeouts: { minSamples: 5, minMs: 200, wholeAnswers: true } } }],
];

describe.each(SCENARIOS)('a silent provider route behind a proxy with one spoke (%s)', (_name, settings) => {
  let silent: FakeOpenAI;
  let healthy: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    silent = await startFakeOpenAI();
    healthy = await startFakeOpenAI();
    const provider = (id: string, url: string) => ({ id, type: 'openai-compatible' as const, accounts: [{ id: 'acct', endpoints: [{ region: 'r', url }] }] });
    spoke = await startGateway(
      {
        providers: [provider('first', silent.url), provider('second', healthy.url)],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'first', model: 'gpt-x' },
              { provider: 'second', model: 'gpt-x' },
            ],
            ...settings,
          },
        ],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }], ...settings }] }, 'proxy', {
      probes: false,
    });
    // Both tiers observe the usual answers first (enough for learnt limits, where on).
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'local', maxRetries: 0 });
    for (let i = 0; i < 8; i++) {
      await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'warm up' }] });
      for await (const _ of await client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'warm up' }] }));
    }
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await silent.close();
    await healthy.close();
  });

  const answeredBySecond = async (ask: () => Promise<string>) => {
    silent.faults.push({ kind: 'hang' });
    const before = healthy.requests.length;
    expect(await ask()).toBeTruthy();
    expect(healthy.requests.length).toBe(before + 1);
    // The spoke answered: the proxy holds nothing against it.
    const health = await healthOf(proxy.url);
    expect(health.routes[0]).not.toHaveProperty('lastFailure');
  };

  it('chat, whole and streamed: the spoke fails over and the client gets its answer', async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'local', maxRetries: 0 });
    await answeredBySecond(async () => (await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content ?? '');
    await answeredBySecond(async () => {
      let text = '';
      for await (const chunk of await client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }))
        text += chunk.choices[0]?.delta.content ?? '';
      return text;
    });
  });

  it('messages, streamed: the same for a Claude-format client', async () => {
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'local', maxRetries: 0 });
    await answeredBySecond(async () => {
      const message = await client.messages.stream({ model: 'chat', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
      return message.content[0].type === 'text' ? message.content[0].text : '';
    });
  });
});
