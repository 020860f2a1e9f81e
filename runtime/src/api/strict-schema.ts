/**
 * The compiler of strict `response_format` schemas (ajv, JSON Schema 2020-12 with formats).
 * Each schema is compiled once, cached by its text in a bounded cache. The Node server and
 * the tests pass it to the gateway (GatewayOptions.outputSchemas); the Lambda proxy, whose
 * spokes check answers, leaves ajv out of its bundle.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { JsonSchemaFormat, OutputCheck } from '../core/chat-request';
import { badRequest } from '../core/gateway-error';

const MAX_SCHEMAS = 256;
const SCHEMA_PARAM = 'response_format.json_schema.schema';

// Not strict: client schemas carry keywords ajv does not know (titles of tools, vendor extensions).
const ajv = new Ajv2020({ strict: false, allErrors: false });
addFormats(ajv);
const compiled = new Map<string, { schema: object; check: OutputCheck }>();

/** The compiled check of a client's schema; a schema that is not valid JSON Schema is the client's 400. */
export function compileOutputSchema(format: JsonSchemaFormat): OutputCheck {
  const key = JSON.stringify(format.schema);
  const hit = compiled.get(key);
  if (hit) {
    // Least recently used goes first when the cache is full.
    compiled.delete(key);
    compiled.set(key, hit);
    return hit.check;
  }
  // Its own $schema and $id would tie it to one draft or clash with another client's id.
  const { $schema: _draft, $id: _id, ...schema } = format.schema;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw badRequest(`Invalid '${SCHEMA_PARAM}': not a usable JSON Schema: ${(err as Error).message}`, SCHEMA_PARAM, 'invalid_json_schema');
  }
  const check: OutputCheck = (answer) => (validate(answer) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'answer' }));
  compiled.set(key, { schema, check });
  if (compiled.size > MAX_SCHEMAS) {
    const [oldest, entry] = compiled.entries().next().value!;
    compiled.delete(oldest);
    ajv.removeSchema(entry.schema);
  }
  return check;
}
