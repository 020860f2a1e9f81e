/**
 * The Chat Completions request body the gateway accepts, validated once at the edge.
 * Everything downstream (routing, translators) works on the parsed `ChatRequest`.
 */
import { z } from 'zod';

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
/** Message content: a string or text parts (images are not routed yet: they get a clear 400). */
const content = z.union([z.string(), z.array(textPart)]);

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const systemMessage = z.object({ role: z.enum(['system', 'developer']), content, name: z.string().optional() });
const userMessage = z.object({ role: z.literal('user'), content, name: z.string().optional() });
const assistantMessage = z
  .object({
    role: z.literal('assistant'),
    content: content.nullable().optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullable().optional(),
  })
  .refine((m) => (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0, {
    message: 'an assistant message needs content or tool_calls',
  });
const toolMessage = z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) });

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'] as const;

/** One pass over the messages: the role picks the shape; an unknown role is named. */
export const messageSchema = z.discriminatedUnion('role', [systemMessage, userMessage, assistantMessage, toolMessage], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const m = issue.input;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'each message must be an object';
    const role = (m as { role?: unknown }).role;
    if (role === undefined) return 'missing required parameter';
    return `unknown role ${JSON.stringify(role)}; expected one of ${ROLES.join(', ')}`;
  },
});

const functionTool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-", at most 64'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }),
]);

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullable();

/** Accepted and passed on (or mapped) where a provider has them. */
const supported = {
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1, 'messages must not be empty'),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: stop.optional(),
  tools: z.array(functionTool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  n: z.literal(1, 'only n = 1 is supported').nullable().optional(),
  seed: z.number().int().nullable().optional(),
  response_format: z.object({ type: z.literal('text', 'only response_format {"type":"text"} is supported') }).optional(),
  presence_penalty: z.literal(0, 'presence_penalty is not supported across providers').nullable().optional(),
  frequency_penalty: z.literal(0, 'frequency_penalty is not supported across providers').nullable().optional(),
  logprobs: z.literal(false, 'logprobs is not supported').nullable().optional(),
  // Harmless metadata OpenAI clients send; accepted and not forwarded to non-OpenAI providers.
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  store: z.boolean().nullable().optional(),
};

export const chatRequestSchema = z
  .strictObject(supported, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `Unrecognized request argument supplied: ${issue.keys.join(', ')}` : undefined,
  })
  .superRefine((req, ctx) => {
    if (req.tool_choice && typeof req.tool_choice === 'object') {
      const name = req.tool_choice.function.name;
      if (!req.tools?.some((t) => t.function.name === name)) {
        ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: `tool_choice names "${name}", which is not in tools` });
      }
    }
    if (req.stream_options && !req.stream) {
      ctx.addIssue({ code: 'custom', path: ['stream_options'], message: 'stream_options is only allowed when stream is true' });
    }
  });

export type ChatRequest = z.output<typeof chatRequestSchema>;
export type ChatMessage = ChatRequest['messages'][number];
export type ChatTool = NonNullable<ChatRequest['tools']>[number];
export type ChatToolCall = z.output<typeof toolCall>;
export type MessageContent = z.output<typeof content>;

/** The text of a message's content (parts joined). */
export function contentText(c: MessageContent | null | undefined): string {
  if (c === null || c === undefined) return '';
  return typeof c === 'string' ? c : c.map((p) => p.text).join('');
}

/** The output-token cap the client asked for, whichever field it used. */
export function maxOutputTokens(req: ChatRequest): number | undefined {
  return req.max_completion_tokens ?? req.max_tokens ?? undefined;
}
