/**
 * The words of the embeddings endpoint every layer shares: the request as the gateway
 * carries it after validation (api/validate-embeddings.ts), a batch of it as an adapter
 * gets it, and the vectors it gets back. Vectors are float32, as OpenAI's base64
 * encoding is: the float and base64 answers are the same numbers (core/float32.ts).
 */

/** The `api` a logical model serves (`models[].api`). */
export const MODEL_APIS = ['chat', 'embeddings'] as const;
export type ModelApi = (typeof MODEL_APIS)[number];

export const ENCODING_FORMATS = ['float', 'base64'] as const;
export type EncodingFormat = (typeof ENCODING_FORMATS)[number];

/** Cohere's `input_type`, a body extension for the targets that have the notion (default `search_document`). */
export const INPUT_TYPES = ['search_document', 'search_query', 'classification', 'clustering'] as const;
export type EmbeddingInputType = (typeof INPUT_TYPES)[number];

/** OpenAI's limit on inputs per request, which the gateway keeps (it splits them into provider batches). */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * What an embeddings answer may take per input: a 4,096-dimension vector written as JSON
 * floats (up to ~25 characters each) is about 100 KB, in base64 22 KB. A whole answer of
 * 2,048 inputs outgrows the 8 MB that bounds other answers.
 */
export const EMBEDDING_ANSWER_BYTES_PER_INPUT = 128 * 1024;

/** The inputs of a request or a batch: texts, or token ids (one array per input). */
export type EmbeddingInputs = { readonly kind: 'text'; readonly items: readonly string[] } | { readonly kind: 'tokens'; readonly items: readonly (readonly number[])[] };

/** What one provider call is asked: some of the request's inputs and its options. */
export interface EmbeddingsCall {
  readonly inputs: EmbeddingInputs;
  readonly dimensions?: number;
  readonly user?: string;
  readonly inputType?: EmbeddingInputType;
  /** What the client asked for: adapters whose upstream speaks it may ask for the same. */
  readonly encoding: EncodingFormat;
  /** The call carries every input of the request: its upstream's answer may go to the client as it came. */
  readonly whole?: boolean;
}

/** A validated request: the call for all of its inputs, and the logical model. */
export interface EmbeddingsRequest extends EmbeddingsCall {
  readonly model: string;
}

/**
 * An embeddings request the proxy forwards as the client sent it, for its spoke to
 * validate: only `model` was checked (api/forwarded-embeddings.ts).
 */
export interface ForwardedEmbeddings {
  readonly forwarded: true;
  /** The client's JSON, as it came. */
  readonly body: string;
  readonly model: string;
  /** How many inputs it has at most (what its answer may weigh). */
  readonly inputs: number;
}

/**
 * One vector, kept as it arrived so that it is converted only when the client asked for
 * the other encoding: float32 values (made here), the JSON numbers an upstream wrote,
 * or base64 of little-endian float32 bytes (as an upstream sent it, checked on arrival).
 */
export type EmbeddingVector = Float32Array | readonly number[] | string;

/** The inputs `from` (inclusive) to `to` (exclusive), as a batch of their own. */
export function sliceInputs(inputs: EmbeddingInputs, from: number, to: number): EmbeddingInputs {
  return inputs.kind === 'text' ? { kind: 'text', items: inputs.items.slice(from, to) } : { kind: 'tokens', items: inputs.items.slice(from, to) };
}

/**
 * The Bedrock embeddings models the gateway speaks (InvokeModel): Amazon Titan Text
 * Embeddings v2 and Cohere Embed (v3 English and multilingual, v4), cross-Region
 * inference profiles (`us.cohere.embed-v4:0`) included; undefined for any other id.
 */
export function bedrockEmbeddingFamily(modelId: string): 'titan' | 'cohere' | undefined {
  if (/(^|\.)amazon\.titan-embed-text-v2(:|$)/.test(modelId)) return 'titan';
  if (/(^|\.)cohere\.embed-/.test(modelId)) return 'cohere';
  return undefined;
}
