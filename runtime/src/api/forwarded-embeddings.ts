/**
 * The proxy's thin hop for embeddings, as for chat (forwarded-chat.ts): the proxy reads
 * only what it routes on (`model`) and forwards the client's JSON as it came; its spoke
 * validates the rest, and the spoke's 400 reaches the client unchanged. A body without a
 * usable `model` or without `input` goes through the full validation, which names the field.
 */
import type { ForwardedEmbeddings } from '../core/embeddings';
import { jsonObjectOf } from './forwarded-json';

export function forwardedEmbeddings(text: string): ForwardedEmbeddings | undefined {
  const doc = jsonObjectOf(text);
  if (!doc) return undefined;
  const { model, input } = doc;
  if (typeof model !== 'string' || model === '' || input === undefined) return undefined;
  // An array is the inputs (or one input's token ids, fewer); anything else one input.
  return { forwarded: true, body: text, model, inputs: Array.isArray(input) ? input.length : 1 };
}
