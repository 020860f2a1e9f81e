/**
 * The Chat Completions request body the gateway accepts, validated once at the edge.
 * Everything downstream (routing, translators) works on the parsed `ChatRequest`.
 */
import * as z from 'zod/mini';
import './zod-messages';
import { compiled } from './compiled-object';
import { echo, echoJson } from './echo';
import { nestedDeeperThan, TOO_DEEP } from './json-depth';

const text = () => z.string().check(z.minLength(1));
/** Optional, and null is as good as absent (OpenAI clients send either). */
const maybe = <T extends z.ZodMiniType>(schema: T) => z.optional(z.nullable(schema));

/** A prompt-cache marker, as Anthropic writes it: the prefix up to here may be cached (core/prompt-cache.ts). */
const cacheControl = compiled(z.strictObject({ type: z.literal('ephemeral', 'cache_control.type must be "ephemeral"'), ttl: z.optional(z.enum(['5m', '1h'])) }));

const textPart = compiled(
  z.strictObject({
    type: z.literal('text', 'expected a text part (image_url parts are allowed in user messages only)'),
    text: z.string(),
    cache_control: z.optional(cacheControl),
  }),
);
/** Parts of a message's content: at least one, as OpenAI requires. */
const parts = <T extends z.ZodMiniType>(part: T) => z.array(part).check(z.minLength(1, 'empty array; expected a string or at least one content part'));
/** Message content: a string or text parts. */
const content = z.union([z.string(), parts(textPart)]);

/** An image by URL: a `data:` URL, or an http(s) URL for providers that fetch images themselves (api/images.ts decides). */
const imagePart = compiled(
  z.strictObject({
    type: z.literal('image_url'),
    image_url: compiled(z.strictObject({ url: text(), detail: maybe(z.enum(['auto', 'low', 'high'])) })),
    cache_control: z.optional(cacheControl),
  }),
);
/** A user message's content: a string, or text and image parts. */
const userContent = z.union([z.string(), parts(z.discriminatedUnion('type', [textPart, imagePart]))]);

const toolCall = compiled(
  z.object({
    id: text(),
    type: z.literal('function'),
    function: compiled(z.object({ name: text(), arguments: z.string() })),
  }),
);

const marker = z.optional(cacheControl);
const systemMessage = compiled(z.object({ role: z.enum(['system', 'developer']), content, name: z.optional(z.string()), cache_control: marker }));
const userMessage = compiled(z.object({ role: z.literal('user'), content: userContent, name: z.optional(z.string()), cache_control: marker }));
const assistantMessage = compiled(
  z
    .object({
      role: z.literal('assistant'),
      content: maybe(content),
      name: z.optional(z.string()),
      tool_calls: z.optional(z.array(toolCall)),
      refusal: maybe(z.string()),
      cache_control: marker,
    })
    .check(z.refine(assistantSaysSomething, { message: 'an assistant message needs content or tool_calls' })),
);
const toolMessage = compiled(z.object({ role: z.literal('tool'), content, tool_call_id: text(), cache_control: marker }));

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;

/** One pass over the messages: the role picks the shape; an unknown role is named. */
export const messageSchema = z.discriminatedUnion('role', [systemMessage, userMessage, assistantMessage, toolMessage], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const m = issue.input;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'each message must be an object';
    const role = (m as { role?: unknown }).role;
    if (role === undefined) return 'missing required parameter';
    return `unknown role ${echoJson(role)}; expected one of ${ROLES.join(', ')}`;
  },
});

const functionTool = compiled(
  z.object({
    type: z.literal('function'),
    function: compiled(
      z.object({
        name: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-", at most 64')),
        description: z.optional(z.string()),
        parameters: z.optional(z.record(z.string(), z.unknown())),
        strict: maybe(z.boolean()),
      }),
    ),
    cache_control: marker,
  }),
);

const toolChoice = z.union([z.enum(['none', 'auto', 'required']), compiled(z.object({ type: z.literal('function'), function: compiled(z.object({ name: text() })) }))]);

/** `response_format`: free text, any JSON object, or JSON that follows a schema (providers/structured/ says how each target gets it). */
const jsonSchemaFormat = compiled(
  z.object({
    name: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-", at most 64')),
    description: z.optional(z.string()),
    schema: z.record(z.string(), z.unknown()),
    strict: maybe(z.boolean()),
  }),
);
const responseFormat = z.discriminatedUnion('type', [
  compiled(z.object({ type: z.literal('text') })),
  compiled(z.object({ type: z.literal('json_object') })),
  compiled(z.object({ type: z.literal('json_schema'), json_schema: jsonSchemaFormat })),
]);

/** OpenAI's `reasoning_effort` values, as its SDK types them ("none" and "xhigh" are the newer models'). */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];
const reasoningEffort = z.enum(REASONING_EFFORTS, `expected one of ${REASONING_EFFORTS.map((e) => `"${e}"`).join(', ')}`);

const stop = z.nullable(z.union([z.string(), z.array(z.string()).check(z.maxLength(4))]));

