/** The one token estimate: four characters a token, messages with their framing, tool calls and tools. */
import { chatRequestSchema } from '../../runtime/src/core/chat-request';
import { estimatedUsage, estimatePromptTokens, estimateTokens } from '../../runtime/src/quota/token-estimate';

describe('token estimate', () => {
  it('counts four characters a token, rounding up', () => {
    expect([estimateTokens(''), estimateTokens('abc'), estimateTokens('abcd'), estimateTokens('abcde')]).toEqual([0, 1, 1, 2]);
  });

  it('counts every message with 16 characters of framing, the tool calls it holds and the tool definitions', () => {
    const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }];
    const req = chatRequestSchema.parse({
      model: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather ' },
            { type: 'text', text: 'in Rome?' },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '21 C' },
      ],
      tools,
    });
    const chars = 'Be brief.'.length + 'Weather in Rome?'.length + 'weather{"city":"Rome"}'.length + '21 C'.length + 4 * 16 + JSON.stringify(tools).length;
    expect(estimatePromptTokens(req)).toBe(Math.ceil(chars / 4));
    expect(estimatedUsage(req, 10)).toEqual({ prompt_tokens: Math.ceil(chars / 4), completion_tokens: 3, total_tokens: Math.ceil(chars / 4) + 3 });
  });
});
