/** Which way response_format goes to a Bedrock or Anthropic target: native structured output or the answer tool. */
import { expect } from '@jest/globals';
import { chatRequestSchema } from '../../runtime/src/core/chat-request';
import { anthropicHasNativeOutput, bedrockHasNativeOutput, nativeSchemaFits, structuredPlan } from '../../runtime/src/providers/structured/plan';
import type { Route } from '../../runtime/src/providers/types';

const CLOSED = {
  type: 'object',
  properties: { a: { type: 'string' }, b: { type: 'array', items: { type: 'object', properties: {}, additionalProperties: false } } },
  required: ['a'],
  additionalProperties: false,
};
const route = (model: string, structuredOutput?: 'native' | 'tool') => ({ model, ...(structuredOutput ? { structuredOutput } : {}) }) as unknown as Route;
const request = (schema: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  chatRequestSchema.parse({ model: 'chat', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'out', schema } }, ...extra });

describe('structured output plan', () => {
  it('knows which models have native structured output', () => {
    for (const id of [
      'anthropic.claude-haiku-4-5-20251001-v1:0',
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'global.anthropic.claude-opus-4-6-v1',
      'qwen.qwen3-32b-v1:0',
      'openai.gpt-oss-120b-1:0',
      'mistral.ministral-3-8b-instruct',
    ]) {
      expect(bedrockHasNativeOutput(id)).toBe(true);
    }
    for (const id of ['amazon.nova-pro-v1:0', 'anthropic.claude-3-5-sonnet-20241022-v2:0', 'meta.llama3-3-70b-instruct-v1:0', 'minimax.minimax-m2'])
      expect(bedrockHasNativeOutput(id)).toBe(false);
    for (const m of ['claude-sonnet-4-5', 'claude-haiku-4-5-20251001', 'claude-opus-4-6', 'claude-sonnet-5']) expect(anthropicHasNativeOutput(m)).toBe(true);
    for (const m of ['claude-3-5-haiku-20241022', 'claude-sonnet-4-20250514', 'claude-opus-4-1']) expect(anthropicHasNativeOutput(m)).toBe(false);
  });

  it('goes native only with a schema constrained decoding takes', () => {
    expect(nativeSchemaFits(CLOSED)).toBe(true);
    expect(nativeSchemaFits({ ...CLOSED, additionalProperties: true })).toBe(false);
    expect(nativeSchemaFits({ ...CLOSED, properties: { a: { type: 'string', maxLength: 3 } } })).toBe(false);
    expect(nativeSchemaFits({ type: 'array', items: { type: 'string' } })).toBe(false);
    expect(structuredPlan(request(CLOSED), route('claude-sonnet-4-5'), anthropicHasNativeOutput)?.mode).toBe('native');
    expect(structuredPlan(request({ ...CLOSED, additionalProperties: true }), route('claude-sonnet-4-5'), anthropicHasNativeOutput)?.mode).toBe('tool');
    // The target's override wins either way.
    expect(structuredPlan(request(CLOSED), route('claude-sonnet-4-5', 'tool'), anthropicHasNativeOutput)?.mode).toBe('tool');
    expect(structuredPlan(request({ type: 'object' }), route('claude-3-5-haiku', 'native'), anthropicHasNativeOutput)?.mode).toBe('native');
  });

  it('leaves the format alone when the client demands a call of its own tool', () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }];
    expect(structuredPlan(request(CLOSED, { tools, tool_choice: 'required' }), route('amazon.nova-pro-v1:0'), bedrockHasNativeOutput)).toBeUndefined();
    const none = structuredPlan(request(CLOSED, { tools, tool_choice: 'none' }), route('amazon.nova-pro-v1:0'), bedrockHasNativeOutput);
    expect(none).toMatchObject({ mode: 'tool', choice: 'tool' });
  });
});
