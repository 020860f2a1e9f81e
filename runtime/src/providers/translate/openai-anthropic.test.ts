import { expect } from '@jest/globals';
import { chatRequestSchema, type ChatRequest } from '../../core/chat-request';
import type { ChatCompletionChunk } from '../../core/openai-types';
import { continuationRequests } from '../../stream/resilient-stream';
import { ProviderError } from '../errors';
import {
  ANTHROPIC_DEFAULT_MAX_TOKENS,
  ANTHROPIC_SUPPORTS_PREFILL,
  AnthropicStreamTranslator,
  fromAnthropicMessage,
  parseAnthropicMessage,
  toAnthropicRequest,
  type AnthropicMessage,
} from './openai-anthropic';

const chat = (body: Record<string, unknown>): ChatRequest => chatRequestSchema.parse({ model: 'chat', ...body });
const user = (content: string) => ({ role: 'user', content });

function refusal(fn: () => unknown): ProviderError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

describe('toAnthropicRequest: messages', () => {
  it('hoists system and developer messages to the top-level system and merges consecutive turns', () => {
    const out = toAnthropicRequest(
      chat({
        messages: [
          { role: 'system', content: 'Be brief.' },
          user('Hi'),
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          user('there'),
          { role: 'assistant', content: 'Bonjour' },
          user('Again'),
        ],
      }),
      'claude-x',
    );
    expect(out.model).toBe('claude-x');
    expect(out.system).toBe('Be brief.\n\nAnswer in French.');
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'text', text: 'there' },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'Bonjour' }] },
      { role: 'user', content: [{ type: 'text', text: 'Again' }] },
    ]);
  });

  it('never sends empty or blank text blocks', () => {
    const out = toAnthropicRequest(chat({ messages: [{ role: 'system', content: '  ' }, user(''), user('Real question'), { role: 'assistant', content: '' }, user('?')] }), 'm');
    expect(out.system).toBeUndefined();
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Real question' },
          { type: 'text', text: '?' },
        ],
      },
    ]);
  });

  it('refuses a conversation with no non-blank user or assistant content, naming messages', () => {
    const err = refusal(() => toAnthropicRequest(chat({ messages: [{ role: 'system', content: 'Only a system prompt' }] }), 'm'));
    expect(err.failure).toBe('refused');
    expect(err.param).toBe('messages');
  });

  it('turns tool calls into tool_use blocks and tool messages into a user turn of tool_result blocks', () => {
    const out = toAnthropicRequest(
      chat({
        messages: [
          user('Weather in Paris and Rome?'),
          {
            role: 'assistant',
            content: 'Let me look.',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              { id: 'toolu_2', type: 'function', function: { name: 'weather', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_1', content: '18C' },
          { role: 'tool', tool_call_id: 'toolu_2', content: '' },
          user('Thanks, and tomorrow?'),
        ],
        tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      }),
      'm',
    );
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'toolu_2' },
          { type: 'text', text: 'Thanks, and tomorrow?' },
        ],
      },
    ]);
    expect(out.tools).toEqual([{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
  });

  it('refuses tool call arguments that are not a JSON object, naming the message', () => {
    const call = (args: string) => chat({ messages: [user('x'), { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: args } }] }] });
    const invalid = refusal(() => toAnthropicRequest(call('{"city": '), 'm'));
    expect(invalid).toMatchObject({ failure: 'refused', status: 400, param: 'messages[1].tool_calls' });
    expect(invalid.message).toContain('messages[1].tool_calls[0].function.arguments is not valid JSON');
    expect(refusal(() => toAnthropicRequest(call('[1,2]'), 'm')).message).toContain('must be a JSON object');
  });

  it('defines the tools of a tool history when the client sent none, and forbids calling them', () => {
    const out = toAnthropicRequest(
      chat({
        messages: [
          user('x'),
          { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'found' },
        ],
      }),
      'm',
    );
    expect(out.tools?.map((t) => t.name)).toEqual(['lookup']);
    expect(out.tool_choice).toEqual({ type: 'none' });
  });
});

