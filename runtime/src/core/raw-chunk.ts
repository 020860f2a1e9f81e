/**
 * A chunk's JSON text as the upstream sent it, kept while the gateway has not changed the
 * chunk, so that it goes to the client without being encoded again. Only this module
 * touches that text: the adapter that parsed a chunk keeps it, whoever changes the chunk
 * drops it, and the SSE framing reads it.
 */
import type { ChatCompletionChunk } from './openai-types';

const RAW_JSON = Symbol('raw chunk JSON');
type RawChunk = ChatCompletionChunk & { [RAW_JSON]?: string };

/** `json` is the exact text `chunk` was parsed from. */
export function keepRawJson(chunk: ChatCompletionChunk, json: string): void {
  (chunk as RawChunk)[RAW_JSON] = json;
}

/** The chunk was changed: its upstream text no longer fits it. */
export function withoutRaw(chunk: ChatCompletionChunk): void {
  (chunk as RawChunk)[RAW_JSON] = undefined;
}

/** The chunk as JSON: the upstream's own text while it still fits, else encoded now. */
export function chunkJson(chunk: ChatCompletionChunk): string {
  return (chunk as RawChunk)[RAW_JSON] ?? JSON.stringify(chunk);
}
