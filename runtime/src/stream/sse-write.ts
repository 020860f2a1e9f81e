/** Encodes the OpenAI SSE wire format: `data: {json}\n\n` ... `data: [DONE]\n\n`. */
import type { ChatCompletionChunk } from '../core/openai-types';

const encoder = new TextEncoder();

export const SSE_DONE_TEXT = 'data: [DONE]\n\n';
export const SSE_DONE = encoder.encode(SSE_DONE_TEXT);

/**
 * On a chunk read from an OpenAI-style upstream: its JSON text as it came, kept while the
 * gateway has not changed the chunk, so that it goes out without being encoded again.
 * Whoever changes a chunk clears it (`withoutRaw`).
 */
export const RAW_JSON = Symbol('raw chunk JSON');
export type RawChunk = ChatCompletionChunk & { [RAW_JSON]?: string };

export function withoutRaw(chunk: ChatCompletionChunk): void {
  (chunk as RawChunk)[RAW_JSON] = undefined;
}

export function sseData(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

/** One chunk's event, from its raw JSON when it still has it. */
export function sseEventText(chunk: ChatCompletionChunk): string {
  return `data: ${(chunk as RawChunk)[RAW_JSON] ?? JSON.stringify(chunk)}\n\n`;
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;
