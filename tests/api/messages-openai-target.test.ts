/**
 * A Claude-format client (the real @anthropic-ai/sdk) served by an OpenAI target through
 * translation: tool calls become tool_use blocks (streamed as one `input_json_delta` each,
 * parallel calls as consecutive blocks), the tool's result goes back as a tool message, the
 * SDK's stream helpers accumulate the events into the same message the JSON answer is, an
 * answer ending in tool calls says tool_use whatever finish_reason the server gave, and an
 * answer max_tokens cut inside a tool call ends with stop_reason max_tokens, as Claude's does.
 */
import Anthropic from '@anthropic-ai/sdk';
import { startFakeOpenAI, type FakeChatRequest, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const WEATHER: Anthropic.Tool = { name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const WRITE: Anthropic.Tool = { name: 'write_file', input_schema: { type: 'object', properties: { path: { type: 'string' }, text: { type: 'string' } } } };

const base = { id: 'chatcmpl-par', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini' };
const frame = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`;
const usageFrame = `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 40, completion_tokens: 30, total_tokens: 70 } })}\n\n`;
const call = (index: number, id: string, name: string, args: string) => ({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: args } }] });
const more = (index: number, args: string) => ({ tool_calls: [{ index, function: { arguments: args } }] });

/** What OpenAI streams for text and two calls at once (the second's arguments in one piece). */
const PARALLEL = [
  frame({ role: 'assistant', content: 'Checking both.' }),
  frame(call(0, 'call_rome', 'weather', '')),
  frame(more(0, '{"city":')),
  frame(more(0, '"Rome"}')),
  frame(call(1, 'call_oslo', 'weather', '{"city":"Oslo"}')),
  frame({}, 'tool_calls'),
  usageFrame,
  'data: [DONE]\n\n',
];

/** A file's contents cut by max_tokens inside the call's arguments. */
const CUT = [
  frame({ role: 'assistant', content: 'Writing the story.' }),
  frame(call(0, 'call_write', 'write_file', '{"path":"story.txt","text":"Once upon')),
  frame(more(0, ' a time')),
  frame({}, 'length'),
  usageFrame,
  'data: [DONE]\n\n',
];

function lastToolResult(req: FakeChatRequest): string | undefined {
  const last = req.messages.at(-1);
  return last?.role === 'tool' ? String(last.content) : undefined;
}

describe('Messages on an OpenAI target, through the Anthropic SDK', () => {
  let fake: FakeOpenAI;
  let gw: TestGateway;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await startFakeOpenAI({
      toolCall: (req) => (lastToolResult(req) ? undefined : { arguments: { city: 'Rome' } }),
      reply: (req) => `It is ${lastToolResult(req) ?? 'unknown'} in Rome.`,
    });
    gw = await startGateway({
      providers: [{ id: 'oa', type: 'openai', accounts: [{ id: 'acct', endpoints: [{ region: 'us', url: fake.url }] }] }],
      models: [{ name: 'gpt', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] }],
    });
    client = new Anthropic({ baseURL: gw.url, apiKey: 'k', maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });
  afterEach(() => {
    fake.options.editFrames = undefined;
    fake.options.editCompletion = undefined;
  });

  it('round-trips a tool call: tool_use from the stream helpers, tool_result back as a tool message, the answer', async () => {
    const ask = { model: 'gpt', max_tokens: 200, tools: [WEATHER], tool_choice: { type: 'tool' as const, name: 'weather', disable_parallel_tool_use: true } };
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Rome?' };
    const stream = client.messages.stream({ ...ask, messages: [question] });
    let json = '';
    stream.on('inputJson', (delta) => (json += delta));
    const turn = await stream.finalMessage();
    expect(turn.stop_reason).toBe('tool_use');
    expect(turn.content).toEqual([{ type: 'tool_use', id: 'call_fake1', name: 'weather', input: { city: 'Rome' } }]);
    expect(JSON.parse(json)).toEqual({ city: 'Rome' });
    expect(fake.requests.at(-1)?.body).toMatchObject({ tool_choice: { type: 'function', function: { name: 'weather' } }, parallel_tool_calls: false });

    const answer = await client.messages.create({
      ...ask,
      tool_choice: { type: 'auto' },
      messages: [question, { role: 'assistant', content: turn.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_fake1', content: '21°C' }] }],
    });
    expect(answer).toMatchObject({ stop_reason: 'end_turn', content: [{ type: 'text', text: 'It is 21°C in Rome.' }] });
    expect((fake.requests.at(-1)?.body as FakeChatRequest).messages.slice(1)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_fake1', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
      { role: 'tool', tool_call_id: 'call_fake1', content: '21°C' },
    ]);
  });

  it('streams parallel tool calls as consecutive tool_use blocks the SDK accumulates', async () => {
    fake.options.editFrames = () => PARALLEL;
    const events: Anthropic.MessageStreamEvent[] = [];
    const stream = client.messages.stream({ model: 'gpt', max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user', content: 'Rome and Oslo?' }] });
    stream.on('streamEvent', (ev) => events.push(ev));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Checking both.' }),
      { type: 'tool_use', id: 'call_rome', name: 'weather', input: { city: 'Rome' } },
      { type: 'tool_use', id: 'call_oslo', name: 'weather', input: { city: 'Oslo' } },
    ]);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.usage).toMatchObject({ input_tokens: 40, output_tokens: 30 });
    expect(events.filter((e) => e.type === 'content_block_start').map((e) => e.index)).toEqual([0, 1, 2]);
  });

  it('says tool_use when a server ends its tool calls with finish_reason "stop" (as some OpenAI-compatible servers do), JSON and streamed', async () => {
    const ask = { model: 'gpt', max_tokens: 200, tools: [WEATHER], messages: [{ role: 'user' as const, content: 'Weather in Rome?' }] };
    fake.options.editFrames = (frames) => frames.map((f) => f.replace('"finish_reason":"tool_calls"', '"finish_reason":"stop"'));
    const streamed = await client.messages.stream(ask).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'weather', input: { city: 'Rome' } }] });

    fake.options.editCompletion = (c) => {
      (c.choices as Array<{ finish_reason: string }>)[0].finish_reason = 'stop';
      return c;
    };
    const whole = await client.messages.create(ask);
    expect(whole).toMatchObject({ stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'weather', input: { city: 'Rome' } }] });
  });

  it('ends an answer max_tokens cut inside a tool call with stop_reason max_tokens and the text so far, JSON and streamed', async () => {
    fake.options.editFrames = () => CUT;
    const streamed = await client.messages.stream({ model: 'gpt', max_tokens: 12, tools: [WRITE], messages: [{ role: 'user', content: 'Write a story to a file.' }] }).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'max_tokens', content: [{ type: 'text', text: 'Writing the story.' }] });
    expect(streamed.content).toHaveLength(1);

    fake.options.editCompletion = (c) => {
      const choice = (c.choices as Array<{ finish_reason: string; message: Record<string, unknown> }>)[0];
      choice.finish_reason = 'length';
      choice.message.content = 'Writing the story.';
      choice.message.tool_calls = [{ id: 'call_write', type: 'function', function: { name: 'write_file', arguments: '{"path":"story.txt","text":"Once upon a time' } }];
      return c;
    };
    const whole = await client.messages.create({ model: 'gpt', max_tokens: 12, tools: [WRITE], messages: [{ role: 'user', content: 'Write a story to a file.' }] });
    expect(whole).toMatchObject({ stop_reason: 'max_tokens', content: [{ type: 'text', text: 'Writing the story.' }] });
    expect(whole.content).toHaveLength(1);
  });
});
