/**
 * Parses and validates an embeddings body (OpenAI's shape, plus the `input_type`
 * extension); every failure is a 400 naming the field at fault, `input[3]` style.
 */
import * as z from 'zod/mini';
import '../core/zod-messages';
import { compiled } from '../core/compiled-object';
import { echoJson } from '../core/echo';
import { ENCODING_FORMATS, INPUT_TYPES, MAX_EMBEDDING_INPUTS, type EmbeddingInputs, type EmbeddingsRequest } from '../core/embeddings';
import { GatewayError } from '../core/gateway-error';
import { describe, parseJsonObject } from './validate-chat';

/** Optional, and null is as good as absent (OpenAI clients send either). */
const maybe = <T extends z.ZodMiniType>(schema: T) => z.optional(z.nullable(schema));

const embeddingsBodySchema = compiled(
  z.strictObject(
    {
      model: z.string().check(z.minLength(1)),
      // Its union has no message worth giving: inputsOf checks it and names the element at fault.
      input: z.unknown(),
      encoding_format: maybe(z.enum(ENCODING_FORMATS)),
      dimensions: maybe(z.int().check(z.positive())),
      user: z.optional(z.string()),
      input_type: maybe(z.enum(INPUT_TYPES)),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `Unrecognized request argument supplied: ${issue.keys.join(', ')}` : undefined) },
  ),
);

export function parseEmbeddingsBody(text: string): EmbeddingsRequest {
  const doc = parseJsonObject(text);
  const result = embeddingsBodySchema.safeParse(doc);
  if (!result.success) {
    const issue = embeddingsBodySchema.safeParse(doc, { reportInput: true }).error!.issues[0];
    const { message, param } = describe(issue);
    throw new GatewayError(400, 'invalid_request_error', message, issue.code === 'unrecognized_keys' ? 'unsupported_parameter' : 'invalid_value', param);
  }
  const body = result.data;
  const req: { -readonly [K in keyof EmbeddingsRequest]: EmbeddingsRequest[K] } = { model: body.model, inputs: inputsOf(body.input), encoding: body.encoding_format ?? 'float' };
  if (body.dimensions != null) req.dimensions = body.dimensions;
  if (body.user !== undefined) req.user = body.user;
  if (body.input_type != null) req.inputType = body.input_type;
  return req;
}

const invalid = (param: string, message: string) => new GatewayError(400, 'invalid_request_error', `Invalid '${param}': ${message}`, 'invalid_value', param);

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** `input` as texts or token arrays: a string, strings, token ids, or arrays of token ids. */
function inputsOf(input: unknown): EmbeddingInputs {
  if (input === undefined) throw invalid('input', 'missing required parameter');
  if (typeof input === 'string') {
    if (input === '') throw invalid('input', 'an empty string cannot be embedded');
    return { kind: 'text', items: [input] };
  }
  if (!Array.isArray(input)) throw invalid('input', `expected a string, an array of strings, an array of token ids or an array of token id arrays, got ${kindOf(input)}`);
  if (input.length === 0) throw invalid('input', 'must not be an empty array');
  const first: unknown = input[0];
  // One token array (numbers) is one input.
  if (typeof first === 'number') return { kind: 'tokens', items: [tokenIds(input, 'input')] };
  if (input.length > MAX_EMBEDDING_INPUTS) throw invalid('input', `at most ${MAX_EMBEDDING_INPUTS} inputs per request, got ${input.length}`);
  if (Array.isArray(first)) return { kind: 'tokens', items: input.map((ids, i) => tokenIds(ids, `input[${i}]`)) };
  if (typeof first !== 'string') throw invalid('input[0]', `expected a string, an array of token ids or a token id, got ${kindOf(first)}`);
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (typeof item !== 'string') throw invalid(`input[${i}]`, `expected a string like the other inputs, got ${kindOf(item)}`);
    if (item === '') throw invalid(`input[${i}]`, 'an empty string cannot be embedded');
  }
  return { kind: 'text', items: input as string[] };
}

/** A token array at `param`: non-empty, non-negative safe integers only (deeper arrays are not token ids). */
function tokenIds(ids: unknown, param: string): number[] {
  if (!Array.isArray(ids)) throw invalid(param, `expected an array of token ids like the other inputs, got ${kindOf(ids)}`);
  if (ids.length === 0) throw invalid(param, 'an empty token array cannot be embedded');
  for (let j = 0; j < ids.length; j++) {
    const id: unknown = ids[j];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw invalid(`${param}[${j}]`, `token ids are non-negative integers, got ${echoJson(id)}`);
  }
  return ids as number[];
}
