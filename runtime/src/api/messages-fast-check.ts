/**
 * The Messages API's compiled body check (the chat route's is request-fast-check.ts): the
 * request schemas' JSON Schema, compiled by ajv, so a valid body skips zod's walk, which
 * cost ~100 us a request at c=1 (bench/analysis.md, section 0). A body the
 * check refuses goes to zod, which names the field at fault. zod's JSON Schema leaves out
 * refinements; the ones the schemas have (the rules of each block kind, no tool_result in a
 * tool_result's content, a custom tool's input_schema) are stated here, and a corpus test holds the check to zod's answers.
 */
import Ajv from 'ajv';
import * as z from 'zod/mini';
import { messagesSchemas, REFINED_PARTS, type CountTokensRequest, type MessagesChecks, type MessagesRequest } from '../core/messages-request';

type JsonSchema = Record<string, unknown>;

/** Where every content block is checked: by its kind's schema for a known kind, by its `type` alone otherwise. */
const BLOCK_REF = '#/definitions/block';

/** A block of a tool_result's content: a block, but not a tool_result (refused before its own check, which would recurse). */
const RESULT_CONTENT_BLOCK_REF = '#/definitions/result_content_block';

/** A custom tool (no type, null or "custom") needs an input schema; server tools are defined by their type. */
const CUSTOM_TOOL_RULE: JsonSchema = {
  if: { properties: { type: { enum: [null, 'custom'] } } },
  then: { required: ['input_schema'], properties: { input_schema: { type: 'object' } } },
};

/** zod's JSON Schema of `schema`, the refined parts stated. */
function jsonSchemaOf(schema: z.ZodMiniType): JsonSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema, {
    target: 'draft-7',
    override: ({ zodSchema, jsonSchema }) => {
      const node = jsonSchema as JsonSchema;
      const part: unknown = zodSchema;
      if (part === REFINED_PARTS.block || part === REFINED_PARTS.resultContentBlock) {
        for (const key of Object.keys(node)) delete node[key];
        node.$ref = part === REFINED_PARTS.block ? BLOCK_REF : RESULT_CONTENT_BLOCK_REF;
      } else if (part === REFINED_PARTS.tool) {
        Object.assign(node, CUSTOM_TOOL_RULE);
      }
    },
  }) as JsonSchema;
  return json;
}

function definitions(): Record<string, JsonSchema> {
  const kinds = Object.entries(REFINED_PARTS.blockKinds);
  const defs: Record<string, JsonSchema> = {
    block: {
      type: 'object',
      required: ['type'],
      properties: { type: { type: 'string' } },
      allOf: kinds.map(([kind]) => ({ if: { required: ['type'], properties: { type: { const: kind } } }, then: { $ref: `#/definitions/block_${kind}` } })),
    },
  };
  defs.result_content_block = { if: { required: ['type'], properties: { type: { const: 'tool_result' } } }, then: false, else: { $ref: BLOCK_REF } };
  for (const [kind, schema] of kinds) defs[`block_${kind}`] = jsonSchemaOf(schema);
  return defs;
}

function compile<T extends object>(schema: z.ZodMiniType, ajv: Ajv, defs: Record<string, JsonSchema>): (doc: object) => doc is T {
  const check = ajv.compile({ ...jsonSchemaOf(schema), definitions: defs });
  return (doc: object): doc is T => check(doc);
}

/** Compiled at start-up (the Node server passes them to the gateway; the Lambda bundle has no ajv). */
function compileAll(): MessagesChecks {
  // Not strict: zod's output carries annotations ajv does not know; no coercion or defaults, so the body is never changed.
  const ajv = new Ajv({ strict: false, allErrors: false, inlineRefs: false });
  const defs = definitions();
  const schemas = messagesSchemas();
  return { messages: compile<MessagesRequest>(schemas.messages, ajv, defs), countTokens: compile<CountTokensRequest>(schemas.countTokens, ajv, defs) };
}

export const messagesChecks: MessagesChecks = compileAll();