describe('toAnthropicRequest: tools and parameters', () => {
  const tools = [
    { type: 'function', function: { name: 'a', description: 'Tool A' } },
    { type: 'function', function: { name: 'b', parameters: { type: 'object', properties: {} } } },
  ];

  it('maps tools with a default input schema', () => {
    const out = toAnthropicRequest(chat({ messages: [user('x')], tools }), 'm');
    expect(out.tools).toEqual([
      { name: 'a', description: 'Tool A', input_schema: { type: 'object' } },
      { name: 'b', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(out.tool_choice).toBeUndefined();
  });

  it.each([
    ['auto', undefined, { type: 'auto' }],
    ['required', undefined, { type: 'any' }],
    ['none', undefined, { type: 'none' }],
    [{ type: 'function', function: { name: 'b' } }, undefined, { type: 'tool', name: 'b' }],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
    ['required', false, { type: 'any', disable_parallel_tool_use: true }],
    [{ type: 'function', function: { name: 'a' } }, false, { type: 'tool', name: 'a', disable_parallel_tool_use: true }],
  ])('tool_choice %j with parallel_tool_calls %j becomes %j', (choice, parallel, expected) => {
    const out = toAnthropicRequest(chat({ messages: [user('x')], tools, tool_choice: choice, parallel_tool_calls: parallel }), 'm');
    expect(out.tool_choice).toEqual(expected);
  });

  it('always sends max_tokens: the client cap, else the default', () => {
    expect(toAnthropicRequest(chat({ messages: [user('x')] }), 'm').max_tokens).toBe(ANTHROPIC_DEFAULT_MAX_TOKENS);
    expect(ANTHROPIC_DEFAULT_MAX_TOKENS).toBe(4096);
    expect(toAnthropicRequest(chat({ messages: [user('x')], max_tokens: 100 }), 'm').max_tokens).toBe(100);
    expect(toAnthropicRequest(chat({ messages: [user('x')], max_tokens: 100, max_completion_tokens: 50 }), 'm').max_tokens).toBe(50);
  });

  it('passes temperature, top_p, stop sequences, user and stream', () => {
    const out = toAnthropicRequest(chat({ messages: [user('x')], temperature: 0.3, top_p: 0.9, stop: ['END', ''], user: 'u-1', stream: true }), 'm', {
      stream: true,
    });
    expect(out).toMatchObject({ temperature: 0.3, top_p: 0.9, stop_sequences: ['END'], metadata: { user_id: 'u-1' }, stream: true });
    expect(toAnthropicRequest(chat({ messages: [user('x')], stop: 'STOP' }), 'm').stop_sequences).toEqual(['STOP']);
    expect(toAnthropicRequest(chat({ messages: [user('x')] }), 'm')).not.toHaveProperty('stream');
  });

  it('refuses a temperature above 1 instead of silently changing it, naming temperature', () => {
    const err = refusal(() => toAnthropicRequest(chat({ messages: [user('x')], temperature: 1.5 }), 'm'));
    expect(err).toMatchObject({ failure: 'refused', status: 400, param: 'temperature' });
    expect(err.message).toContain('temperature 1.5');
    expect(toAnthropicRequest(chat({ messages: [user('x')], temperature: 1 }), 'm').temperature).toBe(1);
  });
});

describe('assistant prefill (the continuation of a broken stream, stream/resilient-stream.ts)', () => {
  /** What the gateway sends to continue `sent` on a target that takes prefill. */
  const prefilled = (req: ChatRequest, sent: string) => continuationRequests(req, sent, true)[0];

  it('sends a trailing assistant message as the last turn, without trailing whitespace', () => {
    expect(ANTHROPIC_SUPPORTS_PREFILL).toBe(true);
    const req = prefilled(chat({ messages: [user('Count to five')] }), 'One, two, ');
    const out = toAnthropicRequest(req, 'm');
    expect(out.messages[out.messages.length - 1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'One, two,' }] });
  });

  it('merges a prefill into a trailing assistant message the client already sent', () => {
    const req = prefilled(chat({ messages: [user('Go'), { role: 'assistant', content: 'Once' }] }), ' upon a');
    expect(toAnthropicRequest(req, 'm').messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Once' },
        { type: 'text', text: ' upon a' },
      ],
    });
  });
});

