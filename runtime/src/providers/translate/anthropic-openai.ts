/**
 * Anthropic Messages (a Claude-format client) <-> OpenAI Chat Completions (the gateway's
 * adapters), for targets that do not speak Messages: Bedrock Converse, OpenAI,
 * OpenAI-compatible servers, the simulated provider. Pure functions and one stateful
 * stream translator; no I/O. What such a target cannot take keeps its meaning or is
 * refused: thinking blocks (their signatures belong to Claude) and sampling hints
 * without an equivalent are left out with a note; a user's images become image parts;
 * documents, server tools and images elsewhere are refused by name.
 */
import type { ChatMessage, ChatRequest, ChatToolCall } from '../../core/chat-request';
import {
  contentBlocks,
  isBlock,
  systemTexts,
  thinkingOn,
  type ContentBlockParam,
  type ImageBlockParam,
  type MessagesRequest,
  type ToolChoiceParam,
  type ToolParam,
} from '../../core/messages-request';
import type { ChatCompletion, ChatCompletionChunk, FinishReason, Usage } from '../../core/openai-types';
import { echo } from '../../core/echo';
import { ProviderError } from '../errors';
import type { MessagesEvent } from '../messages-types';
import type { AnthropicMessage, AnthropicResponseBlock, AnthropicUsage } from './openai-anthropic';

/** OpenAI takes at most this many stop sequences. */
const MAX_STOPS = 4;

/** Top-level fields only Claude targets can honour; without them the answer keeps its meaning. */
const DROPPED_FIELDS = ['top_k', 'cache_control', 'context_management', 'service_tier', 'speed', 'inference_geo', 'diagnostics', 'container'];

const refuse = (param: string, why: string) => new ProviderError('refused', `${param}: ${why}`, { status: 400, param, code: 'unsupported_on_target' });

// ---------------------------------------------------------------------------------------
// Request: Messages -> Chat

export interface TranslatedRequest {
  chat: ChatRequest;
  /** What was left out, for the request's log line. */
  notes: string[];
}

export function toChatRequest(req: MessagesRequest): TranslatedRequest {
  const notes = new Set<string>();
  if (req.max_tokens === 0) throw refuse('max_tokens', 'max_tokens 0 (prompt cache pre-warming) is only served by Claude targets');
  const messages: ChatMessage[] = [];
  const system = systemTexts(req.system);
  if (system.length > 0) messages.push({ role: 'system', content: system.join('\n\n') });
  req.messages.forEach((m, i) => {
    if (m.role === 'system') messages.push({ role: 'system', content: plainText(contentBlocks(m.content), `messages.${i}`) });
    else if (m.role === 'user') messages.push(...userMessages(contentBlocks(m.content), i, notes));
    else {
      const assistant = assistantMessage(contentBlocks(m.content), i, notes);
      if (assistant) messages.push(assistant);
    }
  });
  // Thinking blocks alone leave nothing a chat target can answer: it would get no message at all.
  if (!messages.some((m) => m.role !== 'system')) throw refuse('messages', 'no message has content a non-Claude target can take (thinking blocks are left out)');
  const chat: ChatRequest = { model: req.model, messages, max_completion_tokens: req.max_tokens };
  if (req.temperature !== undefined) chat.temperature = req.temperature;
  if (req.top_p !== undefined) chat.top_p = req.top_p;
  if (req.stop_sequences?.length) {
    if (req.stop_sequences.length > MAX_STOPS) throw refuse('stop_sequences', `at most ${MAX_STOPS} stop sequences reach a non-Claude target`);
    chat.stop = req.stop_sequences;
  }
  if (req.tools?.length) chat.tools = req.tools.map((t, k) => functionTool(t, k));
  if (req.tool_choice) Object.assign(chat, toolChoiceOf(req.tool_choice));
  if (typeof req.metadata?.user_id === 'string') chat.user = req.metadata.user_id;
  if (thinkingOn(req)) notes.add('thinking');
  if ((req.output_config as { format?: unknown } | undefined)?.format !== undefined) throw refuse('output_config.format', 'structured output formats are only served by Claude targets');
  if (req.mcp_servers !== undefined) throw refuse('mcp_servers', 'MCP servers are only served by Claude targets');
  for (const field of DROPPED_FIELDS) if (req[field] !== undefined) notes.add(field);
  if (req.output_config !== undefined) notes.add('output_config');
  return { chat, notes: notes.size > 0 ? [`not sent to a non-Claude target: ${[...notes].join(', ')}`] : [] };
}

type UserPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** Tool results become tool messages (they must follow the assistant's calls), the rest one user message. */
function userMessages(blocks: ContentBlockParam[], i: number, notes: Set<string>): ChatMessage[] {
  const out: ChatMessage[] = [];
  const parts: UserPart[] = [];
  blocks.forEach((b, j) => {
    const where = `messages.${i}.content.${j}`;
    if (isBlock(b, 'text')) parts.push({ type: 'text', text: b.text });
    else if (isBlock(b, 'image')) parts.push({ type: 'image_url', image_url: { url: imageUrlOf(b, where) } });
    else if (isBlock(b, 'tool_result')) {
      if (b.is_error) notes.add('tool_result is_error');
      out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.content === undefined ? '' : plainText(contentBlocks(b.content), `${where}.content`) });
    } else if (isBlock(b, 'thinking') || isBlock(b, 'redacted_thinking')) notes.add('thinking blocks');
    else throw unsupportedBlock(b, where);
  });
  if (parts.length > 0) out.push({ role: 'user', content: parts.length === 1 && parts[0].type === 'text' ? parts[0].text : parts });
  return out;
}

/** An image block as the URL of an OpenAI image part: its base64 as a data: URL, or its own URL (which the gateway never fetches). */
function imageUrlOf(b: ImageBlockParam, where: string): string {
  const source = b.source as { type: string; media_type?: unknown; data?: unknown; url?: unknown };
  if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') return `data:${source.media_type};base64,${source.data}`;
  if (source.type === 'url' && typeof source.url === 'string') return source.url;
  return refuseSource(where, source.type);
}

function refuseSource(where: string, type: string): never {
  throw refuse(`${where}.source`, `an image ${echo(type)} source is only served by Claude targets`);
}

function assistantMessage(blocks: ContentBlockParam[], i: number, notes: Set<string>): ChatMessage | undefined {
  let text = '';
  const calls: ChatToolCall[] = [];
  blocks.forEach((b, j) => {
    if (isBlock(b, 'text')) text += b.text;
    else if (isBlock(b, 'tool_use')) calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
    // Claude's reasoning, signed for Claude: another model cannot take it, and it is not the answer.
    else if (isBlock(b, 'thinking') || isBlock(b, 'redacted_thinking')) notes.add('thinking blocks');
    else throw unsupportedBlock(b, `messages.${i}.content.${j}`);
  });
  if (text === '' && calls.length === 0) return undefined;
  return calls.length > 0 ? { role: 'assistant', content: text === '' ? null : text, tool_calls: calls } : { role: 'assistant', content: text };
}

/** Text blocks only (tool results, system messages): anything else has no OpenAI place here. */
function plainText(blocks: ContentBlockParam[], where: string): string {
  return blocks
    .map((b, j) => {
      if (isBlock(b, 'text')) return b.text;
      throw unsupportedBlock(b, `${where}.${j}`);
    })
    .join('\n');
}

function unsupportedBlock(b: ContentBlockParam, where: string): ProviderError {
  // Images reach a non-Claude target only in a user's own text (not in tool results or assistant turns).
  if (b.type === 'image') return refuse(where, 'image blocks outside a user message’s own content are only served by Claude targets');
  return refuse(where, `${echo(b.type)} blocks are only served by Claude targets`);
}

function functionTool(t: ToolParam, k: number): NonNullable<ChatRequest['tools']>[number] {
  if (t.type !== undefined && t.type !== null && t.type !== 'custom') throw refuse(`tools.${k}`, `the server tool ${echo(String(t.type))} is only served by Claude targets`);
  const description = typeof t.description === 'string' ? t.description : undefined;
  return { type: 'function', function: { name: t.name, ...(description ? { description } : {}), parameters: t.input_schema as Record<string, unknown> } };
}

function toolChoiceOf(choice: ToolChoiceParam): Pick<ChatRequest, 'tool_choice' | 'parallel_tool_calls'> {
  const parallel = choice.disable_parallel_tool_use ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case 'auto':
      return { tool_choice: 'auto', ...parallel };
    case 'any':
      return { tool_choice: 'required', ...parallel };
    case 'none':
      return { tool_choice: 'none' };
    case 'tool':
      return { tool_choice: { type: 'function', function: { name: choice.name } }, ...parallel };
  }
}

// ---------------------------------------------------------------------------------------
// Answer: Chat -> Messages

/**
 * `calledTools`: the answer ends with tool calls. Some OpenAI-compatible servers say `stop`
 * then; a Claude client runs tools on stop_reason `tool_use`, so that is what such an end is.
 */
export function stopReasonOf(finish: FinishReason | null | undefined, calledTools = false): string {
  if (calledTools && (finish === 'stop' || finish === 'tool_calls')) return 'tool_use';
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** OpenAI's usage in Anthropic's words: cached prompt tokens are cache reads, cache writes (our extension) cache creation, the rest input. */
export function anthropicUsageOf(u: Usage | null | undefined): Required<Pick<AnthropicUsage, 'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens'>> {
  const cached = u?.prompt_tokens_details?.cached_tokens ?? 0;
  const written = u?.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (u?.prompt_tokens ?? 0) - cached - written),
    output_tokens: u?.completion_tokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: written,
  };
}

/** An Anthropic message id for an OpenAI answer id. */
export function messageIdOf(completionId: string): string {
  return `msg_${completionId.replace(/^chatcmpl-/, '')}`;
}

