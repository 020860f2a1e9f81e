/**
 * The compiled fast check may only accept a body that the request schema (zod) accepts
 * and returns unchanged: otherwise a request zod would refuse, or strip, would reach a
 * provider as sent. Checked over valid requests of every shape and thousands of
 * mutations of them (wrong types, out-of-range numbers, extra and missing keys).
 */
import { chatRequestSchema } from '../../runtime/src/core/chat-request';
import { validAsSent } from '../../runtime/src/api/request-fast-check';
import { oneChangeAway, type Doc } from '../helpers/mutations';

const VALID: Doc[] = [
  { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
  {
    model: 'bench',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'developer', content: 'no lists', name: 'ops' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
        name: 'u',
      },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', content: '42', tool_call_id: 'c1' },
      { role: 'assistant', content: 'done', refusal: null },
    ],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 128,
    max_completion_tokens: null,
    temperature: 0.2,
    top_p: 1,
    stop: ['\n\n', 'END'],
    tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' }, strict: true } }],
    tool_choice: { type: 'function', function: { name: 'f' } },
    parallel_tool_calls: false,
    n: 1,
    seed: 7,
    response_format: { type: 'text' },
    presence_penalty: 0,
    frequency_penalty: 0,
    logprobs: false,
    user: 'u-1',
    metadata: { team: 'a' },
    store: false,
  },
  { model: 'm', messages: [{ role: 'user', content: 'x' }], stop: null, tool_choice: 'auto', stream: null, seed: null, n: null },
  { model: 'm', messages: [{ role: 'user', content: '' }], stop: 'STOP', temperature: 2, top_p: 0 },
];

const WRONG_VALUES: unknown[] = [null, '', 'x', 0, -1, 1.5, 3, true, [], {}, [1], { type: 'x' }];

const ALL: Doc[] = oneChangeAway(VALID, WRONG_VALUES);

describe('the compiled request check', () => {
  test('accepts every valid request of the corpus as sent (so valid requests skip zod)', () => {
    for (const doc of VALID) expect(validAsSent(structuredClone(doc))).toBe(true);
  });

  test(`never accepts what zod refuses or would change (${ALL.length} bodies)`, () => {
    expect(ALL.length).toBeGreaterThan(1000);
    let accepted = 0;
    let refused = 0;
    for (const doc of ALL) {
      const parsed = chatRequestSchema.safeParse(structuredClone(doc));
      if (validAsSent(structuredClone(doc))) {
        accepted++;
        expect({ doc, ok: parsed.success }).toEqual({ doc, ok: true });
        expect(parsed.data).toEqual(doc);
      } else if (!parsed.success) refused++;
    }
    // Both answers occur: the mutations reach valid and invalid bodies alike.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(500);
  });

  test('leaves to zod a body with a key zod strips, and zod strips it', () => {
    const doc = { model: 'm', messages: [{ role: 'user', content: 'hi', extra: 1 }] };
    expect(validAsSent(structuredClone(doc))).toBe(false);
    expect(chatRequestSchema.safeParse(doc).data).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
  });
});
