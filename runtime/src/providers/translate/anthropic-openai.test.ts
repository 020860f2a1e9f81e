import { expect } from '@jest/globals';
import type { MessagesRequest } from '../../core/messages-request';
import type { ChatCompletion, ChatCompletionChunk } from '../../core/openai-types';
import { ProviderError } from '../errors';
import type { MessagesEvent } from '../messages-types';
import { ChunksToEvents, messageFromCompletion, toChatRequest } from './anthropic-openai';

const base = (extra: Partial<MessagesRequest>): MessagesRequest => ({ model: 'claude', max_tokens: 200, messages: [{ role: 'user', content: 'Hi' }], ...extra });

/** What `fn` throws (a ProviderError the assertions then read), or undefined. */
const refusal = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err instanceof ProviderError ? err : undefined;
  }
};

describe('toChatRequest', () => {
  it('maps the system prompt, a tool round trip and the sampling settings', () => {
    const { chat, notes } = toChatRequest(
      base({
        system: [
          { type: 'text', text: 'Be brief.' },
          { type: 'text', text: 'Use metric units.' },
        ],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Rome?' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Rome' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '21°C' }] },
              { type: 'text', text: 'Thanks!' },
            ],
          },
        ],
        tools: [{ name: 'weather', description: 'Weather now', input_schema: { type: 'object' } }],
        tool_choice: { type: 'auto', disable_parallel_tool_use: true },
        temperature: 0.4,
        top_p: 0.9,
        stop_sequences: ['END'],
        metadata: { user_id: 'u-1' },
      }),
    );
    expect(chat).toEqual({
      model: 'claude',
      max_completion_tokens: 200,
      messages: [
        { role: 'system', content: 'Be brief.\n\nUse metric units.' },
        { role: 'user', content: 'Weather in Rome?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: '21°C' },
        { role: 'user', content: 'Thanks!' },
      ],
      tools: [{ type: 'function', function: { name: 'weather', description: 'Weather now', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      temperature: 0.4,
      top_p: 0.9,
      stop: ['END'],
      user: 'u-1',
    });
    expect(notes).toEqual([]);
  });

  it('leaves thinking blocks and Claude-only settings out, with a note, never inventing anything', () => {
    const { chat, notes } = toChatRequest(
      base({
        thinking: { type: 'enabled', budget_tokens: 2048 },
        top_k: 5,
        messages: [
          { role: 'user', content: 'Hi' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hm', signature: 'sig' },
              { type: 'redacted_thinking', data: 'xx' },
              { type: 'text', text: 'Hello' },
            ],
          },
          { role: 'user', content: 'Again' },
        ],
      }),
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Again' },
    ]);
    expect(chat).not.toHaveProperty('thinking');
    expect(chat).not.toHaveProperty('top_k');
    expect(notes).toEqual(['not sent to a non-Claude target: thinking blocks, thinking, top_k']);
  });

  it('turns a user’s images into image parts: base64 as a data: URL, a URL as it is', () => {
    const { chat } = toChatRequest(
      base({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
              { type: 'text', text: 'Compare them.' },
            ],
          },
        ],
      }),
    );
    expect(chat.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          { type: 'text', text: 'Compare them.' },
        ],
      },
    ]);
  });

  it.each([
    ['a document', { messages: [{ role: 'user' as const, content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] }, 'messages.0.content.0'],
    [
      'an image in a tool result',
      {
        messages: [
          { role: 'assistant' as const, content: [{ type: 'tool_use', id: 't1', name: 'shot', input: {} }] },
          { role: 'user' as const, content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] }] },
        ],
      },
      'messages.1.content.0.content.0',
    ],
    ['an image from the Files API', { messages: [{ role: 'user' as const, content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }] }, 'messages.0.content.0.source'],
    ['a server tool', { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools.0'],
    ['too many stop sequences', { stop_sequences: ['a', 'b', 'c', 'd', 'e'] }, 'stop_sequences'],
    ['max_tokens 0', { max_tokens: 0 }, 'max_tokens'],
  ])('refuses %s by name (a 400, no fallback changes its meaning)', (_, extra, param) => {
    const err = refusal(() => toChatRequest(base(extra)));
    expect(err).toMatchObject({ failure: 'refused', status: 400, param });
  });
});

