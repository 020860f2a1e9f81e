/**
 * `response_format: {type: "json_schema", json_schema: {strict: true}}`: the answer must
 * be JSON that validates against the client's schema (ajv, JSON Schema 2020-12 with
 * formats), or the attempt failed (`invalid_output`) and the next route is tried. Each
 * schema is compiled once, cached by its text in a bounded cache. A held stream is read
 * whole and checked before the client sees any of it.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { JsonSchemaFormat } from '../core/chat-request';
import { badRequest } from '../core/gateway-error';
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../core/openai-types';
import { ProviderError } from '../providers/errors';
import type { StreamResult } from '../providers/types';

const MAX_SCHEMAS = 256;
const SCHEMA_PARAM = 'response_format.json_schema.schema';

// Not strict: client schemas carry keywords ajv does not know (titles of tools, vendor extensions).
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
const compiled = new Map<string, { schema: object; validate: ValidateFunction }>();

/** The compiled check of a client's schema; a schema that is not valid JSON Schema is the client's 400. */
export function schemaValidator(format: JsonSchemaFormat): ValidateFunction {
  const key = JSON.stringify(format.schema);
  const hit = compiled.get(key);
  if (hit) {
    // Least recently used goes first when the cache is full.
    compiled.delete(key);
    compiled.set(key, hit);
    return hit.validate;
  }
  // Its own $schema and $id would tie it to one draft or clash with another client's id.
  const { $schema: _draft, $id: _id, ...schema } = format.schema;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw badRequest(`Invalid '${SCHEMA_PARAM}': not a usable JSON Schema: ${(err as Error).message}`, SCHEMA_PARAM, 'invalid_json_schema');
  }
  compiled.set(key, { schema, validate });
  if (compiled.size > MAX_SCHEMAS) {
    const [oldest, entry] = compiled.entries().next().value!;
    compiled.delete(oldest);
    ajv.removeSchema(entry.schema);
  }
  return validate;
}

/** Throws `invalid_output` unless the answer is JSON valid against the schema (a call of a client tool is an answer too). */
export function checkCompletion(completion: ChatCompletion, validate: ValidateFunction): void {
  const message = completion.choices[0]?.message;
  if (message?.tool_calls?.length) return;
  checkText(message?.content ?? '', validate, completion.usage);
}

/** The stream read whole and checked; the client then gets its chunks as they came. */
export async function heldStream(result: StreamResult, validate: ValidateFunction): Promise<StreamResult> {
  const chunks: ChatCompletionChunk[] = [];
  let text = '';
  let toolCalls = false;
  let usage: Usage | undefined;
  for await (const chunk of result.chunks) {
    chunks.push(chunk);
    const delta = chunk.choices[0]?.delta;
    if (typeof delta?.content === 'string') text += delta.content;
    if (delta?.tool_calls?.length) toolCalls = true;
    if (chunk.usage) usage = chunk.usage;
  }
  if (!toolCalls) checkText(text, validate, usage);
  return { ...result, chunks: replay(chunks) };
}

async function* replay(chunks: ChatCompletionChunk[]): AsyncGenerator<ChatCompletionChunk> {
  yield* chunks;
}

function checkText(text: string, validate: ValidateFunction, usage: Usage | undefined): void {
  const fail = (why: string) => new ProviderError('invalid_output', `the answer ${why}`, { code: 'invalid_structured_output', usedTokens: usage?.total_tokens });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail(text.trim() === '' ? 'is empty' : `is not JSON (${(err as Error).message})`);
  }
  if (!validate(value)) throw fail(`does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: 'answer' })}`);
}
