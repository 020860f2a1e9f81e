/**
 * The Anthropic Messages request (`POST /v1/messages`, `/v1/messages/count_tokens`) as the
 * gateway accepts it. The schema checks what the gateway reads and what a translation
 * needs; block and field kinds it does not know pass untouched, because Claude targets
 * get the body as the client sent it (thinking signatures, cache_control, citations ...).
 */
import * as z from 'zod/mini';
import './zod-messages';
import { compiled } from './compiled-object';

/** The `anthropic-version` values the gateway speaks: the long-lived one and the 1.x SDKs' default. */
export const ANTHROPIC_VERSIONS = ['2023-06-01', '2026-10-21'] as const;
export type AnthropicVersion = (typeof ANTHROPIC_VERSIONS)[number];

export interface CacheControl {
  type: 'ephemeral';
  ttl?: string;
}

export interface TextBlockParam {
  type: 'text';
  text: string;
  cache_control?: CacheControl | null;
  citations?: unknown[] | null;
}

export interface ToolUseBlockParam {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
  cache_control?: CacheControl | null;
}

export interface ToolResultBlockParam {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | ContentBlockParam[];
  is_error?: boolean;
  cache_control?: CacheControl | null;
}

export interface ThinkingBlockParam {
  type: 'thinking';
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlockParam {
  type: 'redacted_thinking';
  data: string;
}

export interface ImageBlockParam {
  type: 'image';
  source: { type: string; [key: string]: unknown };
  cache_control?: CacheControl | null;
}

/** Every other kind (document, search_result, server tool blocks ...): carried, not read. */
export interface OtherBlockParam {
  type: string;
  [key: string]: unknown;
}

export type KnownBlockParam = TextBlockParam | ToolUseBlockParam | ToolResultBlockParam | ThinkingBlockParam | RedactedThinkingBlockParam | ImageBlockParam;
export type ContentBlockParam = KnownBlockParam | OtherBlockParam;

/** Narrows a block by its kind (the catch-all member keeps TypeScript from doing it on `type` alone). */
export function isBlock<K extends KnownBlockParam['type']>(block: ContentBlockParam, type: K): block is Extract<KnownBlockParam, { type: K }> {
  return block.type === type;
}

export interface MessageParam {
  /** `system`: a mid-conversation system message. */
  role: 'user' | 'assistant' | 'system';
  content: string | ContentBlockParam[];
}

export interface CustomToolParam {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  type?: 'custom' | null;
  cache_control?: CacheControl | null;
  [key: string]: unknown;
}

/** Server tools (`web_search_20250305`, `bash_20250124` ...) have a type of their own. */
export type ToolParam = CustomToolParam | { type: string; name: string; [key: string]: unknown };

export type ToolChoiceParam = { type: 'auto' | 'any' | 'none'; disable_parallel_tool_use?: boolean } | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean };

export type ThinkingParam = { type: 'enabled'; budget_tokens: number; [key: string]: unknown } | { type: 'disabled' | 'adaptive' | 'between_tools'; [key: string]: unknown };

/** What count_tokens takes: the prompt, without the generation's settings. */
export interface CountTokensRequest {
  model: string;
  messages: MessageParam[];
  system?: string | TextBlockParam[];
  tools?: ToolParam[];
  tool_choice?: ToolChoiceParam;
  thinking?: ThinkingParam;
  [key: string]: unknown;
}

export interface MessagesRequest extends CountTokensRequest {
  max_tokens: number;
  stop_sequences?: string[];
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  metadata?: { user_id?: string | null };
}

// ---------------------------------------------------------------------------------------
// Schema

const cacheControl = z.optional(z.nullable(z.looseObject({ type: z.literal('ephemeral'), ttl: z.optional(z.string()) })));
const textBlock = z.looseObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl, citations: z.optional(z.nullable(z.array(z.unknown()))) });
const object = () => z.record(z.string(), z.unknown());

/** Known kinds are checked by their own schema; any other kind needs only a `type`. */
const BLOCKS: Record<string, z.ZodMiniType> = {
  text: textBlock,
  image: z.looseObject({ type: z.literal('image'), source: z.looseObject({ type: z.string() }), cache_control: cacheControl }),
  tool_use: z.looseObject({ type: z.literal('tool_use'), id: z.string().check(z.minLength(1)), name: z.string().check(z.minLength(1)), input: object(), cache_control: cacheControl }),
  thinking: z.looseObject({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() }),
  redacted_thinking: z.looseObject({ type: z.literal('redacted_thinking'), data: z.string() }),
};

/** `b` checked by its kind's schema (none: a kind this gateway passes on as it is), its issues reported as the block's. */
function checkKind(schema: z.ZodMiniType | undefined, b: { type: string }, ctx: z.core.$RefinementCtx): void {
  const result = schema?.safeParse(b);
  if (!result || result.success) return;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issueText(issue), path: issue.path, input: b });
}

const block: z.ZodMiniType = z.looseObject({ type: z.string() }).check(z.superRefine((b, ctx) => checkKind(b.type === 'tool_result' ? toolResultBlock : BLOCKS[b.type], b, ctx)));
/**
 * A block of a tool_result's content: any block but another tool_result (Anthropic takes
 * text, images, documents, search results there), so the checks never recurse deeper
 * than one tool_result, however deep a client nests them.
 */
