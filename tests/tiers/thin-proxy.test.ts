/**
 * The proxy's thin hop: it forwards the client's JSON to a spoke as it came (no second
 * validation, nothing rewritten), routes on the fields it reads, and leaves the rest to
 * the spoke, whose answers, errors included, reach the client unchanged.
 */
import { expect } from '@jest/globals';
import { startFakeOpenAI, type FakeChatRequest, type FakeOpenAI } from '../fakes/openai';
import { LineCapture } from '../observability/capture';
import { postJson, startGateway, type TestGateway, jsonOf, type ErrorBody } from '../helpers/gateway';
import { until } from '../helpers/until';
import type { ChatCompletion } from '../../runtime/src/core/openai-types';

describe('proxy -> spoke, the thin hop', () => {
  let upstream: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;
  const proxyLogs = new LineCapture();
  const chatRequests = () => upstream.requests.filter((r) => r.path === '/v1/chat/completions');

  beforeAll(async () => {
    upstream = await startFakeOpenAI({ reply: 'forwarded as it came' });
    // An OpenAI provider behind the spoke: it passes on what OpenAI takes (user, metadata, developer).
    spoke = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: upstream.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] }],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] }, 'proxy', {
      probes: false,
      observability: { destination: proxyLogs },
    });
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await upstream.close();
  });

  it('hands the spoke the client body unchanged: metadata, user and developer messages reach OpenAI', async () => {
    const res = await postJson(`${proxy.url}/v1/chat/completions`, {
      model: 'chat',
      user: 'user-42',
      metadata: { team: 'search' },
      messages: [
        { role: 'developer', content: 'Answer briefly.' },
        { role: 'user', content: 'hi' },
      ],
    });
    expect(res.status).toBe(200);
    expect((await jsonOf<ChatCompletion>(res)).choices[0].message.content).toBe('forwarded as it came');
    const sent = chatRequests().at(-1)!.body as FakeChatRequest;
    expect(sent).toMatchObject({ model: 'gpt-4o-mini', user: 'user-42', metadata: { team: 'search' } });
    expect(sent.messages.map((m) => m.role)).toEqual(['developer', 'user']);
  });

  it('bad input gets the spoke 400 that names the field, and nothing reaches the provider', async () => {
    const before = chatRequests().length;
    const viaProxy = await postJson(`${proxy.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'a' }], temperature: 7 });
    const direct = await postJson(`${spoke.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'a' }], temperature: 7 });
    expect(viaProxy.status).toBe(400);
    const [a, b] = [(await jsonOf<ErrorBody>(viaProxy)).error, (await jsonOf<ErrorBody>(direct)).error];
    expect(a).toMatchObject({ type: 'invalid_request_error', param: 'temperature' });
    expect(a.message).toBe(b.message);
    // The proxy checks what it routes on itself, with the same messages.
    const noModel = await postJson(`${proxy.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'a' }] });
    expect(noModel.status).toBe(400);
    expect((await jsonOf<ErrorBody>(noModel)).error).toMatchObject({ param: 'model', message: "Invalid 'model': missing required parameter" });
    const unknown = await postJson(`${proxy.url}/v1/chat/completions`, { model: 'gpt-9', messages: [{ role: 'user', content: 'a' }] });
    expect(unknown.status).toBe(404);
    expect(chatRequests().length).toBe(before);
  });

  it('a stream without include_usage: no usage chunk for the client, the real usage for the proxy', async () => {
    const stream = await proxy.client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('forwarded as it came');
    const sent = chatRequests().at(-1)!.body as FakeChatRequest;
    expect(sent.stream_options).toEqual({ include_usage: true }); // the spoke always asks for it
    await until(() => proxyLogs.requests().at(-1)?.stream === true);
    const line = proxyLogs.requests().at(-1)!;
    expect(line).toMatchObject({ stream: true, status: 200 });
    expect((line.tokens as { out: number }).out).toBeGreaterThan(0);
  });

  it('a spoke streams the usage chunk when the proxy asks for it, whatever the body says', async () => {
    const usageChunks = async (headers: Record<string, string>) => {
      const res = await postJson(`${spoke.url}/v1/chat/completions`, { model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }, headers);
      const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: {'));
      return events.map((e) => JSON.parse(e.slice(6)) as { usage?: unknown }).filter((c) => c.usage);
    };
    expect(await usageChunks({})).toHaveLength(0);
    const [usage] = await usageChunks({ 'x-gateway-usage': 'include' });
    expect(usage).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number), total_tokens: expect.any(Number) } });
  });
});