/** Accepted and passed on (or mapped) where a provider has them. */
const supported = {
  model: text(),
  messages: z.array(messageSchema).check(z.minLength(1, 'messages must not be empty')),
  stream: maybe(z.boolean()),
  stream_options: maybe(compiled(z.object({ include_usage: z.optional(z.boolean()) }))),
  max_tokens: maybe(z.int().check(z.positive())),
  max_completion_tokens: maybe(z.int().check(z.positive())),
  temperature: maybe(z.number().check(z.gte(0), z.lte(2))),
  top_p: maybe(z.number().check(z.gte(0), z.lte(1))),
  stop: z.optional(stop),
  tools: z.optional(z.array(functionTool).check(z.maxLength(128))),
  tool_choice: z.optional(toolChoice),
  parallel_tool_calls: z.optional(z.boolean()),
  n: maybe(z.literal(1, 'only n = 1 is supported')),
  seed: maybe(z.int()),
  response_format: maybe(responseFormat),
  presence_penalty: maybe(z.literal(0, 'presence_penalty is not supported across providers')),
  frequency_penalty: maybe(z.literal(0, 'frequency_penalty is not supported across providers')),
  logprobs: maybe(z.literal(false, 'logprobs is not supported')),
  /** How hard a reasoning model thinks: passed on to OpenAI-style targets, extended thinking on Claude (providers/translate/reasoning-effort.ts). */
  reasoning_effort: maybe(reasoningEffort),
  // Harmless metadata OpenAI clients send; accepted and not forwarded to non-OpenAI providers.
  user: z.optional(z.string()),
  /** OpenAI's successor to `user`: a stable id of the end user for its abuse checks. */
  safety_identifier: z.optional(z.string().check(z.maxLength(64))),
  metadata: z.optional(z.record(z.string(), z.string())),
  store: maybe(z.boolean()),
  /** Names the request's session (OpenAI's field): session affinity keys on it; passed on to OpenAI targets. */
  prompt_cache_key: maybe(z.string().check(z.minLength(1), z.maxLength(256))),
};

export const chatRequestSchema = compiled(
  z
    .strictObject(supported, {
      error: (issue) => (issue.code === 'unrecognized_keys' ? `Unrecognized request argument supplied: ${issue.keys.join(', ')}` : undefined),
    })
    .check(
      z.superRefine((req, ctx) => {
        const issue = crossFieldIssue(req);
        if (issue) ctx.addIssue({ code: 'custom', ...issue });
      }),
    ),
);

/**
 * The rules no field's own schema can check, as plain functions: the schema's checks and
 * the compiled fast check (request-fast-check.ts) apply these same ones.
 */
export function assistantSaysSomething(m: { content?: unknown; tool_calls?: readonly unknown[] | undefined }): boolean {
  return (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0;
}

interface CrossFields {
  stream?: boolean | null;
  stream_options?: object | null;
  tools?: readonly { function: { name: string; parameters?: unknown } }[];
  tool_choice?: string | { function: { name: string } };
  response_format?: { type: string; json_schema?: { schema: unknown } } | null;
}

/**
 * The first rule between fields a request breaks (tool_choice against tools, stream_options
 * without stream), or a free-form JSON schema nested too deep to handle (core/json-depth.ts).
 */
export function crossFieldIssue(req: CrossFields): { path: (string | number)[]; message: string } | undefined {
  if (req.tool_choice && typeof req.tool_choice === 'object') {
    const name = req.tool_choice.function.name;
    if (!req.tools?.some((t) => t.function.name === name)) return { path: ['tool_choice'], message: `tool_choice names "${echo(name)}", which is not in tools` };
  } else if (req.tool_choice === 'required' && !req.tools?.length) return { path: ['tool_choice'], message: 'tool_choice "required" needs tools' };
  if (req.stream_options && !req.stream) return { path: ['stream_options'], message: 'stream_options is only allowed when stream is true' };
  const tools = req.tools;
  if (tools) {
    for (let i = 0; i < tools.length; i++) if (nestedDeeperThan(tools[i].function.parameters)) return { path: ['tools', i, 'function', 'parameters'], message: TOO_DEEP };
  }
  const format = req.response_format;
  if (format?.json_schema && nestedDeeperThan(format.json_schema.schema)) return { path: ['response_format', 'json_schema', 'schema'], message: TOO_DEEP };
  return undefined;
}

export type ChatRequest = z.output<typeof chatRequestSchema>;
/** True when a body is valid as sent and the schema would return it unchanged (api/request-fast-check.ts). */
export type RequestCheck = (doc: object) => doc is ChatRequest;

/** A client's strict JSON schema compiled into a check of an answer: why it fails, or undefined when it passes. */
export type OutputCheck = (answer: unknown) => string | undefined;

/** Compiles a strict `response_format` schema (api/strict-schema.ts); throws the client's 400 for a schema that is not usable. */
export type OutputSchemaCompiler = (format: JsonSchemaFormat) => OutputCheck;
export type ChatMessage = ChatRequest['messages'][number];
export type ChatTool = NonNullable<ChatRequest['tools']>[number];
export type ChatToolCall = z.output<typeof toolCall>;
export type MessageContent = z.output<typeof content> | z.output<typeof userContent>;
export type ContentPart = Exclude<MessageContent, string>[number];
export type ImagePart = z.output<typeof imagePart>;
export type CacheControl = z.output<typeof cacheControl>;
export type ResponseFormat = z.output<typeof responseFormat>;
export type JsonSchemaFormat = z.output<typeof jsonSchemaFormat>;

/** The text of a message's content (text parts joined; images have none). */
export function contentText(c: MessageContent | null | undefined): string {
  if (c === null || c === undefined) return '';
  if (typeof c === 'string') return c;
  let out = '';
  for (const p of c) if (p.type === 'text') out += p.text;
  return out;
}

/** The client's JSON schema when the answer must validate against it (`strict: true`). */
export function strictSchemaOf(req: Pick<ChatRequest, 'response_format'>): JsonSchemaFormat | undefined {
  const f = req.response_format;
  return f?.type === 'json_schema' && f.json_schema.strict === true ? f.json_schema : undefined;
}

/** The output-token cap the client asked for, whichever field it used. */
export function maxOutputTokens(req: ChatRequest): number | undefined {
  return req.max_completion_tokens ?? req.max_tokens ?? undefined;
}
