/**
 * A stream that breaks behind a proxy with nothing to continue it on: the client's error
 * event says what broke once, in the spoke's words (it was the spoke's message wrapped in
 * the proxy's own prefix and the provider label again: "The upstream stream failed
 * (transient): upstream error (in stream stream_interrupted): The upstream stream failed
 * (transient): upstream error (in stream server_error): ..."), and keeps its type.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const count = (text: string, part: string) => text.split(part).length - 1;

describe('a stream broken behind a proxy', () => {
  let oa: FakeOpenAI;
  let an: FakeAnthropic;
  let spoke: TestGateway;
  let proxy: TestGateway;
  beforeAll(async () => {
    process.env.PROXY_STREAM_ERROR_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    oa = await startFakeOpenAI({ chunks: 6 });
    an = await startFakeAnthropic({ reply: { text: 'A long enough answer from Claude, in several pieces.' } });
    spoke = await startGateway(
      {
        providers: [
          { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: oa.url }] }] },
          { id: 'ant', type: 'anthropic', accounts: [{ id: 'a', credentials: { env: 'PROXY_STREAM_ERROR_ANTHROPIC_KEY' }, endpoints: [{ region: 'r', url: an.url }] }] },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] },
          { name: 'claude', targets: [{ provider: 'ant', model: 'claude-x' }] },
        ],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway(
      {
        spokes: [{ id: 'spoke-a', url: spoke.url }],
        models: [
          { name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] },
          { name: 'claude', targets: [{ provider: 'spokes', model: 'claude' }] },
        ],
      },
      'proxy',
      { probes: false },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await oa.close();
    await an.close();
    delete process.env.PROXY_STREAM_ERROR_ANTHROPIC_KEY;
  });

  it('chat: one "The upstream stream failed", the provider’s words once', async () => {
    oa.faults.push({ kind: 'stream-error', afterChunks: 2, code: 'server_error', message: 'The model crashed.' });
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const failure = await (async () => {
      for await (const chunk of stream) void chunk;
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const { message, code } = (failure as InstanceType<typeof OpenAI.APIError>).error as { message: string; code: string };
    expect(code).toBe('stream_interrupted');
    expect(message).toBe('The upstream stream failed (transient): upstream error (in stream server_error): The model crashed.');
  });

  it('messages: the same, and the error keeps its type (overloaded_error)', async () => {
    an.faults.push({ kind: 'stream-error', afterChunks: 2, code: 'overloaded_error', message: 'Overloaded' });
    const client = new Anthropic({ baseURL: proxy.url, apiKey: 'local', maxRetries: 0 });
    const failure = await client.messages
      .stream({ model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    const body = (failure as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string; message: string } };
    expect(body.error.type).toBe('overloaded_error');
    expect(count(body.error.message, 'The upstream stream failed')).toBe(1);
    expect(count(body.error.message, 'Overloaded')).toBe(1);
  });
});
