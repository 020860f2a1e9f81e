/**
 * A server that sends its stream's last event (OpenAI `data: [DONE]`, Anthropic
 * `message_stop`) and ends the HTTP body only later (it logs, bills or cleans up first):
 * the client's stream ends at that event, with its usage, not when the server gets round
 * to closing the body. Before, the client waited for the body's end (up to the idle
 * timeout, 20 s by default) for its last chunk and [DONE] (or message_stop).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';

const BODY_ENDS_AFTER_MS = 3000;
/** Well before the body's end. */
const PROMPTLY_MS = BODY_ENDS_AFTER_MS / 2;

describe('a stream whose body ends after its last event', () => {
  let oa: FakeOpenAI;
  let an: FakeAnthropic;
  let gw: TestGateway;
  beforeAll(async () => {
    process.env.BODY_END_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    oa = await startFakeOpenAI({ chunks: 6, endBodyAfterMs: BODY_ENDS_AFTER_MS });
    an = await startFakeAnthropic({ reply: { text: 'Hello from Claude.' }, endBodyAfterMs: BODY_ENDS_AFTER_MS });
    const timeouts = { idleMs: 10_000 };
    gw = await startGateway(
      {
        providers: [
          { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: oa.url }] }] },
          { id: 'ant', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'BODY_END_TEST_ANTHROPIC_KEY' }, endpoints: [{ region: 'r', url: an.url }] }] },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }], timeouts },
          { name: 'claude', targets: [{ provider: 'ant', model: 'claude-x' }], timeouts },
        ],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await oa.close();
    await an.close();
    delete process.env.BODY_END_TEST_ANTHROPIC_KEY;
  });

  /** The chat stream read whole with the OpenAI SDK: its text, usage and how long it took. */
  async function chat(model: string) {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const started = performance.now();
    const stream = await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    return { text, usage, ms: performance.now() - started };
  }

  it('chat from an OpenAI-compatible server: ends at [DONE], with its usage, the route healthy', async () => {
    const { text, usage, ms } = await chat('chat');
    expect(ms).toBeLessThan(PROMPTLY_MS);
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBeGreaterThan(0);
    const route = (await healthOf(gw.url)).routes.find((r) => r.route === 'oa/a/r/gpt-x');
    expect(route?.state).toBe('healthy');
    expect(route).not.toHaveProperty('lastFailure');
  });

  it('chat from Anthropic: ends at message_stop', async () => {
    const { text, usage, ms } = await chat('claude');
    expect(ms).toBeLessThan(PROMPTLY_MS);
    expect(text).toBe('Hello from Claude.');
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  it('messages from Anthropic: ends at message_stop', async () => {
    const client = new Anthropic({ baseURL: gw.url, apiKey: 'local', maxRetries: 0 });
    const started = performance.now();
    const message = await client.messages.stream({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(performance.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from Claude.' }]);
    expect(message.stop_reason).toBe('end_turn');
  });
});