const resultContentBlock: z.ZodMiniType = z.looseObject({ type: z.string() }).check(
  z.superRefine((b, ctx) => {
    if (b.type === 'tool_result') ctx.addIssue({ code: 'custom', message: "a tool_result's content cannot hold tool_result blocks", path: ['type'], input: b });
    else checkKind(BLOCKS[b.type], b, ctx);
  }),
);
const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().check(z.minLength(1)),
  content: z.optional(z.union([z.string(), z.array(resultContentBlock)])),
  is_error: z.optional(z.boolean()),
  cache_control: cacheControl,
});

const system = z.optional(z.union([z.string(), z.array(textBlock)]));

const message = compiled(
  z.looseObject({
    role: z.enum(['user', 'assistant', 'system']),
    content: z.union([z.string(), z.array(block)]),
  }),
);

const tool = z.looseObject({ name: z.string().check(z.minLength(1)), type: z.optional(z.nullable(z.string())) }).check(
  z.superRefine((t, ctx) => {
    // A custom tool needs its input schema; server tools are defined by their type.
    const custom = t.type === undefined || t.type === null || t.type === 'custom';
    if (custom && (typeof t.input_schema !== 'object' || t.input_schema === null || Array.isArray(t.input_schema))) {
      ctx.addIssue({ code: 'custom', message: 'Field required', path: ['input_schema'], input: t });
    }
  }),
);

const toolChoice = z.discriminatedUnion('type', [
  z.looseObject({ type: z.enum(['auto', 'any', 'none']), disable_parallel_tool_use: z.optional(z.boolean()) }),
  z.looseObject({ type: z.literal('tool'), name: z.string().check(z.minLength(1)), disable_parallel_tool_use: z.optional(z.boolean()) }),
]);

const thinking = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.int().check(z.gte(1024)) }),
  z.looseObject({ type: z.enum(['disabled', 'adaptive', 'between_tools']) }),
]);

/** Fields both endpoints take. Newer top-level fields Claude targets take are passed on unread. */
const prompt = {
  model: z.string().check(z.minLength(1)),
  messages: z.array(message).check(z.minLength(1), z.maxLength(100_000)),
  system,
  tools: z.optional(z.array(tool)),
  tool_choice: z.optional(toolChoice),
  thinking: z.optional(thinking),
  cache_control: z.optional(z.unknown()),
  context_management: z.optional(z.unknown()),
  mcp_servers: z.optional(z.unknown()),
  output_config: z.optional(z.unknown()),
  speed: z.optional(z.unknown()),
};

const generation = {
  ...prompt,
  max_tokens: z.int().check(z.gte(0)),
  stop_sequences: z.optional(z.array(z.string())),
  stream: z.optional(z.boolean()),
  temperature: z.optional(z.number().check(z.gte(0), z.lte(1))),
  top_p: z.optional(z.number().check(z.gte(0), z.lte(1))),
  top_k: z.optional(z.int().check(z.gte(0))),
  metadata: z.optional(z.looseObject({ user_id: z.optional(z.nullable(z.string())) })),
  service_tier: z.optional(z.unknown()),
  container: z.optional(z.unknown()),
  inference_geo: z.optional(z.unknown()),
  diagnostics: z.optional(z.unknown()),
};

/** Anthropic's words for a key it does not take. */
const extraInputs = (issue: { code?: string; keys?: string[] }) => (issue.code === 'unrecognized_keys' ? 'Extra inputs are not permitted' : undefined);

/**
 * The parts whose rules are refinements, which JSON Schema does not carry as zod writes
 * them: the compiled check (api/messages-fast-check.ts) states them itself.
 */
export const REFINED_PARTS = { block, resultContentBlock, tool, blockKinds: { ...BLOCKS, tool_result: toolResultBlock } as Record<string, z.ZodMiniType> };

/** Compiled checks that a body is valid as sent (api/messages-fast-check.ts): a body they pass skips the schema. */
export interface MessagesChecks {
  messages: (doc: object) => doc is MessagesRequest;
  countTokens: (doc: object) => doc is CountTokensRequest;
}

let schemas: { messages: z.ZodMiniType; countTokens: z.ZodMiniType } | undefined;

/** Built on first use: the Lambda proxy forwards bodies unread and never pays for it at start. */
export function messagesSchemas(): { messages: z.ZodMiniType; countTokens: z.ZodMiniType } {
  return (schemas ??= {
    messages: compiled(z.strictObject(generation, { error: extraInputs })),
    countTokens: compiled(z.strictObject(prompt, { error: extraInputs })),
  });
}

/** An issue's message as Anthropic words them: "Field required" for a missing one. */
export function issueText(issue: z.core.$ZodIssue): string {
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined) return 'Field required';
  return issue.message;
}

// ---------------------------------------------------------------------------------------
// Reading a request

/** The system prompt's text pieces. */
export function systemTexts(system: MessagesRequest['system']): string[] {
  if (system === undefined) return [];
  return typeof system === 'string' ? [system] : system.map((b) => b.text);
}

/** A message's content as blocks (a string is one text block). */
export function contentBlocks(content: MessageParam['content']): ContentBlockParam[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/** Whether the request asks the model to think (thinking blocks come back, prefill is refused). */
export function thinkingOn(req: CountTokensRequest): boolean {
  return req.thinking !== undefined && req.thinking.type !== 'disabled';
}