describe('fromAnthropicMessage', () => {
  const message = (over: Partial<AnthropicMessage>): AnthropicMessage => ({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-real-1',
    content: [{ type: 'text', text: 'Hi' }],
    stop_reason: 'end_turn',
    usage: { input_tokens: 10, output_tokens: 3 },
    ...over,
  });

  it('joins text, maps tool_use to tool_calls and counts cache tokens into the prompt', () => {
    const c = fromAnthropicMessage(
      message({
        content: [
          { type: 'thinking', text: 'hidden' },
          { type: 'text', text: 'Checking ' },
          { type: 'text', text: 'now.' },
          { type: 'tool_use', id: 'toolu_9', name: 'weather', input: { city: 'Rome' } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 4, cache_read_input_tokens: 6 },
      }),
      'fallback',
    );
    expect(c.id).toBe('chatcmpl-msg_1');
    expect(c.model).toBe('claude-real-1');
    expect(c.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: 'Checking now.',
        tool_calls: [{ id: 'toolu_9', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }],
      },
    });
    expect(c.usage).toEqual({ prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, prompt_tokens_details: { cached_tokens: 6, cache_write_tokens: 4 } });
  });

  it('answers content null for a tool-call-only message and falls back to the route model', () => {
    const c = fromAnthropicMessage(message({ model: '', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }], stop_reason: 'tool_use' }), 'route-model');
    expect(c.choices[0].message.content).toBeNull();
    expect(c.model).toBe('route-model');
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('stop_reason %s becomes finish_reason %s', (stop, finish) => {
    expect(fromAnthropicMessage(message({ stop_reason: stop }), 'm').choices[0].finish_reason).toBe(finish);
  });

  it('rejects a 200 body that is not a message as transient', () => {
    expect(() => parseAnthropicMessage({ hello: 'world' })).toThrow(expect.objectContaining({ failure: 'transient' }));
    expect(() => parseAnthropicMessage(null)).toThrow(ProviderError);
    expect(parseAnthropicMessage(message({})).id).toBe('msg_1');
  });
});

