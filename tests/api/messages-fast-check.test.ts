/**
 * The compiled Messages check may only accept a body the Messages schema (zod) accepts:
 * a body it passes skips zod and goes to Claude targets as sent. Checked over valid
 * requests of every block kind and field, and thousands of mutations of them (wrong
 * types, out-of-range numbers, extra and missing keys), for /v1/messages and count_tokens.
 */
import { messagesChecks } from '../../runtime/src/api/messages-fast-check';
import { messagesSchemas } from '../../runtime/src/core/messages-request';
import { oneChangeAway, type Doc } from '../helpers/mutations';

const IMAGE = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };

const VALID: Doc[] = [
  { model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
  {
    model: 'claude',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'be brief', cache_control: { type: 'ephemeral', ttl: '1h' } }],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'look', citations: null }, IMAGE, { type: 'document', source: { type: 'text', data: 'x' } }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 'sig' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'tool_use', id: 'tu_1', name: 'lookup', input: { q: 1 }, cache_control: null },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'tu_1', content: [{ type: 'text', text: '42' }, IMAGE], is_error: false },
          { type: 'tool_result', tool_use_id: 'tu_2', content: 'plain' },
        ],
      },
    ],
    tools: [
      { name: 'lookup', description: 'd', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
      { name: 'web_search', type: 'web_search_20250305', max_uses: 3 },
      { name: 'custom', type: 'custom', input_schema: {} },
    ],
    tool_choice: { type: 'tool', name: 'lookup', disable_parallel_tool_use: true },
    thinking: { type: 'enabled', budget_tokens: 2048 },
    stop_sequences: ['END'],
    stream: true,
    temperature: 0.5,
    top_p: 1,
    top_k: 40,
    metadata: { user_id: 'u-1' },
    service_tier: 'auto',
  },
  {
    model: 'm',
    max_tokens: 0,
    system: 'sys',
    messages: [{ role: 'user', content: [] }],
    tool_choice: { type: 'auto' },
    thinking: { type: 'adaptive' },
    metadata: { user_id: null },
    context_management: { edits: [] },
  },
];

const WRONG_VALUES: unknown[] = [null, '', 'x', 0, -1, 1.5, 2, 1023, true, [], {}, [1], { type: 'x' }, { type: 'text' }, 'custom', 'tool_result', 'ephemeral'];

const ALL: Doc[] = oneChangeAway(VALID, WRONG_VALUES);

/** count_tokens takes the prompt alone: the generation's settings removed. */
const promptOnly = ({ max_tokens: _m, stop_sequences: _s, stream: _st, temperature: _t, top_p: _p, top_k: _k, metadata: _md, service_tier: _tier, ...rest }: Doc): Doc => rest;

describe.each([
  ['/v1/messages', messagesChecks.messages, messagesSchemas().messages, VALID, ALL],
  ['/v1/messages/count_tokens', messagesChecks.countTokens, messagesSchemas().countTokens, VALID.map(promptOnly), ALL.map(promptOnly)],
] as const)('the compiled check of %s bodies', (_, check, schema, valid, corpus) => {
  test('accepts every valid request of the corpus (so valid requests skip zod)', () => {
    for (const doc of valid) expect({ doc, ok: check(structuredClone(doc)) }).toEqual({ doc, ok: true });
  });

  test(`answers as zod does (${corpus.length} bodies)`, () => {
    expect(corpus.length).toBeGreaterThan(1000);
    let accepted = 0;
    for (const doc of corpus) {
      const zod = schema.safeParse(structuredClone(doc)).success;
      expect({ doc, ok: check(structuredClone(doc)) }).toEqual({ doc, ok: zod });
      if (zod) accepted++;
    }
    // Both answers occur: the mutations reach valid and invalid bodies alike.
    expect(accepted).toBeGreaterThan(100);
    expect(corpus.length - accepted).toBeGreaterThan(500);
  });
});
