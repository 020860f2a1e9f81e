import { expect } from '@jest/globals';
import type OpenAI from 'openai';
import { postJson, simulatedConfig, startGateway, type TestGateway, jsonOf, type HealthBody } from '../helpers/gateway';
import type { ChatCompletion, ChatCompletionChunk } from '../../runtime/src/core/openai-types';

describe('POST /v1/chat/completions with the OpenAI SDK (simulated provider)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(simulatedConfig());
  });
  afterAll(() => gw.close());

  it('answers a non-streaming request in the OpenAI shape with usage and route headers', async () => {
    const { data, response } = await gw.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }] }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('sim-model');
    expect(data.choices[0].message.role).toBe('assistant');
    expect(data.choices[0].message.content!.length).toBeGreaterThan(0);
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-gateway-route')).toBe('sim/acct-1/local/sim-model');
    expect(response.headers.get('x-gateway-attempts')).toBe('1');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps the client x-request-id', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { 'x-request-id': 'client-req-42' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('client-req-42');
  });

  it('serves the chat path with a query string, and an unsafe client x-request-id is replaced', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions?trace=1`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { 'x-request-id': 'bad id\twith tabs' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(await res.text()));
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('streams chunks in the OpenAI format with a final usage chunk when asked', async () => {
    const stream = await gw.client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Tell me something' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text.split(' ').length).toBeGreaterThan(5);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish!.choices[0].finish_reason).toBe('stop');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(5);
    expect(new Set(chunks.map((c) => c.object))).toEqual(new Set(['chat.completion.chunk']));
  });

  it('leaves the usage chunk out when the client did not ask, and ends with [DONE]', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-gateway-route')).toBe('sim/acct-1/local/sim-model');
    const body = await res.text();
    const events = body.split('\n\n').filter(Boolean);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    const payloads = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as ChatCompletionChunk);
    expect(payloads.every((p) => p.choices.length === 1)).toBe(true);
    expect(payloads.some((p) => p.usage)).toBe(false);
  });

  it('returns tool calls, streamed and not', async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
    ];
    const done = await gw.client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools,
      tool_choice: 'required',
    });
    const call = done.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(done.choices[0].finish_reason).toBe('tool_calls');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ query: 'weather in Paris?' });

    const stream = gw.client.chat.completions.stream({
      model: 'chat',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const final = await stream.finalChatCompletion();
    const streamed = final.choices[0].message.tool_calls![0];
    expect(streamed.function.name).toBe('get_weather');
    expect(JSON.parse(streamed.function.arguments)).toEqual({ query: 'weather in Paris?' });

    // The simulated model's arguments follow the tool's own parameters (as the README's example tools expect).
    const forecast = await gw.client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Paris' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'forecast',
            parameters: {
              type: 'object',
              properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer', minimum: 1 } },
              required: ['city', 'unit', 'days'],
            },
          },
        },
      ],
      tool_choice: 'required',
    });
    const args = (forecast.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall).function.arguments;
    expect(JSON.parse(args)).toEqual({ city: 'Paris', unit: 'celsius', days: 1 });

    // The tool result goes back; the answer is text.
    const after = await gw.client.chat.completions.create({
      model: 'chat',
      tools,
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' },
      ],
    });
    expect(after.choices[0].finish_reason).toBe('stop');
    expect(after.choices[0].message.content).toBeTruthy();
  });

  it('serves /inference like /v1/chat/completions', async () => {
    const res = await postJson(`${gw.url}/inference`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect((await jsonOf<ChatCompletion>(res)).object).toBe('chat.completion');
  });

  it('lists logical models and reports health', async () => {
    const models = await gw.client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['chat']);
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    const body = await jsonOf<HealthBody>(health);
    expect(body.routes).toEqual([expect.objectContaining({ route: 'sim/acct-1/local/sim-model', state: 'healthy' })]);
  });
});