export function messageFromCompletion(c: ChatCompletion): AnthropicMessage {
  const choice = c.choices[0];
  const content: AnthropicResponseBlock[] = [];
  const text = choice?.message.content;
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  for (const call of choice?.message.tool_calls ?? []) {
    const input = wholeInput(call.function.arguments, call.function.name, choice.finish_reason);
    if (input) content.push({ type: 'tool_use', id: call.id, name: call.function.name, input });
  }
  return {
    id: messageIdOf(c.id),
    type: 'message',
    role: 'assistant',
    model: c.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason, content.at(-1)?.type === 'tool_use'),
    stop_sequence: null,
    usage: anthropicUsageOf(c.usage),
  };
}

/**
 * A call's arguments, or undefined for the call max_tokens cut (finish `length`): it is left
 * out, and the answer ends with stop_reason max_tokens, as Claude's cut answer does.
 */
function wholeInput(args: string, name: string, finish: FinishReason | null): Record<string, unknown> | undefined {
  try {
    return toolInput(args, name);
  } catch (err) {
    if (finish === 'length') return undefined;
    throw err;
  }
}

/** A model's tool arguments as the object Messages carries; not JSON is a broken answer another route may get right. */
function toolInput(args: string, name: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProviderError('transient', `the model answered arguments for ${name} that are not a JSON object`, { code: 'malformed_tool_use' });
  }
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------
// Stream: Chat chunks -> Messages events

interface PendingTool {
  id: string;
  name: string;
  args: string;
  /** Sent as its block: later fragments for it are not the answer's. */
  sent: boolean;
}

const event = (type: string, data: Record<string, unknown>): MessagesEvent => ({ type, data: { type, ...data } });

/**
 * Turns one OpenAI chunk stream (ending with its usage chunk, as every adapter's does)
 * into Anthropic events. Text streams as it comes; a tool call goes out whole, as one
 * block, once its arguments are complete (the next call, or the finish, says so).
 */
export class ChunksToEvents {
  private started = false;
  private textIndex: number | undefined;
  private next = 0;
  private readonly tools = new Map<number, PendingTool>();
  private finish: FinishReason | null = null;
  private usage: Usage | undefined;
  /** The last block sent is a tool call. */
  private endsWithTool = false;

  /** `promptTokens`: the estimate `message_start` carries until the real usage comes at the end. */
  constructor(private readonly promptTokens: number) {}

  push(chunk: ChatCompletionChunk): MessagesEvent[] {
    const out: MessagesEvent[] = [];
    if (!this.started) {
      this.started = true;
      const message = { id: messageIdOf(chunk.id), type: 'message', role: 'assistant', model: chunk.model, content: [], stop_reason: null, stop_sequence: null };
      out.push(event('message_start', { message: { ...message, usage: { input_tokens: this.promptTokens, output_tokens: 0 } } }));
    }
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) return out;
    const delta = choice.delta;
    if (typeof delta.content === 'string' && delta.content !== '') {
      if (this.textIndex === undefined) {
        this.flushTools(out);
        this.textIndex = this.next++;
        this.endsWithTool = false;
        out.push(event('content_block_start', { index: this.textIndex, content_block: { type: 'text', text: '' } }));
      }
      out.push(event('content_block_delta', { index: this.textIndex, delta: { type: 'text_delta', text: delta.content } }));
    }
    for (const call of delta.tool_calls ?? []) {
      let tool = this.tools.get(call.index);
      if (!tool) {
        // A new call: the calls before it are complete.
        this.closeText(out);
        this.flushTools(out);
        tool = { id: call.id ?? `toolu_${call.index}`, name: call.function?.name ?? '', args: '', sent: false };
        this.tools.set(call.index, tool);
      }
      if (!tool.sent) tool.args += call.function?.arguments ?? '';
    }
    if (choice.finish_reason) {
      this.finish = choice.finish_reason;
      this.closeText(out);
      this.flushTools(out);
    }
    return out;
  }

  /** The upstream ended: the stop reason and usage, then message_stop. */
  end(): MessagesEvent[] {
    if (this.finish === null) throw new ProviderError('transient', 'the upstream stream ended without a finish reason', { code: 'incomplete_stream' });
    const usage = anthropicUsageOf(this.usage);
    return [event('message_delta', { delta: { stop_reason: stopReasonOf(this.finish, this.endsWithTool), stop_sequence: null }, usage }), event('message_stop', {})];
  }

  private closeText(out: MessagesEvent[]): void {
    if (this.textIndex === undefined) return;
    out.push(event('content_block_stop', { index: this.textIndex }));
    this.textIndex = undefined;
  }

  private flushTools(out: MessagesEvent[]): void {
    for (const tool of this.tools.values()) {
      if (tool.sent) continue;
      tool.sent = true;
      const input = wholeInput(tool.args, tool.name, this.finish);
      if (!input) continue;
      const index = this.next++;
      this.endsWithTool = true;
      out.push(event('content_block_start', { index, content_block: { type: 'tool_use', id: tool.id, name: tool.name, input: {} } }));
      out.push(event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(input) } }));
      out.push(event('content_block_stop', { index }));
    }
  }
}
