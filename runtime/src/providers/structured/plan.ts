/**
 * How a request's `response_format` reaches a Bedrock or Anthropic target: the
 * provider's own structured output where the model has it and the schema fits it
 * (`native`), else a forced tool call whose input schema is the client's schema, its
 * input given back to the client as the answer's JSON text (`tool`, unwrap.ts). A
 * target's `structuredOutput` key overrides the default, which goes by model id.
 * OpenAI-style targets get `response_format` as it is and need no plan.
 */
import type { ChatRequest } from '../../core/chat-request';
import type { Route } from '../types';

export interface NativePlan {
  readonly mode: 'native';
  readonly name: string;
  readonly description?: string;
  readonly schema: Record<string, unknown>;
}

/** The tool the model answers through: its input is the answer. */
export interface AnswerTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  /** The client's schema is not an object's, so the tool takes `{ value }` and the answer is its value. */
  readonly wrapped: boolean;
}

export interface ToolPlan {
  readonly mode: 'tool';
  readonly tool: AnswerTool;
  /** `tool`: only the answer tool may be called; `any`: a client tool or the answer tool must be. */
  readonly choice: 'tool' | 'any';
}

export type StructuredPlan = NativePlan | ToolPlan;

const ANSWER_DESCRIPTION = 'Give your whole answer by calling this tool: its input is the answer, as JSON that follows the input schema.';

/**
 * The plan for `req` on `route`, or undefined when there is nothing to do: no JSON
 * format, or a client tool call is demanded (`tool_choice` "required" or a named
 * function), whose answer is that tool call.
 */
export function structuredPlan(req: ChatRequest, route: Route, nativeModel: (model: string) => boolean): StructuredPlan | undefined {
  const format = req.response_format;
  if (!format || format.type === 'text') return undefined;
  const clientTools = req.tools ?? [];
  const choice = req.tool_choice;
  if (clientTools.length > 0 && (choice === 'required' || typeof choice === 'object')) return undefined;
  if (format.type === 'json_schema') {
    const { name, description, schema } = format.json_schema;
    const native = route.structuredOutput === 'native' || (route.structuredOutput === undefined && nativeModel(route.model) && nativeSchemaFits(schema));
    if (native) return { mode: 'native', name, ...(description ? { description } : {}), schema };
  }
  const names = new Set(clientTools.map((t) => t.function.name));
  const base = format.type === 'json_schema' ? format.json_schema.name : 'json_answer';
  let name = names.has(base) ? `${base}_answer` : base;
  for (let n = 2; names.has(name); n++) name = `${base}_answer_${n}`;
  const described = format.type === 'json_schema' && format.json_schema.description ? `${format.json_schema.description}\n\n${ANSWER_DESCRIPTION}` : ANSWER_DESCRIPTION;
  const { inputSchema, wrapped } = format.type === 'json_schema' ? toolSchemaOf(format.json_schema.schema) : { inputSchema: { type: 'object' }, wrapped: false };
  return {
    mode: 'tool',
    tool: { name, description: described, inputSchema, wrapped },
    choice: clientTools.length === 0 || choice === 'none' ? 'tool' : 'any',
  };
}

/** Tool inputs are objects: another schema becomes the `value` of one, its definitions kept at the root for its $refs. */
function toolSchemaOf(schema: Record<string, unknown>): { inputSchema: Record<string, unknown>; wrapped: boolean } {
  if (schema.type === 'object' || (schema.type === undefined && typeof schema.properties === 'object')) return { inputSchema: schema, wrapped: false };
  const { $defs, definitions, ...value } = schema;
  const inputSchema: Record<string, unknown> = { type: 'object', properties: { value }, required: ['value'], additionalProperties: false };
  if ($defs !== undefined) inputSchema.$defs = $defs;
  if (definitions !== undefined) inputSchema.definitions = definitions;
  return { inputSchema, wrapped: true };
}

/** Keywords constrained decoding does not take (Anthropic's and Bedrock's documented limits); a schema with them goes by tool. */
const UNSUPPORTED = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'patternProperties',
  'if',
  'then',
  'else',
  'not',
]);

/**
 * Whether native structured output takes the schema: an object at the root, every object
 * closed (`additionalProperties: false`), no numeric or string constraints, no recursion.
 */
export function nativeSchemaFits(schema: Record<string, unknown>): boolean {
  if (schema.type !== 'object') return false;
  const fits = (node: unknown): boolean => {
    if (Array.isArray(node)) return node.every(fits);
    if (typeof node !== 'object' || node === null) return true;
    const n = node as Record<string, unknown>;
    for (const key of Object.keys(n)) if (UNSUPPORTED.has(key)) return false;
    if (n.$ref === '#') return false;
    if (typeof n.minItems === 'number' && n.minItems > 1) return false;
    const isObject = n.type === 'object' || (Array.isArray(n.type) && n.type.includes('object'));
    if (isObject && n.additionalProperties !== false) return false;
    return Object.entries(n).every(([key, v]) => key === 'enum' || key === 'const' || key === 'default' || key === 'examples' || fits(v));
  };
  return fits(schema);
}

/** Region prefixes of Bedrock cross-Region inference profiles. */
const PROFILE_PREFIX = /^(?:us|eu|apac|jp|au|ca|us-gov|global)\./;

/**
 * Bedrock models with structured output on Converse (`outputConfig.textFormat`), as the
 * Bedrock user guide lists them: Claude Haiku, Sonnet and Opus 4.5, Opus and Sonnet 4.6,
 * and open-weight Qwen3, gpt-oss, DeepSeek V3, Gemma 3, Mistral (Magistral, Ministral 3,
 * Large 3, Devstral 2, Voxtral), Kimi K2, Nemotron and GLM.
 */
const BEDROCK_NATIVE = [
  /^anthropic\.claude-(?:haiku|sonnet|opus)-4-5/,
  /^anthropic\.claude-(?:opus|sonnet)-4-6/,
  /^qwen\.qwen3/,
  /^openai\.gpt-oss/,
  /^deepseek\.v3/,
  /^google\.gemma-3-(?:12b|27b)/,
  /^mistral\.(?:magistral|ministral-3|mistral-large-3|devstral-2|voxtral)/,
  /^moonshot(?:ai)?\.kimi-k2/,
  /^nvidia\.nemotron/,
  /^zai\.glm/,
];

export function bedrockHasNativeOutput(modelId: string): boolean {
  const id = modelId.replace(PROFILE_PREFIX, '');
  return BEDROCK_NATIVE.some((re) => re.test(id));
}

/** Claude models with structured output on the Messages API (`output_config.format`): 4.5 and later. */
export function anthropicHasNativeOutput(model: string): boolean {
  const m = /^claude-(?:haiku|sonnet|opus)-(\d+)(?:-(\d)(?!\d))?/.exec(model);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = m[2] === undefined ? 0 : Number(m[2]);
  return major > 4 || (major === 4 && minor >= 5);
}
