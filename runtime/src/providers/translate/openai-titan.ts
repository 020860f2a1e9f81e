/**
 * OpenAI embeddings <-> Amazon Titan Text Embeddings v2 on Bedrock (InvokeModel): one
 * text per call, `{inputText, dimensions, normalize}` in, `{embedding,
 * inputTextTokenCount}` out. Vectors are normalized (Titan's default, and what OpenAI's
 * are), in 256, 512 or 1024 dimensions (default 1024).
 */
import type { EmbeddingsCall } from '../../core/embeddings';
import { isNumberArray } from '../../core/float32';
import type { ProviderError } from '../errors';
import { brokenAnswer, dimensionRefusal, jsonObjectOf, textOnly } from './embeddings-common';

export const TITAN_DIMENSIONS: readonly number[] = [256, 512, 1024];

/** Titan embeds one text per call. */
export const TITAN_BATCH_LIMIT = 1;

export function titanRefusal(call: EmbeddingsCall, model: string): ProviderError | undefined {
  return textOnly(call, model) ?? dimensionRefusal(call, model, TITAN_DIMENSIONS);
}

/** The InvokeModel body for the call's one text. */
export function toTitanRequest(call: EmbeddingsCall): string {
  const body: Record<string, unknown> = { inputText: call.inputs.items[0], normalize: true };
  if (call.dimensions !== undefined) body.dimensions = call.dimensions;
  return JSON.stringify(body);
}

/** The vector and the token count Titan reports for its text. */
export function fromTitanResponse(text: string, what: string): { vector: readonly number[]; tokens: number | undefined } {
  const doc = jsonObjectOf(text, what);
  const vector = doc.embedding;
  if (!Array.isArray(vector) || vector.length === 0 || !isNumberArray(vector)) throw brokenAnswer(what, 'no embedding of numbers');
  const tokens = doc.inputTextTokenCount;
  return { vector, tokens: typeof tokens === 'number' && tokens >= 0 ? tokens : undefined };
}
