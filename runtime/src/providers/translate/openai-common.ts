/**
 * Pieces of the OpenAI request that every translator reads the same way, whatever the
 * target schema: non-blank text parts, tool-call arguments as an object, stop sequences.
 */
import type { ChatRequest, MessageContent } from '../../core/chat-request';
import { ProviderError } from '../errors';

export const isBlank = (s: string): boolean => s.trim() === '';

/** The non-blank text parts of a message (targets reject empty text blocks). */
export function texts(content: MessageContent | null | undefined): string[] {
  if (content === null || content === undefined) return [];
  const parts = typeof content === 'string' ? [content] : content.map((p) => p.text);
  return parts.filter((t) => !isBlank(t));
}

/** OpenAI carries tool-call arguments as a JSON string; other schemas want the object. */
export function parseToolArguments(args: string, i: number, j: number): Record<string, unknown> {
  // Some clients send "" for a call without arguments.
  if (isBlank(args)) return {};
  const where = `messages[${i}].tool_calls[${j}].function.arguments`;
  const refuse = (why: string) => new ProviderError('refused', `${where} ${why}`, { status: 400, param: `messages[${i}].tool_calls`, code: 'invalid_tool_arguments' });
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch (err) {
    throw refuse(`is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse('must be a JSON object');
  return value as Record<string, unknown>;
}

/** `stop` as a list, without blank entries. */
export function stopSequences(req: ChatRequest): string[] {
  return (typeof req.stop === 'string' ? [req.stop] : (req.stop ?? [])).filter((s) => !isBlank(s));
}
