/**
 * A provider stream that stalls mid-answer behind a proxy: the spoke continues it on its
 * other route after its idle timeout, and the proxy (same model timeouts, as the platform
 * deploys them) waits for that instead of giving up on the spoke at the same moment. With a
 * single spoke the proxy had nothing to continue on: the client got a `silent` stream
 * error on every stall, the spoke's continuation was cut as client_closed, and the spoke
 * was blamed for its provider's stall.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { RequestEvent } from '../../runtime/src/observability/events';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

const REPLY = 'The quick brown fox jumps over the lazy dog, and then it runs far away into the green forest.';
const TIMEOUTS = { idleMs: 400 };

describe('a provider stall mid-stream behind a proxy with one spoke', () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;
  const spokeEvents: RequestEvent[] = [];
  beforeAll(async () => {
    a = await startFakeOpenAI({ reply: REPLY, chunks: 12, chunkDelayMs: 10 });
    b = await startFakeOpenAI({ reply: REPLY, chunks: 12, chunkDelayMs: 10 });
    spoke = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'acct-a', endpoints: [{ region: 'east', url: a.url }] },
              { id: 'acct-b', endpoints: [{ region: 'west', url: b.url }] },
            ],
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }], timeouts: TIMEOUTS }],
      },
      'spoke',
      { probes: false },
    );
    // acct-a first, so the stall injected there is hit first.
    spoke.gateway.stats.get('oa/acct-b/west/gpt-x').firstChunkMs.add(5000);
    spoke.gateway.events.subscribe((e) => e.type === 'request' && spokeEvents.push(e));
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }], timeouts: TIMEOUTS }] }, 'proxy', {
      probes: false,
    });
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await a.close();
    await b.close();
  });

  /** The spoke's event of the last request: it continued the stream on acct-b. */
  const spokeContinued = async () => {
    await until(() => spokeEvents.length > 0);
    const last = spokeEvents.pop();
    expect(last).toMatchObject({ continuations: 1, route: 'oa/acct-b/west/gpt-x' });
    expect(last?.errorCode).toBeUndefined(); // not cut by the proxy (client_closed)
  };

  it('chat: the client gets the whole answer once, the spoke continued it, the proxy blames no one', async () => {
    a.faults.push({ kind: 'stall', afterChunks: 3 });
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'Tell me about the fox.' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(REPLY);
    await spokeContinued();
    const health = await healthOf(proxy.url);
    expect(health.routes[0]).not.toHaveProperty('lastFailure');
  });

  it('messages: the same for a Claude-format client', async () => {
    a.faults.push({ kind: 'stall', afterChunks: 3 });
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'local', maxRetries: 0 });
    const message = await client.messages.stream({ model: 'chat', max_tokens: 200, messages: [{ role: 'user', content: 'Tell me about the fox.' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: REPLY }]);
    expect(message.stop_reason).toBe('end_turn');
    await spokeContinued();
  });
});