describe('AnthropicStreamTranslator', () => {
  const ev = (data: Record<string, unknown>) => ({ event: String(data.type), data: JSON.stringify(data) });
  const start = (usage: Record<string, number> = { input_tokens: 12, output_tokens: 1 }) =>
    ev({ type: 'message_start', message: { id: 'msg_s', type: 'message', role: 'assistant', model: 'claude-up', content: [], usage } });
  const text = (index: number, t: string) => ev({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: t } });
  const stopWith = (reason: string, output: number) => ev({ type: 'message_delta', delta: { stop_reason: reason }, usage: { output_tokens: output } });
  const run = (t: AnthropicStreamTranslator, events: Array<{ event?: string; data: string }>) => events.flatMap((e) => t.push(e));
  const deltas = (chunks: ChatCompletionChunk[]) => chunks.map((c) => (c.choices.length ? c.choices[0].delta : { usage: c.usage }));

  it('streams text: role first, deltas, a final chunk with finish_reason, then one usage chunk', () => {
    const t = new AnthropicStreamTranslator('route-model', 1700000000);
    const chunks = [
      ...run(t, [
        start({ input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 3 }),
        ev({ type: 'ping' }),
        ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        text(0, 'Hello'),
        text(0, ' world'),
        ev({ type: 'content_block_stop', index: 0 }),
        stopWith('end_turn', 2),
        stopWith('end_turn', 7),
        ev({ type: 'message_stop' }),
      ]),
      ...t.end(),
    ];
    expect(deltas(chunks)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hello' },
      { content: ' world' },
      {},
      { usage: { prompt_tokens: 15, completion_tokens: 7, total_tokens: 22, prompt_tokens_details: { cached_tokens: 3 } } },
    ]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks.every((c) => c.id === 'chatcmpl-msg_s' && c.model === 'claude-up' && c.created === 1700000000)).toBe(true);
  });

  it('streams tool calls with a running index: id and name first, then argument fragments', () => {
    const t = new AnthropicStreamTranslator('m');
    const chunks = run(t, [
      start(),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      text(0, 'Looking.'),
      ev({ type: 'content_block_stop', index: 0 }),
      ev({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_a', name: 'weather', input: {} } }),
      ev({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
      ev({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } }),
      ev({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Rome"}' } }),
      ev({ type: 'content_block_stop', index: 1 }),
      ev({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_b', name: 'now', input: {} } }),
      ev({ type: 'content_block_stop', index: 2 }),
      stopWith('tool_use', 30),
      ev({ type: 'message_stop' }),
    ]);
    expect(deltas(chunks).slice(1, 7)).toEqual([
      { content: 'Looking.' },
      { tool_calls: [{ index: 0, id: 'toolu_a', type: 'function', function: { name: 'weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] },
      { tool_calls: [{ index: 1, id: 'toolu_b', type: 'function', function: { name: 'now', arguments: '' } }] },
      // A call without input deltas still gets parseable arguments.
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
    ]);
    expect(chunks[7].choices[0].finish_reason).toBe('tool_calls');
    expect(chunks[8]).toMatchObject({ choices: [], usage: { completion_tokens: 30 } });
  });

  it('drops a data line that is not JSON, counts it, and keeps translating', () => {
    const t = new AnthropicStreamTranslator('m');
    const chunks = run(t, [start(), text(0, 'a'), { event: 'content_block_delta', data: '{"type":"content_block_delta","ind' }, text(0, 'b')]);
    expect(t.malformedEvents).toBe(1);
    expect(deltas(chunks)).toEqual([{ role: 'assistant', content: '' }, { content: 'a' }, { content: 'b' }]);
  });

  it.each([
    ['overloaded_error', 'transient'],
    ['rate_limit_error', 'throttled'],
    ['api_error', 'transient'],
    ['invalid_request_error', 'refused'],
  ])('an error event of type %s throws a %s ProviderError', (type, failure) => {
    const t = new AnthropicStreamTranslator('m');
    run(t, [start(), text(0, 'partial')]);
    expect(() => t.push(ev({ type: 'error', error: { type, message: 'boom' } }))).toThrow(expect.objectContaining({ name: 'ProviderError', failure, code: type }));
  });

  it('finishes a stream that lost message_stop after its stop reason, and fails one that never stopped', () => {
    const whole = new AnthropicStreamTranslator('m');
    run(whole, [start(), text(0, 'done'), stopWith('max_tokens', 4)]);
    expect(whole.complete).toBe(true);
    const tail = whole.end();
    expect(tail[0].choices[0].finish_reason).toBe('length');
    expect(tail[1].usage?.completion_tokens).toBe(4);

    const cut = new AnthropicStreamTranslator('m');
    run(cut, [start(), text(0, 'half')]);
    expect(cut.complete).toBe(false);
    expect(() => cut.end()).toThrow(expect.objectContaining({ failure: 'transient', message: expect.stringContaining('message_stop') }));
  });

  it('ignores unknown event types and anything after message_stop', () => {
    const t = new AnthropicStreamTranslator('m');
    const chunks = run(t, [
      start(),
      ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
      ev({ type: 'brand_new_event', x: 1 }),
      stopWith('end_turn', 1),
      ev({ type: 'message_stop' }),
      text(0, 'late'),
      ev({ type: 'message_stop' }),
    ]);
    expect(deltas(chunks)).toEqual([{ role: 'assistant', content: '' }, {}, { usage: expect.any(Object) }]);
    expect(t.end()).toEqual([]);
  });
});
