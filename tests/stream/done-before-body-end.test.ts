/**
 * An OpenAI-compatible server that sends `data: [DONE]` and ends the HTTP body only later
 * (it logs, bills or cleans up first): the client's stream ends at [DONE], with its usage
 * chunk, not when the server gets round to closing the body. Before, the client waited for
 * the body's end (up to the idle timeout, 20 s by default) for its last chunk and [DONE].
 */
import OpenAI from 'openai';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';

const BODY_ENDS_AFTER_MS = 3000;

describe('a stream whose body ends after [DONE]', () => {
  let up: FakeOpenAI;
  let gw: TestGateway;
  beforeAll(async () => {
    up = await startFakeOpenAI({ chunks: 6, endBodyAfterMs: BODY_ENDS_AFTER_MS });
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: up.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }], timeouts: { idleMs: 10_000 } }],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('ends for the client at [DONE], with its usage, and the route stays healthy', async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const started = performance.now();
    const stream = await client.chat.completions.create({ model: 'chat', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(performance.now() - started).toBeLessThan(BODY_ENDS_AFTER_MS / 2);
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBeGreaterThan(0);
    const health = await healthOf(gw.url);
    expect(health.routes[0].state).toBe('healthy');
    expect(health.routes[0]).not.toHaveProperty('lastFailure');
  });
});
