/**
 * `response_format: {type: "json_schema", json_schema: {strict: true}}`: the answer must
 * be JSON that validates against the client's schema (compiled by api/strict-schema.ts),
 * or the attempt failed (`invalid_output`) and the next route is tried. A held stream is
 * read whole and checked before the client sees any of it.
 */
import type { OutputCheck } from '../core/chat-request';
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../core/openai-types';
import { ProviderError } from '../providers/errors';
import type { StreamResult } from '../providers/types';

/** Throws `invalid_output` unless the answer is JSON valid against the schema (a call of a client tool is an answer too). */
export function checkCompletion(completion: ChatCompletion, validate: OutputCheck): void {
  const message = completion.choices[0]?.message;
  if (message?.tool_calls?.length) return;
  checkText(message?.content ?? '', validate, completion.usage);
}

/** The stream read whole and checked; the client then gets its chunks as they came. */
export async function heldStream(result: StreamResult, validate: OutputCheck): Promise<StreamResult> {
  const chunks: ChatCompletionChunk[] = [];
  let text = '';
  let toolCalls = false;
  let usage: Usage | undefined;
  for await (const chunk of result.chunks) {
    chunks.push(chunk);
    const delta = chunk.choices[0]?.delta;
    if (typeof delta?.content === 'string') text += delta.content;
    if (delta?.tool_calls?.length) toolCalls = true;
    if (chunk.usage) usage = chunk.usage;
  }
  if (!toolCalls) checkText(text, validate, usage);
  return { ...result, chunks: replay(chunks) };
}

async function* replay(chunks: ChatCompletionChunk[]): AsyncGenerator<ChatCompletionChunk> {
  yield* chunks;
}

function checkText(text: string, validate: OutputCheck, usage: Usage | undefined): void {
  const fail = (why: string) => new ProviderError('invalid_output', `the answer ${why}`, { code: 'invalid_structured_output', usedTokens: usage?.total_tokens, usage });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail(text.trim() === '' ? 'is empty' : `is not JSON (${(err as Error).message})`);
  }
  const why = validate(value);
  if (why !== undefined) throw fail(`does not match the schema: ${why}`);
}
