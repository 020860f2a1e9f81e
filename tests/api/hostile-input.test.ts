/**
 * Malformed input that the schemas once let through, sent to a proxy in front of a spoke
 * with simulated targets (the local topology): each is the spoke's 400 naming the field,
 * relayed by the proxy as it came, never a crash (a TypeError, a stack overflow) that
 * fails the attempt and ejects the routes. Valid requests are served after all of them.
 */
import { jsonOf, postJson, startGateway, simulatedConfig, type ErrorBody, type TestGateway } from '../helpers/gateway';

/** `{"a":{"a":...}}` `levels` deep, as text (JSON.stringify itself overflows on such a value). */
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const deepArray = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

/** A body with `deep` in place of the string "DEEP". */
const withDeep = (body: object, deep: string) => JSON.stringify(body).replace('"DEEP"', deep);

interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
}

describe('hostile input through proxy and spoke', () => {
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    const sim = simulatedConfig();
    spoke = await startGateway(
      {
        ...sim,
        server: { maxBodyBytes: 4_194_304 },
        models: [
          { name: 'chat', targets: [{ provider: 'sim', model: 'sim-model' }] },
          { name: 'chat-large', targets: [{ provider: 'sim', model: 'anthropic.claude-sim' }] },
          { name: 'embed', api: 'embeddings', targets: [{ provider: 'sim', model: 'sim-embed' }] },
        ],
      },
      'spoke',
      { probes: false },
    );
    proxy = await startGateway(
      {
        server: { maxBodyBytes: 4_194_304 },
        spokes: [{ id: 'spoke-a', url: spoke.url }],
        models: ['chat', 'chat-large', 'embed'].map((name) => ({ name, ...(name === 'embed' ? { api: 'embeddings' as const } : {}), targets: [{ provider: 'spokes', model: name }] })),
      },
      'proxy',
      { probes: false },
    );
  });

  afterAll(async () => {
    await proxy.close();
    await spoke.close();
  });

  afterEach(async () => {
    // Nothing malformed failed an attempt: every route is still in service, and serves.
    const ok = await postJson(`${proxy.url}/v1/messages`, { model: 'chat-large', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  const user = (content: unknown) => ({ role: 'user', content });
  const assistant = (content: unknown) => ({ role: 'assistant', content });
  const msg = (messages: unknown[], extra: object = {}) => ({ model: 'chat-large', max_tokens: 5, messages, ...extra });
  const toolUse = { type: 'tool_use', id: 'toolu_1', name: 'g', input: {} };
  const G = { name: 'g', input_schema: { type: 'object' } };

  const messagesCases: Array<[string, object | string, RegExp]> = [
    ['a user message with content []', msg([user([])]), /messages\.0\.content: all messages must have non-empty content except for the optional final assistant message/],
    ['the same, streamed', msg([user([])], { stream: true }), /messages\.0\.content: all messages must have non-empty content/],
    ['a user message with content ""', msg([user('')]), /messages\.0\.content: all messages must have non-empty content/],
    ['an assistant message with content [] before the last', msg([user('a'), assistant([]), user('b')]), /messages\.1\.content: all messages must have non-empty content/],
    ['a text block with empty text', msg([user([{ type: 'text', text: '' }])]), /messages\.0\.content\.0\.text: text content blocks must be non-empty/],
    ['a final assistant text block with empty text', msg([user('a'), assistant([{ type: 'text', text: '' }])]), /messages\.1\.content\.0\.text: text content blocks must be non-empty/],
    ['an empty system text block', msg([user('a')], { system: [{ type: 'text', text: '' }] }), /system\.0\.text: text content blocks must be non-empty/],
    [
      'a text block of whitespace only',
      msg([
        user([
          { type: 'text', text: 'see:' },
          { type: 'text', text: ' \n\t ' },
        ]),
      ]),
      /messages\.0\.content\.1\.text: text content blocks must contain non-whitespace text/,
    ],
    ['a system message first', msg([{ role: 'system', content: 'be terse' }, user('a')]), /messages\.0\.role: a system message cannot be the first message/],
    [
      'a system message after an assistant text',
      msg([user('a'), assistant('b'), { role: 'system', content: 'x' }]),
      /messages\.2\.role: a system message must immediately follow a user message/,
    ],
    [
      'a system message before a user message',
      msg([user('a'), { role: 'system', content: 'x' }, user('b')]),
      /messages\.1\.role: a system message must be the last message or be followed by an assistant message/,
    ],
    [
      'a tool_result answering no tool_use',
      msg([user('a'), assistant([toolUse]), user([{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'x' }])], { tools: [G] }),
      /messages\.2\.content\.0: unexpected tool_use_id found in tool_result blocks: toolu_2\./,
    ],
    ['a tool_result in the first message', msg([user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'x' }])]), /messages\.0\.content\.0: unexpected tool_use_id/],
    [
      'a tool_use the next message does not answer',
      msg([user('a'), assistant([{ type: 'text', text: 'calling' }, toolUse]), user('never mind')], { tools: [G] }),
      /messages\.1\.content\.1: tool_use ids were found without tool_result blocks immediately after: toolu_1\./,
    ],
    [
      'one of two tool_uses answered',
      msg([user('a'), assistant([toolUse, { ...toolUse, id: 'toolu_2' }]), user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'x' }])], { tools: [G] }),
      /messages\.1\.content\.1: tool_use ids were found without tool_result blocks immediately after: toolu_2\./,
    ],
    ['tool_choice naming a tool not in tools', msg([user('a')], { tools: [G], tool_choice: { type: 'tool', name: 'h' } }), /tool_choice\.name: tool_choice names "h", which is not in tools/],
    ['tool_choice any without tools', msg([user('a')], { tool_choice: { type: 'any' } }), /tool_choice: tool_choice of type "any" needs tools/],
    ['tool_choice tool without tools', msg([user('a')], { tool_choice: { type: 'tool', name: 'g' } }), /tool_choice: tool_choice of type "tool" needs tools/],
    [
      'thinking blocks alone (nothing a translated target can take)',
      msg([user([{ type: 'thinking', thinking: 't', signature: 's' }])]),
      /messages: no message has content a non-Claude target can take/,
    ],
    [
      'an input_schema 10,000 levels deep',
      withDeep(msg([user('a')], { tools: [{ name: 'g', input_schema: 'DEEP' }] }), deepObject(10_000)),
      /tools\.0\.input_schema: nested deeper than 64 levels/,
    ],
    [
      'a tool_use input 10,000 levels deep',
      withDeep(msg([user('a'), assistant([{ ...toolUse, input: 'DEEP' }]), user([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'x' }])], { tools: [G] }), deepObject(10_000)),
      /messages\.1\.content\.0\.input: nested deeper than 64 levels/,
    ],
    ['an unknown top-level object 10,000 levels deep', withDeep(msg([user('a')], { context_management: 'DEEP' }), deepArray(10_000)), /context_management: nested deeper than 64 levels/],
    [
      'tool_results nested 10,000 deep',
      `{"model":"chat-large","max_tokens":5,"messages":[{"role":"user","content":[${'{"type":"tool_result","tool_use_id":"t","content":['.repeat(10_000)}${']}'.repeat(10_000)}]}]}`,
      /messages\.0\.content\.0\.content\.0\.type: a tool_result's content cannot hold tool_result blocks/,
    ],
    ['system of the wrong type', msg([user('a')], { system: 5 }), /system: expected string or array, got number/],
  ];

  it.each(messagesCases)('/v1/messages: %s is a 400 naming the field', async (_name, body, message) => {
    const res = await postJson(`${proxy.url}/v1/messages`, body);
    const json = await jsonOf<AnthropicErrorBody>(res);
    expect({ status: res.status, type: json.error?.type }).toEqual({ status: 400, type: 'invalid_request_error' });
    // As Anthropic words it: the spoke's message relayed as it is, field first.
    expect(json.error.message).toMatch(new RegExp(`^${message.source}`));
  });

  it('/v1/messages: an empty final assistant message (a prefill of nothing) is served', async () => {
    for (const last of [[], '']) {
      const res = await postJson(`${proxy.url}/v1/messages`, msg([user('a'), assistant(last)]));
      expect(res.status).toBe(200);
      await res.text();
    }
  });

  it('/v1/messages/count_tokens: an input_schema 10,000 levels deep is a 400 naming it', async () => {
    const body = withDeep({ model: 'chat-large', messages: [user('a')], tools: [{ name: 'g', input_schema: 'DEEP' }] }, deepObject(10_000));
    const res = await postJson(`${proxy.url}/v1/messages/count_tokens`, body);
    expect(res.status).toBe(400);
    expect((await jsonOf<AnthropicErrorBody>(res)).error.message).toBe('tools.0.input_schema: nested deeper than 64 levels');
  });

  const chat = (extra: object) => ({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], ...extra });
  const tool = (parameters: unknown) => ({ type: 'function', function: { name: 'g', parameters } });
  const jsonSchema = (strict: boolean) => ({ type: 'json_schema', json_schema: { name: 'n', schema: 'DEEP', strict } });

  const chatCases: Array<[string, object | string, string, RegExp]> = [
    ['tool parameters 10,000 levels deep', withDeep(chat({ tools: [tool('DEEP')] }), deepObject(10_000)), 'tools[0].function.parameters', /nested deeper than 64 levels/],
    [
      'a strict json_schema 10,000 levels deep',
      withDeep(chat({ response_format: jsonSchema(true) }), deepObject(10_000)),
      'response_format.json_schema.schema',
      /nested deeper than 64 levels/,
    ],
    ['a json_schema 10,000 levels deep', withDeep(chat({ response_format: jsonSchema(false) }), deepObject(10_000)), 'response_format.json_schema.schema', /nested deeper than 64 levels/],
    ['tool_choice "required" without tools', chat({ tool_choice: 'required' }), 'tool_choice', /tool_choice "required" needs tools/],
    ['tool_choice naming a function without tools', chat({ tool_choice: { type: 'function', function: { name: 'g' } } }), 'tool_choice', /names "g", which is not in tools/],
    ['content 5', { model: 'chat', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content', /Invalid 'messages\[0\]\.content': expected string or array, got number/],
    ['missing content', { model: 'chat', messages: [{ role: 'user' }] }, 'messages[0].content', /Invalid 'messages\[0\]\.content': missing required parameter/],
    ['five stop sequences', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop', /Invalid 'stop': .*<=4 items/],
    [
      'a user message with content []',
      { model: 'chat', messages: [{ role: 'user', content: [] }] },
      'messages[0].content',
      /Invalid 'messages\[0\]\.content': empty array; expected a string or at least one content part/,
    ],
    [
      'a system message with content []',
      {
        model: 'chat',
        messages: [
          { role: 'system', content: [] },
          { role: 'user', content: 'hi' },
        ],
      },
      'messages[0].content',
      /Invalid 'messages\[0\]\.content': empty array; expected a string or at least one content part/,
    ],
  ];

  it.each(chatCases)('/v1/chat/completions: %s is a 400 naming the field', async (_name, body, param, message) => {
    const res = await postJson(`${proxy.url}/v1/chat/completions`, body);
    const json = await jsonOf<ErrorBody>(res);
    expect({ status: res.status, type: json.error.type, param: json.error.param }).toEqual({ status: 400, type: 'invalid_request_error', param });
    expect(json.error.message).toMatch(message);
  });

  const embeddingsCases: Array<[string, string, string, RegExp]> = [
    ['token arrays nested 10,000 deep', `{"model":"embed","input":[${deepArray(10_000)}]}`, 'input[0][0]', /token ids are non-negative integers, got an array/],
    ['a token id of 1e20', '{"model":"embed","input":[1e20]}', 'input[0]', /token ids are non-negative integers, got 100000000000000000000/],
    ['a token id of -1', '{"model":"embed","input":[[1,-1]]}', 'input[0][1]', /got -1/],
    ['a token id of 1.5', '{"model":"embed","input":[1.5]}', 'input[0]', /got 1.5/],
  ];

  it.each(embeddingsCases)('/v1/embeddings: %s is a 400 naming the element', async (_name, body, param, message) => {
    const res = await postJson(`${proxy.url}/v1/embeddings`, body);
    const json = await jsonOf<ErrorBody>(res);
    expect({ status: res.status, param: json.error.param }).toEqual({ status: 400, param });
    expect(json.error.message).toMatch(message);
  });

  it('echoes at most a hundred characters of a huge unknown model name', async () => {
    const huge = 'm'.repeat(1_000_000);
    for (const [path, body] of [
      ['/v1/chat/completions', chat({ model: huge })],
      ['/v1/messages', msg([user('a')], { model: huge })],
      ['/v1/embeddings', { model: huge, input: 'a' }],
    ] as const) {
      const res = await postJson(`${proxy.url}${path}`, body);
      expect(res.status).toBe(404);
      const text = await res.text();
      expect(text.length).toBeLessThan(1000);
      expect(text).toContain(`${'m'.repeat(100)}…\\" does not exist`);
    }
  });

  it('echoes at most a hundred characters of any huge value it names in a 400', async () => {
    const huge = 'x'.repeat(1_000_000);
    for (const [path, body] of [
      ['/v1/chat/completions', { model: 'chat', messages: [{ role: huge, content: 'a' }] }],
      ['/v1/chat/completions', chat({ [huge]: 1 })],
      ['/v1/chat/completions', chat({ tools: [tool({})], tool_choice: { type: 'function', function: { name: huge } } })],
      ['/v1/messages', msg([user('a')], { [huge]: 1 })],
      ['/v1/messages', msg([user('a')], { tools: [G], tool_choice: { type: 'tool', name: huge } })],
      ['/v1/messages', msg([user('a'), assistant([toolUse]), user([{ type: 'tool_result', tool_use_id: huge }])], { tools: [G] })],
      ['/v1/embeddings', { model: 'embed', input: [[huge]] }],
    ] as const) {
      const res = await postJson(`${proxy.url}${path}`, body);
      const text = await res.text();
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(text.length).toBeLessThan(1000);
      expect(text).toContain('x'.repeat(100) + '…');
    }
  });
});
