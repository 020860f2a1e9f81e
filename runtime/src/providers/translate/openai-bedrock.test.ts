import type { ConverseResponse, ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import { chatRequestSchema, type ChatRequest } from '../../core/chat-request';
import type { ChatCompletionChunk } from '../../core/openai-types';
import { ProviderError } from '../errors';
import { ConverseStreamTranslator, finishReasonOf, fromConverseResponse, streamExceptionOf, toConverseRequest, usageFromBedrock } from './openai-bedrock';

const MODEL = 'amazon.nova-pro-v1:0';
const META = { id: 'chatcmpl-test', created: 1_700_000_000, model: MODEL };

function chat(body: Record<string, unknown>): ChatRequest {
  return chatRequestSchema.parse({ model: 'chat', ...body });
}

function rejection(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

const weatherCall = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('toConverseRequest', () => {
  it('moves system and developer messages to top-level system and keeps user/assistant turns', () => {
    const out = toConverseRequest(
      chat({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Bonjour' },
          { role: 'user', content: 'Weather?' },
        ],
      }),
      MODEL,
    );
    expect(out.modelId).toBe(MODEL);
    expect(out.system).toEqual([{ text: 'Be brief.' }, { text: 'Answer in French.' }]);
    expect(out.messages).toEqual([
      { role: 'user', content: [{ text: 'Hi' }] },
      { role: 'assistant', content: [{ text: 'Bonjour' }] },
      { role: 'user', content: [{ text: 'Weather?' }] },
    ]);
    expect(out.toolConfig).toBeUndefined();
    expect(out.inferenceConfig).toBeUndefined();
  });

  it('merges consecutive same-role messages into one turn', () => {
    const out = toConverseRequest(
      chat({
        messages: [
          { role: 'user', content: 'one' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'two' },
              { type: 'text', text: 'three' },
            ],
          },
          { role: 'assistant', content: 'a' },
          { role: 'assistant', content: 'b' },
        ],
      }),
      MODEL,
    );
    expect(out.messages).toEqual([
      { role: 'user', content: [{ text: 'one' }, { text: 'two' }, { text: 'three' }] },
      { role: 'assistant', content: [{ text: 'a' }, { text: 'b' }] },
    ]);
  });

  it('never sends blank text blocks: a blank turn disappears and its neighbours merge', () => {
    const out = toConverseRequest(
      chat({
        messages: [
          { role: 'system', content: '  ' },
          { role: 'user', content: 'first' },
          { role: 'assistant', content: '' },
          {
            role: 'user',
            content: [
              { type: 'text', text: '\n' },
              { type: 'text', text: 'second' },
            ],
          },
        ],
      }),
      MODEL,
    );
    expect(out.system).toBeUndefined();
    expect(out.messages).toEqual([{ role: 'user', content: [{ text: 'first' }, { text: 'second' }] }]);
  });

  it('turns assistant tool_calls into toolUse and tool messages into one user turn of toolResults', () => {
    const out = toConverseRequest(
      chat({
        tools: [weatherTool],
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [weatherCall, { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
          { role: 'tool', tool_call_id: 'call_2', content: '' },
          { role: 'user', content: 'Thanks, and tomorrow?' },
        ],
      }),
      MODEL,
    );
    expect(out.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [{ toolUse: { toolUseId: 'call_1', name: 'get_weather', input: { city: 'Paris' } } }, { toolUse: { toolUseId: 'call_2', name: 'get_weather', input: { city: 'Rome' } } }],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_1', content: [{ text: '18C' }] } },
          // An empty tool output still needs a non-blank block.
          { toolResult: { toolUseId: 'call_2', content: [{ text: '(empty result)' }] } },
          { text: 'Thanks, and tomorrow?' },
        ],
      },
    ]);
  });

  it('keeps assistant text before its tool calls and reads blank arguments as {}', () => {
    const out = toConverseRequest(
      chat({
        tools: [weatherTool],
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Let me check.', tool_calls: [{ ...weatherCall, function: { name: 'get_weather', arguments: '' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
        ],
      }),
      MODEL,
    );
    expect(out.messages?.[1]).toEqual({
      role: 'assistant',
      content: [{ text: 'Let me check.' }, { toolUse: { toolUseId: 'call_1', name: 'get_weather', input: {} } }],
    });
  });

  it('refuses tool call arguments that are not a JSON object, naming the message', () => {
    const bad = (args: string) =>
      rejection(() =>
        toConverseRequest(
          chat({
            messages: [
              { role: 'user', content: 'Hi' },
              { role: 'assistant', tool_calls: [{ ...weatherCall, function: { name: 'get_weather', arguments: args } }] },
            ],
          }),
          MODEL,
        ),
      );
    const notJson = bad('{"city": Paris}');
    expect(notJson.failure).toBe('refused');
    expect(notJson.status).toBe(400);
    expect(notJson.param).toBe('messages[1].tool_calls');
    expect(notJson.message).toMatch(/messages\[1\]\.tool_calls\[0\]\.function\.arguments is not valid JSON/);
    expect(bad('[1,2]').message).toMatch(/must be a JSON object/);
  });

  it('maps tools and every tool_choice to toolConfig', () => {
    const config = (tool_choice?: unknown) =>
      toConverseRequest(
        chat({
          messages: [{ role: 'user', content: 'Hi' }],
          tools: [weatherTool, { type: 'function', function: { name: 'no_args', description: '' } }],
          ...(tool_choice === undefined ? {} : { tool_choice }),
        }),
        MODEL,
      ).toolConfig;
    expect(config()).toEqual({
      tools: [
        { toolSpec: { name: 'get_weather', description: 'Weather now', inputSchema: { json: weatherTool.function.parameters } } },
        // Converse rejects an empty description; a tool without parameters takes no input.
        { toolSpec: { name: 'no_args', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
    });
    expect(config('auto')?.toolChoice).toEqual({ auto: {} });
    expect(config('required')?.toolChoice).toEqual({ any: {} });
    expect(config({ type: 'function', function: { name: 'no_args' } })?.toolChoice).toEqual({ tool: { name: 'no_args' } });
  });

  it('declares the tools of the history when the request has none (Converse requires toolConfig then)', () => {
    const out = toConverseRequest(
      chat({
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', tool_calls: [weatherCall] },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        ],
      }),
      MODEL,
    );
    expect(out.toolConfig?.tools?.map((t) => t.toolSpec?.name)).toEqual(['get_weather']);
  });

  it('tool_choice "none" drops the tools when the history has no tool blocks', () => {
    const out = toConverseRequest(chat({ messages: [{ role: 'user', content: 'Hi' }], tools: [weatherTool], tool_choice: 'none' }), MODEL);
    expect(out.toolConfig).toBeUndefined();
  });

  it('tool_choice "none" with tool history is refused instead of silently allowing tool calls', () => {
    const err = rejection(() =>
      toConverseRequest(
        chat({
          tools: [weatherTool],
          tool_choice: 'none',
          messages: [
            { role: 'user', content: 'Hi' },
            { role: 'assistant', tool_calls: [weatherCall] },
            { role: 'tool', tool_call_id: 'call_1', content: '18C' },
          ],
        }),
        MODEL,
      ),
    );
    expect(err.failure).toBe('refused');
    expect(err.status).toBe(400);
    expect(err.param).toBe('tool_choice');
    expect(err.message).toMatch(/tool_choice "none"/);
  });

  it('maps sampling parameters to inferenceConfig', () => {
    const out = toConverseRequest(chat({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50, max_completion_tokens: 100, temperature: 0.2, top_p: 0.9, stop: 'END' }), MODEL);
    expect(out.inferenceConfig).toEqual({ maxTokens: 100, temperature: 0.2, topP: 0.9, stopSequences: ['END'] });
    const list = toConverseRequest(chat({ messages: [{ role: 'user', content: 'Hi' }], stop: ['a', 'b'], max_tokens: 7 }), MODEL);
    expect(list.inferenceConfig).toEqual({ maxTokens: 7, stopSequences: ['a', 'b'] });
  });
});

describe('fromConverseResponse', () => {
  const response = (content: unknown[], stopReason: string, usage: Record<string, number> = { inputTokens: 10, outputTokens: 5, totalTokens: 15 }) =>
    ({ output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 3 } }) as unknown as ConverseResponse;

  it('turns a text answer into a chat.completion', () => {
    expect(fromConverseResponse(response([{ text: 'Hello ' }, { text: 'there' }], 'end_turn'), META)).toEqual({
      id: META.id,
      object: 'chat.completion',
      created: META.created,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  });

  it('turns toolUse blocks into tool_calls with JSON string arguments', () => {
    const out = fromConverseResponse(response([{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Paris' } } }], 'tool_use'), META);
    expect(out.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'tooluse_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
  });

  it('counts cache reads and writes as prompt tokens and reports reads as cached, writes as cache_write_tokens', () => {
    expect(usageFromBedrock({ inputTokens: 10, outputTokens: 4, totalTokens: 44, cacheReadInputTokens: 20, cacheWriteInputTokens: 10 })).toEqual({
      prompt_tokens: 40,
      completion_tokens: 4,
      total_tokens: 44,
      prompt_tokens_details: { cached_tokens: 20, cache_write_tokens: 10 },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['content_filtered', 'content_filter'],
    ['guardrail_intervened', 'content_filter'],
  ])('maps stopReason %s to finish_reason %s', (stop, finish) => {
    expect(finishReasonOf(stop)).toBe(finish);
  });

  it('reports an exceeded context window as a context_length failure', () => {
    const err = rejection(() => fromConverseResponse(response([{ text: 'partial' }], 'model_context_window_exceeded'), META));
    expect(err.failure).toBe('context_length');
  });

  it('treats an answer without an output message as a transient failure', () => {
    const err = rejection(() => fromConverseResponse({ stopReason: 'end_turn' } as unknown as ConverseResponse, META));
    expect(err.failure).toBe('transient');
  });
});

describe('ConverseStreamTranslator', () => {
  const run = (events: unknown[]): { chunks: ChatCompletionChunk[]; translator: ConverseStreamTranslator } => {
    const translator = new ConverseStreamTranslator(META);
    const chunks = events.flatMap((e) => translator.push(e as ConverseStreamOutput));
    return { chunks, translator };
  };
  const deltas = (chunks: ChatCompletionChunk[]) => chunks.map((c) => (c.choices.length ? c.choices[0].delta : { usage: c.usage }));

  it('streams text with a role chunk first, a finish chunk and a usage chunk last', () => {
    const { chunks, translator } = run([
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hel' }, p: 'abcdef' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'lo' } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { messageStop: { stopReason: 'end_turn', p: 'abc' } },
      { metadata: { usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 }, metrics: { latencyMs: 1 } } },
    ]);
    expect(deltas(chunks)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hel' }, { content: 'lo' }, {}, { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks.slice(0, 3).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    expect(chunks[4].choices).toEqual([]);
    expect(chunks.every((c) => c.id === META.id && c.model === MODEL && c.object === 'chat.completion.chunk')).toBe(true);
    expect(translator.end()).toEqual([]);
  });

  it('numbers tool calls with a running index, not the content block index', () => {
    const { chunks } = run([
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Checking.' } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      { contentBlockStart: { contentBlockIndex: 1, start: { toolUse: { toolUseId: 't1', name: 'get_weather' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"Paris"}' } } } },
      { contentBlockStop: { contentBlockIndex: 1 } },
      { contentBlockStart: { contentBlockIndex: 2, start: { toolUse: { toolUseId: 't2', name: 'get_time' } } } },
      { contentBlockDelta: { contentBlockIndex: 2, delta: { toolUse: { input: '{}' } } } },
      { contentBlockStop: { contentBlockIndex: 2 } },
      { messageStop: { stopReason: 'tool_use' } },
      { metadata: { usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } } },
    ]);
    expect(deltas(chunks).slice(1, 7)).toEqual([
      { content: 'Checking.' },
      { tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      { tool_calls: [{ index: 1, id: 't2', type: 'function', function: { name: 'get_time', arguments: '' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
    ]);
    expect(chunks[7].choices[0]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    expect(chunks[8].usage).toEqual({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
  });

  it('opens with the role chunk even when the first event is a tool call start', () => {
    const { chunks } = run([{ contentBlockStart: { contentBlockIndex: 0, start: { toolUse: { toolUseId: 't1', name: 'f' } } } }]);
    expect(deltas(chunks)[0]).toEqual({ role: 'assistant', content: '' });
    expect(chunks[1].choices[0].delta.tool_calls?.[0].index).toBe(0);
  });

  it('refuses to end an answer that never reached messageStop', () => {
    const { translator } = run([{ messageStart: { role: 'assistant' } }, { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hal' } } }]);
    const err = rejection(() => translator.end());
    expect(err.failure).toBe('transient');
    expect(err.message).toMatch(/before messageStop/);
  });

  it('still ends with a usage chunk when metadata never came', () => {
    const { translator } = run([{ messageStart: { role: 'assistant' } }, { messageStop: { stopReason: 'max_tokens' } }]);
    const tail = translator.end();
    expect(tail).toHaveLength(1);
    expect(tail[0].choices).toEqual([]);
    expect(tail[0].usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it('keeps the usage chunk last even if metadata arrives before messageStop', () => {
    const { chunks } = run([
      { messageStart: { role: 'assistant' } },
      { metadata: { usage: { inputTokens: 2, outputTokens: 1, totalTokens: 3 } } },
      { messageStop: { stopReason: 'end_turn' } },
    ]);
    expect(chunks.map((c) => c.choices.length)).toEqual([1, 1, 0]);
    expect(chunks[2].usage?.total_tokens).toBe(3);
  });

  it('throws context_length when the stream stops on the context window', () => {
    const translator = new ConverseStreamTranslator(META);
    translator.push({ messageStart: { role: 'assistant' } });
    const err = rejection(() => translator.push({ messageStop: { stopReason: 'model_context_window_exceeded' } }));
    expect(err.failure).toBe('context_length');
  });

  it('names exception members of the stream', () => {
    expect(streamExceptionOf({ throttlingException: { name: 'ThrottlingException', message: 'slow down' } } as unknown as ConverseStreamOutput)).toEqual({
      name: 'ThrottlingException',
      message: 'slow down',
    });
    expect(streamExceptionOf({ messageStart: { role: 'assistant' } })).toBeUndefined();
  });
});
