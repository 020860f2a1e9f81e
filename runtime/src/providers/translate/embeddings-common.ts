/** What the embeddings translators (openai-titan.ts, openai-cohere.ts) share: refusals and reading a model's JSON. */
import type { EmbeddingsCall } from '../../core/embeddings';
import { ProviderError } from '../errors';

/** The client's request cannot be served by this target: a 400 naming `param`, before anything is sent. */
export function refusedParam(param: string, message: string): ProviderError {
  return new ProviderError('refused', message, { status: 400, param, code: 'invalid_value' });
}

/** Bedrock's embeddings models read text only. */
export function textOnly(call: EmbeddingsCall, model: string): ProviderError | undefined {
  return call.inputs.kind === 'tokens' ? refusedParam('input', `${model} takes text, not token ids: send the input as strings`) : undefined;
}

/** A dimension the model has, or a refusal naming `dimensions`. */
export function dimensionRefusal(call: EmbeddingsCall, model: string, sizes: readonly number[]): ProviderError | undefined {
  const d = call.dimensions;
  if (d === undefined || sizes.includes(d)) return undefined;
  return refusedParam('dimensions', `${model} makes vectors of ${sizes.join(', ')} dimensions, not ${d}`);
}

/** A model's answer as a JSON object; anything else is a broken answer (another route may do better). */
export function jsonObjectOf(text: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw brokenAnswer(what, `not JSON: ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw brokenAnswer(what, 'not a JSON object');
  return doc as Record<string, unknown>;
}

export function brokenAnswer(what: string, detail: string): ProviderError {
  return new ProviderError('transient', `${what} answered with invalid embeddings: ${detail}`, { code: 'unparseable' });
}
