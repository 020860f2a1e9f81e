/**
 * A compiled check that a request body is valid exactly as sent, made from the request
 * schema itself (its JSON Schema, compiled by ajv into straight-line code). zod walks
 * every key of the schema on every request and copies the body, a large share of a
 * request's cost (bench/analysis.md, section 6). A body that passes is used as
 * it is; anything else (an error, or a key zod would strip) goes to zod, which names the
 * field at fault or returns the stripped copy. So the check may only say yes where zod
 * would return the body unchanged: the JSON Schema of zod's output forbids extra keys on
 * every object, and the rules between fields are the schema's own functions.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import * as z from 'zod/mini';
import { assistantSaysSomething, chatRequestSchema, crossFieldIssue, type ChatRequest } from '../core/chat-request';

/** Compiled at start-up, not on the first request (the Node server passes this check to the gateway; the Lambda bundle has no ajv). */
function compile(): ValidateFunction {
  // Throws on anything JSON Schema cannot say, rather than letting it through unchecked.
  const schema = z.toJSONSchema(chatRequestSchema, { target: 'draft-7' });
  // Not strict: zod's output carries annotations ajv does not know; no coercion or defaults, so
  // the body is never changed. The large fields are compiled as functions of their own.
  return new Ajv({ strict: false, allErrors: false, inlineRefs: false }).compile(splitLargeProperties(schema));
}

/** A property's JSON Schema at least this long gets a validating function of its own. */
const OWN_FUNCTION_CHARS = 400;

/**
 * The same schema with its large properties moved to `definitions` and referenced. Compiled
 * inline, the request schema made one function too large for V8 to optimize, which ran
 * about seven times slower than the split one (bench/analysis.md, section 0).
 */
function splitLargeProperties(schema: JsonSchemaObject): JsonSchemaObject {
  const properties = schema.properties;
  if (!properties) return schema;
  const split: Record<string, unknown> = {};
  const definitions: Record<string, unknown> = { ...(schema.definitions ?? {}) };
  for (const [name, sub] of Object.entries(properties)) {
    // Plain names only: they go into a JSON pointer as they are.
    const large = /^\w+$/.test(name) && !(name in definitions) && JSON.stringify(sub).length >= OWN_FUNCTION_CHARS;
    if (large) definitions[name] = sub;
    split[name] = large ? { $ref: `#/definitions/${name}` } : sub;
  }
  return { ...schema, properties: split, definitions };
}

type JsonSchemaObject = { properties?: Record<string, unknown>; definitions?: Record<string, unknown> } & Record<string, unknown>;

const compiled = compile();

/** True when `doc` is a valid request that zod would return unchanged. */
export function validAsSent(doc: object): doc is ChatRequest {
  if (!compiled(doc)) return false;
  const req = doc as ChatRequest;
  for (const m of req.messages) if (m.role === 'assistant' && !assistantSaysSomething(m)) return false;
  return crossFieldIssue(req) === undefined;
}
