/**
 * The embeddings endpoint's JSON, written by hand: an answer is mostly vectors, and
 * building objects for JSON.stringify to walk again cost more than the rest of the
 * request. The shapes are OpenAI's.
 */
import type { EmbeddingsRequest, EmbeddingVector, EncodingFormat } from '../core/embeddings';
import { base64Of, numbersJsonOf } from '../core/float32';

/** `{object:"list", data:[{object:"embedding", index, embedding}], model, usage}`, vectors in input order; `usage` last (a proxy reads it from the end). */
export function embeddingsAnswerJson(vectors: readonly EmbeddingVector[], encoding: EncodingFormat, model: string, promptTokens: number): string {
  const parts = new Array<string>(vectors.length);
  for (let i = 0; i < vectors.length; i++) {
    // base64 needs no escaping in a JSON string.
    const embedding = encoding === 'base64' ? `"${base64Of(vectors[i])}"` : numbersJsonOf(vectors[i]);
    parts[i] = `{"object":"embedding","index":${i},"embedding":${embedding}}`;
  }
  return `{"object":"list","data":[${parts.join(',')}],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens}}}`;
}

/** A validated request as an OpenAI embeddings body (what a proxy forwards after its guardrails). */
export function embeddingsRequestJson(req: EmbeddingsRequest): string {
  const body: Record<string, unknown> = { model: req.model, input: req.inputs.items, encoding_format: req.encoding };
  if (req.dimensions !== undefined) body.dimensions = req.dimensions;
  if (req.user !== undefined) body.user = req.user;
  if (req.inputType !== undefined) body.input_type = req.inputType;
  return JSON.stringify(body);
}
