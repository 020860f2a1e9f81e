/** Every kind of bad input gets a 4xx in the OpenAI error shape naming the field, and nothing goes upstream. */
import OpenAI from 'openai';
import { startFakeOpenAI } from '../fakes/openai';
import type { FakeServer } from '../fakes/fault';
import { postJson, startGateway, type TestGateway, jsonOf, type ErrorBody } from '../helpers/gateway';

describe('bad input', () => {
  let upstream: FakeServer;
  let gw: TestGateway;
  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    gw = await startGateway({
      server: { maxBodyBytes: 4096 },
      providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: upstream.url }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-test' }] }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });
  afterEach(() => {
    // Health probes (GET /v1/models) may reach it; no chat request may.
    expect(upstream.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
  });

  const ok = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };
  const cases: Array<[string, unknown, number, string | null, RegExp]> = [
    ['invalid JSON', '{"model": "chat", "messages": [', 400, null, /not valid JSON/],
    ['an empty body', '', 400, null, /empty/],
    ['a JSON array body', '[1,2]', 400, null, /JSON object/],
    ['missing messages', { model: 'chat' }, 400, 'messages', /missing required parameter/],
    ['empty messages', { model: 'chat', messages: [] }, 400, 'messages', /must not be empty/],
    ['messages of the wrong type', { model: 'chat', messages: 'hi' }, 400, 'messages', /expected array, got string/],
    ['a missing model', { messages: ok.messages }, 400, 'model', /missing required parameter/],
    [
      'an unknown role',
      {
        model: 'chat',
        messages: [
          { role: 'user', content: 'a' },
          { role: 'robot', content: 'b' },
        ],
      },
      400,
      'messages[1].role',
      /unknown role "robot"/,
    ],
    ['a message without a role', { model: 'chat', messages: [{ content: 'a' }] }, 400, 'messages[0].role', /missing required parameter/],
    ['a message that is not an object', { model: 'chat', messages: ['hi'] }, 400, 'messages[0]', /expected object, got string/],
    ['content of the wrong type', { model: 'chat', messages: [{ role: 'user', content: 42 }] }, 400, 'messages[0].content', /.+/],
    ['temperature out of range', { ...ok, temperature: 7 }, 400, 'temperature', /.+/],
    ['max_tokens of the wrong type', { ...ok, max_tokens: 'many' }, 400, 'max_tokens', /expected number, got string/],
    ['n > 1', { ...ok, n: 3 }, 400, 'n', /only n = 1/],
    ['an unsupported parameter', { ...ok, logit_bias: { '50256': -100 } }, 400, 'logit_bias', /Unrecognized request argument supplied: logit_bias/],
    ['logprobs', { ...ok, logprobs: true }, 400, 'logprobs', /not supported/],
    ['a tool message without tool_call_id', { model: 'chat', messages: [{ role: 'tool', content: 'x' }] }, 400, 'messages[0].tool_call_id', /.+/],
    ['tool_choice naming an unknown tool', { ...ok, tool_choice: { type: 'function', function: { name: 'nope' } } }, 400, 'tool_choice', /not in tools/],
  ];

  it.each(cases)('rejects %s', async (_name, body, status, param, message) => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    expect(res.status).toBe(status);
    const json = await jsonOf<ErrorBody>(res);
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.param).toBe(param);
    expect(json.error.message).toMatch(message);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers an unknown model with 404 naming the known ones', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { ...ok, model: 'gpt-9' });
    expect(res.status).toBe(404);
    const json = await jsonOf<ErrorBody>(res);
    expect(json.error).toMatchObject({ type: 'not_found_error', code: 'model_not_found', param: 'model' });
    expect(json.error.message).toMatch(/"gpt-9" does not exist.*chat/);
  });

  it('answers an oversize body with 413', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { ...ok, messages: [{ role: 'user', content: 'x'.repeat(10_000) }] });
    expect(res.status).toBe(413);
    const json = await jsonOf<ErrorBody>(res);
    expect(json.error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
  });

  it('answers an oversize body sent without a length (chunked) with 413', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ ...ok, messages: [{ role: 'user', content: 'x'.repeat(10_000) }] }));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // In pieces, so that the limit is crossed part-way through the body.
        for (let i = 0; i < big.length; i += 1000) controller.enqueue(big.subarray(i, i + 1000));
        controller.close();
      },
    });
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(res.headers.get('content-length')).not.toBeNull();
    expect(res.status).toBe(413);
    expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers other methods on the chat path with 405 in the OpenAI shape, naming POST', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await jsonOf<ErrorBody>(res)).error.code).toBe('method_not_allowed');
  });

  it('surfaces each status as the OpenAI SDK error class', async () => {
    await expect(gw.client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(gw.client.chat.completions.create({ model: 'chat', messages: [] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('answers unknown paths with 404 in the OpenAI shape', async () => {
    const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect((await jsonOf<ErrorBody>(res)).error.code).toBe('unknown_url');
  });
});
