import { expect } from '@jest/globals';
import { chatRequestSchema, type ChatRequest } from '../../core/chat-request';
import type { PromptCacheRoute } from '../../core/prompt-cache';
import { toAnthropicRequest } from './openai-anthropic';
import { toConverseRequest } from './openai-bedrock';

const chat = (body: Record<string, unknown>): ChatRequest => chatRequestSchema.parse({ model: 'chat', ...body });
const CACHE: PromptCacheRoute = { maxPoints: 4, tools: true, auto: false };
const mark = { type: 'ephemeral' } as const;
const tool = (name: string, marked = false) => ({ type: 'function', function: { name, parameters: { type: 'object' } }, ...(marked ? { cache_control: mark } : {}) });

const marked = chat({
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'You are terse.', cache_control: mark }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'A long document', cache_control: { type: 'ephemeral', ttl: '1h' } },
        { type: 'text', text: 'Question?' },
      ],
    },
    { role: 'assistant', content: 'An answer', cache_control: mark },
    { role: 'user', content: 'Next?' },
  ],
  tools: [tool('a'), tool('b', true)],
});

describe('cache markers to Bedrock Converse', () => {
  it('puts a cachePoint after each marked part, message and tool', () => {
    const out = toConverseRequest(marked, 'anthropic.claude-3-7-sonnet', undefined, CACHE);
    expect(out.system).toEqual([{ text: 'You are terse.' }, { cachePoint: { type: 'default' } }]);
    expect(out.messages?.[0].content).toEqual([{ text: 'A long document' }, { cachePoint: { type: 'default', ttl: '1h' } }, { text: 'Question?' }]);
    expect(out.messages?.[1].content).toEqual([{ text: 'An answer' }, { cachePoint: { type: 'default' } }]);
    expect(out.messages?.[2].content).toEqual([{ text: 'Next?' }]);
    expect(out.toolConfig?.tools?.map((t) => t.cachePoint ?? t.toolSpec?.name)).toEqual(['a', 'b', { type: 'default' }]);
  });

  it('drops every marker for a route without prompt caching', () => {
    const out = toConverseRequest(marked, 'meta.llama3', undefined, undefined);
    expect(JSON.stringify(out)).not.toContain('cachePoint');
  });

  it('keeps the last four checkpoints: the earliest go (tools first, then system)', () => {
    const req = chat({
      messages: [{ role: 'system', content: 'sys', cache_control: mark }, ...[1, 2, 3, 4].map((n) => ({ role: n % 2 ? 'user' : 'assistant', content: `turn ${n}`, cache_control: mark }))],
      tools: [tool('a', true)],
    });
    const out = toConverseRequest(req, 'anthropic.claude-3-7-sonnet', undefined, CACHE);
    expect(out.toolConfig?.tools).toHaveLength(1);
    expect(out.system).toEqual([{ text: 'sys' }]);
    expect(out.messages?.map((m) => m.content?.length)).toEqual([2, 2, 2, 2]);
  });

  it('auto mode adds checkpoints after the system prompt and the tools; no tool checkpoint where the model caches no tools', () => {
    const req = chat({
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'Hi' },
      ],
      tools: [tool('a')],
    });
    const out = toConverseRequest(req, 'anthropic.claude-3-7-sonnet', undefined, { ...CACHE, auto: true });
    expect(out.system).toEqual([{ text: 'sys' }, { cachePoint: { type: 'default' } }]);
    expect(out.toolConfig?.tools?.[1]).toEqual({ cachePoint: { type: 'default' } });
    const nova = toConverseRequest(req, 'amazon.nova-pro-v1:0', undefined, { ...CACHE, tools: false, auto: true });
    expect(nova.toolConfig?.tools).toHaveLength(1);
    expect(nova.system).toHaveLength(2);
  });
});

describe('cache markers to Anthropic Messages', () => {
  it('sets cache_control on the matching blocks, the system as blocks', () => {
    const out = toAnthropicRequest(marked, 'claude', { cache: CACHE });
    expect(out.system).toEqual([{ type: 'text', text: 'You are terse.', cache_control: mark }]);
    expect(out.messages[0].content).toEqual([
      { type: 'text', text: 'A long document', cache_control: { type: 'ephemeral', ttl: '1h' } },
      { type: 'text', text: 'Question?' },
    ]);
    expect(out.messages[1].content).toEqual([{ type: 'text', text: 'An answer', cache_control: mark }]);
    expect(out.tools?.map((t) => t.cache_control)).toEqual([undefined, mark]);
  });

  it('drops markers without a cache route, and keeps the system a string', () => {
    const out = toAnthropicRequest(marked, 'claude', {});
    expect(out.system).toBe('You are terse.');
    expect(JSON.stringify(out)).not.toContain('cache_control');
  });

  it('keeps the last four breakpoints', () => {
    const req = chat({
      messages: [{ role: 'system', content: 'sys', cache_control: mark }, ...[1, 2, 3, 4].map((n) => ({ role: n % 2 ? 'user' : 'assistant', content: `turn ${n}`, cache_control: mark }))],
      tools: [tool('a', true)],
    });
    const out = toAnthropicRequest(req, 'claude', { cache: CACHE });
    expect(out.tools?.[0].cache_control).toBeUndefined();
    expect(out.system).toEqual([{ type: 'text', text: 'sys' }]);
    expect(out.messages.every((m) => m.content[0].cache_control !== undefined)).toBe(true);
  });

  it('auto mode marks the end of the system prompt and the last tool', () => {
    const out = toAnthropicRequest(
      chat({
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: 'Hi' },
        ],
        tools: [tool('a'), tool('b')],
      }),
      'claude',
      { cache: { ...CACHE, auto: true } },
    );
    expect(out.system).toEqual([{ type: 'text', text: 'sys', cache_control: mark }]);
    expect(out.tools?.map((t) => t.cache_control)).toEqual([undefined, mark]);
  });
});
