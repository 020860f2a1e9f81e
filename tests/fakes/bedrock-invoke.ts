/**
 * InvokeModel of the fake Bedrock (fakes/bedrock.ts) for the embeddings models: Amazon
 * Titan Text Embeddings v2 (`{inputText, dimensions, normalize, embeddingTypes}` ->
 * `{embedding, embeddingsByType, inputTextTokenCount}`) and Cohere Embed v3/v4 (`{texts,
 * input_type, truncate, embedding_types, output_dimension}` -> `{id, texts, embeddings,
 * response_type}`), with their request rules in Bedrock's words. The token count goes in
 * the `X-Amzn-Bedrock-Input-Token-Count` header, as Bedrock sends it; the vectors come
 * from the model, the text and (Cohere) the input_type.
 */
import { randomUUID } from 'node:crypto';
import { fakeVector, vectorJson } from './vectors';

export type InvokeOutcome = { ok: true; body: string; inputTokens: number } | { ok: false; message: string };

const malformed = (detail: string): InvokeOutcome => ({ ok: false, message: `Malformed input request: ${detail}, please reformat your input and try again.` });

/** The fake's token count of a text (not the gateway's estimate, so that tests tell them apart). */
export function fakeTokenCount(text: string): number {
  return Math.ceil(text.length / 5) + 1;
}

export function invokeModel(modelId: string, body: Record<string, unknown>): InvokeOutcome {
  const id = modelId.replace(/^(us|eu|apac|global)\./, '');
  if (id === 'amazon.titan-embed-text-v2:0') return titan(modelId, body);
  if (/^cohere\.embed-(english-v3|multilingual-v3|v4:0)$/.test(id)) return cohere(modelId, body, id.includes('v4'));
  return { ok: false, message: 'The provided model identifier is invalid.' };
}

function extraneous(body: Record<string, unknown>, allowed: readonly string[]): InvokeOutcome | undefined {
  const extra = Object.keys(body).find((k) => !allowed.includes(k));
  return extra === undefined ? undefined : malformed(`#: extraneous key [${extra}] is not permitted`);
}

function titan(modelId: string, body: Record<string, unknown>): InvokeOutcome {
  const bad = extraneous(body, ['inputText', 'dimensions', 'normalize', 'embeddingTypes']);
  if (bad) return bad;
  const text = body.inputText;
  if (text === undefined) return malformed('#: required key [inputText] not found');
  if (typeof text !== 'string') return malformed('#/inputText: expected type: String');
  if (text.length === 0) return malformed('#/inputText: expected minLength: 1, actual: 0');
  if (text.length > 50_000) return malformed(`#/inputText: expected maxLength: 50000, actual: ${text.length}`);
  const dims = body.dimensions ?? 1024;
  if (dims !== 256 && dims !== 512 && dims !== 1024) return malformed(`#/dimensions: ${JSON.stringify(dims)} is not a valid enum value`);
  if (body.normalize !== undefined && typeof body.normalize !== 'boolean') return malformed('#/normalize: expected type: Boolean');
  const vector = fakeVector(`${modelId}\n${text}`, dims, body.normalize !== false);
  const tokens = fakeTokenCount(text);
  return { ok: true, inputTokens: tokens, body: `{"embedding":${vectorJson(vector)},"embeddingsByType":{"float":${vectorJson(vector)}},"inputTextTokenCount":${tokens}}` };
}

const INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering'];

function cohere(modelId: string, body: Record<string, unknown>, v4: boolean): InvokeOutcome {
  const bad = extraneous(
    body,
    v4 ? ['texts', 'images', 'inputs', 'input_type', 'truncate', 'embedding_types', 'output_dimension', 'max_tokens'] : ['texts', 'images', 'input_type', 'truncate', 'embedding_types'],
  );
  if (bad) return bad;
  const texts = body.texts;
  if (!Array.isArray(texts)) return malformed('#: required key [texts] not found');
  if (texts.length > 96) return malformed(`#/texts: expected maxItems: 96, actual: ${texts.length}`);
  for (const [i, t] of texts.entries()) {
    if (typeof t !== 'string') return malformed(`#/texts/${i}: expected type: String`);
    if (!v4 && t.length > 2048) return malformed(`#/texts/${i}: expected maxLength: 2048, actual: ${t.length}`);
  }
  if (body.input_type === undefined) return malformed('#: required key [input_type] not found');
  if (!INPUT_TYPES.includes(body.input_type as string)) return malformed(`#/input_type: ${JSON.stringify(body.input_type)} is not a valid enum value`);
  const truncations = v4 ? ['NONE', 'LEFT', 'RIGHT'] : ['NONE', 'START', 'END'];
  if (body.truncate !== undefined && !truncations.includes(body.truncate as string)) return malformed(`#/truncate: ${JSON.stringify(body.truncate)} is not a valid enum value`);
  const types = body.embedding_types;
  if (types !== undefined && (!Array.isArray(types) || types.some((t) => !['float', 'int8', 'uint8', 'binary', 'ubinary'].includes(t as string)))) {
    return malformed('#/embedding_types: expected a list of float, int8, uint8, binary, ubinary');
  }
  const dims = v4 ? (body.output_dimension ?? 1536) : 1024;
  if (dims !== 256 && dims !== 512 && dims !== 1024 && dims !== 1536) return malformed(`#/output_dimension: ${JSON.stringify(dims)} is not a valid enum value`);
  const strings = texts as string[];
  const vectors = strings.map((t) => vectorJson(fakeVector(`${modelId}\n${body.input_type as string}\n${t}`, dims)));
  const list = `[${vectors.join(',')}]`;
  // Without embedding_types, v3 answers the float list itself (embeddings_floats); with them, a map by type.
  const byType = types !== undefined || v4;
  const embeddings = byType ? `{"float":${list}}` : list;
  const tokens = strings.reduce((n, t) => n + fakeTokenCount(t), 0);
  return {
    ok: true,
    inputTokens: tokens,
    body: `{"id":"${randomUUID()}","texts":${JSON.stringify(strings)},"embeddings":${embeddings},"response_type":"${byType ? 'embeddings_by_type' : 'embeddings_floats'}"}`,
  };
}