describe('messageFromCompletion', () => {
  it('answers text and tool calls as Anthropic blocks with Anthropic usage', () => {
    const completion: ChatCompletion = {
      id: 'chatcmpl-abc',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-test',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Sure.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39, prompt_tokens_details: { cached_tokens: 10 } },
    };
    expect(messageFromCompletion(completion)).toEqual({
      id: 'msg_abc',
      type: 'message',
      role: 'assistant',
      model: 'gpt-test',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Rome' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 10, cache_creation_input_tokens: 0 },
    });
  });

  it('reports prompt-cache writes as cache creation, apart from the input (cached_tokens and cache_write_tokens are part of prompt_tokens)', () => {
    const completion: ChatCompletion = {
      id: 'chatcmpl-w',
      object: 'chat.completion',
      created: 1,
      model: 'nova-test',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1500, completion_tokens: 2, total_tokens: 1502, prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 400 } },
    };
    expect(messageFromCompletion(completion).usage).toEqual({ input_tokens: 100, output_tokens: 2, cache_read_input_tokens: 1000, cache_creation_input_tokens: 400 });
  });

  it('treats tool arguments that are not a JSON object as a broken answer (another route may serve)', () => {
    const completion = { id: 'c', object: 'chat.completion', created: 1, model: 'm', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } } as const;
    const bad: ChatCompletion = {
      ...completion,
      choices: [
        { index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }, finish_reason: 'tool_calls' },
      ],
    };
    expect(refusal(() => messageFromCompletion(bad))).toMatchObject({ failure: 'transient', code: 'malformed_tool_use' });
  });
});

describe('ChunksToEvents', () => {
  const chunk = (delta: ChatCompletionChunk['choices'][number]['delta'], finish: ChatCompletionChunk['choices'][number]['finish_reason'] = null): ChatCompletionChunk => ({
    id: 'chatcmpl-s1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-test',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const usage: ChatCompletionChunk = {
    id: 'chatcmpl-s1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-test',
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
  };
  const shape = (events: MessagesEvent[]) =>
    events.map((e) => [e.type, e.data.index as number | undefined, (e.data.delta as { type?: string } | undefined)?.type].filter((x) => x !== undefined).join(':'));

  it('streams text as it comes and each tool call whole, in Anthropic’s event order', () => {
    const t = new ChunksToEvents(10);
    const events = [
      ...t.push(chunk({ role: 'assistant', content: '' })),
      ...t.push(chunk({ content: 'Let me ' })),
      ...t.push(chunk({ content: 'look.' })),
      ...t.push(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'lookup', arguments: '{}' } }] })),
      ...t.push(chunk({}, 'tool_calls')),
      ...t.push(usage),
      ...t.end(),
    ];
    expect(shape(events)).toEqual([
      'message_start',
      'content_block_start:0',
      'content_block_delta:0:text_delta',
      'content_block_delta:0:text_delta',
      'content_block_stop:0',
      'content_block_start:1',
      'content_block_delta:1:input_json_delta',
      'content_block_stop:1',
      'content_block_start:2',
      'content_block_delta:2:input_json_delta',
      'content_block_stop:2',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0].data.message).toMatchObject({ id: 'msg_s1', model: 'gpt-test', usage: { input_tokens: 10, output_tokens: 0 } });
    expect(events[5].data.content_block).toEqual({ type: 'tool_use', id: 'call_a', name: 'lookup', input: {} });
    expect(events[6].data.delta).toEqual({ type: 'input_json_delta', partial_json: '{"q":"x"}' });
    expect(events.at(-2)?.data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 12, output_tokens: 7 } });
  });

  it('refuses to end a stream that never said it finished', () => {
    const t = new ChunksToEvents(1);
    t.push(chunk({ content: 'half' }));
    expect(refusal(() => t.end())).toMatchObject({ failure: 'transient', code: 'incomplete_stream' });
  });
});
