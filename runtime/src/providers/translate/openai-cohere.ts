/**
 * OpenAI embeddings <-> Cohere Embed on Bedrock (InvokeModel): up to 96 texts per call,
 * `{texts, input_type, embedding_types, output_dimension}` in, `{embeddings}` out (a list
 * of vectors, or `{float: [...]}` by type). `input_type` is what the texts are for
 * (Cohere prepends it): `search_document` unless the client's `input_type` says otherwise.
 * Embed v3 makes 1024 dimensions; v4 256, 512, 1024 or 1536 (default 1536).
 */
import type { EmbeddingsCall } from '../../core/embeddings';
import { isNumberArray } from '../../core/float32';
import type { ProviderError } from '../errors';
import { brokenAnswer, dimensionRefusal, jsonObjectOf, textOnly } from './embeddings-common';

export const COHERE_BATCH_LIMIT = 96;

const V3_DIMENSIONS: readonly number[] = [1024];
const V4_DIMENSIONS: readonly number[] = [256, 512, 1024, 1536];

const isV4 = (model: string) => /cohere\.embed-v4/.test(model);

export function cohereRefusal(call: EmbeddingsCall, model: string): ProviderError | undefined {
  return textOnly(call, model) ?? dimensionRefusal(call, model, isV4(model) ? V4_DIMENSIONS : V3_DIMENSIONS);
}

/** The InvokeModel body for the call's texts. */
export function toCohereRequest(call: EmbeddingsCall, model: string): string {
  const body: Record<string, unknown> = { texts: call.inputs.items, input_type: call.inputType ?? 'search_document', embedding_types: ['float'] };
  if (call.dimensions !== undefined && isV4(model)) body.output_dimension = call.dimensions;
  return JSON.stringify(body);
}

/** One vector per text, in order: `embeddings` as a list (embeddings_floats) or by type (embeddings_by_type). */
export function fromCohereResponse(text: string, count: number, what: string): (readonly number[])[] {
  const doc = jsonObjectOf(text, what);
  const e = doc.embeddings;
  const vectors: unknown = Array.isArray(e) ? e : typeof e === 'object' && e !== null ? (e as { float?: unknown }).float : undefined;
  if (!Array.isArray(vectors) || vectors.length !== count) throw brokenAnswer(what, `${Array.isArray(vectors) ? vectors.length : 'no'} float embeddings for ${count} texts`);
  for (const v of vectors as unknown[]) {
    if (!Array.isArray(v) || v.length === 0 || !isNumberArray(v)) throw brokenAnswer(what, 'an embedding is not a list of numbers');
  }
  return vectors as (readonly number[])[];
}
