/**
 * OpenAI Chat Completions <-> Anthropic Messages. Pure functions and one stateful stream
 * translator: no I/O. The Anthropic wire types live here because only this pair uses them
 * (Bedrock's come from its SDK), which is why this file runs past 400 lines.
 */
import { randomUUID } from 'node:crypto';
import { contentText, maxOutputTokens, type CacheControl, type ChatMessage, type ChatRequest, type ChatToolCall, type MessageContent } from '../../core/chat-request';
import type { PromptCacheRoute } from '../../core/prompt-cache';
import { usageOf, type ChatCompletion, type ChatCompletionChunk, type ChunkChoice, type FinishReason, type ToolCall, type Usage } from '../../core/openai-types';
import { classifyAnthropicStreamError } from '../anthropic/classify';
import { ProviderError } from '../errors';
import type { StructuredPlan } from '../structured/plan';
import { claudeThinking } from './reasoning-effort';
import { AUTO_CACHE_MARKER as AUTO, imageOf, isBlank, keepLastCachePoints, lastPartMarker, parseToolArguments, stopSequences, texts } from './openai-common';

/** Anthropic requires `max_tokens`; used when the client set no output cap. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/** A trailing assistant turn is continued by the model: failover can resume a stream by prefill. */
export const ANTHROPIC_SUPPORTS_PREFILL = true;

// ---------------------------------------------------------------------------------------
// Wire types (the subset the gateway sends and reads)

/** A cache breakpoint: the prompt up to and including this block may be cached. */
export interface AnthropicCacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}
/** A block or tool that may carry a cache breakpoint. */
interface Cacheable {
  cache_control?: AnthropicCacheControl;
}
export interface AnthropicTextBlock extends Cacheable {
  type: 'text';
  text: string;
}
export interface AnthropicToolUseBlock extends Cacheable {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}
export interface AnthropicToolResultBlock extends Cacheable {
  type: 'tool_result';
  tool_use_id: string;
  content?: string;
}
/** An image: inline base64, or a URL Anthropic fetches itself. */
export interface AnthropicImageBlock extends Cacheable {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
}
export type AnthropicRequestBlock = AnthropicTextBlock | AnthropicToolUseBlock | AnthropicToolResultBlock | AnthropicImageBlock;

export interface AnthropicMessageParam {
  role: 'user' | 'assistant';
  content: AnthropicRequestBlock[];
}

export interface AnthropicTool extends Cacheable {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

export type AnthropicToolChoice = { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean } | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean } | { type: 'none' };

export interface AnthropicMessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  /** A string, or text blocks when a block carries a cache breakpoint. */
  system?: string | AnthropicTextBlock[];
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id: string };
  stream?: boolean;
  /** Extended thinking (from `reasoning_effort`): `budget_tokens` of `max_tokens` may go to thinking. */
  thinking?: { type: 'enabled'; budget_tokens: number };
  /** Structured output: the answer's text is JSON that follows the schema. */
  output_config?: { format: { type: 'json_schema'; schema: Record<string, unknown> } };
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** A response content block: text and tool_use are read, other kinds (thinking ...) are skipped. */
export interface AnthropicResponseBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicResponseBlock[];
  stop_reason: string | null;
  stop_sequence?: string | null;
  usage: AnthropicUsage;
}

// ---------------------------------------------------------------------------------------
// Request: OpenAI -> Anthropic

/** Anthropic rejects text blocks that are empty or only whitespace. */

/** Schema for tools that appear in the history but not in `tools`. */
const HISTORY_TOOL_SCHEMA = { type: 'object' };

/**
 * `plan`: how `response_format` goes to this model (providers/structured/plan.ts).
 * `cache`: what the route does with cache markers; without it they are dropped.
 * `notes`: gets what became of `reasoning_effort` (reasoning-effort.ts).
 */
export function toAnthropicRequest(
  req: ChatRequest,
  model: string,
  opts: { stream?: boolean; plan?: StructuredPlan; cache?: PromptCacheRoute; notes?: string[] } = {},
): AnthropicMessagesRequest {
  const cache = opts.cache;
  const { system, messages } = translateMessages(req.messages, cache);
  const out: AnthropicMessagesRequest = { model, max_tokens: maxOutputTokens(req) ?? ANTHROPIC_DEFAULT_MAX_TOKENS, messages };
  if (system) out.system = system;
  const plan = opts.plan;
  Object.assign(out, samplingOf(req), plan?.mode === 'tool' ? answerToolOf(req, messages, plan, cache) : toolsOf(req, messages, cache));
  if (plan?.mode === 'native') out.output_config = { format: { type: 'json_schema', schema: plan.schema } };
  if (req.user) out.metadata = { user_id: req.user };
  if (req.reasoning_effort) withThinking(out, req, opts.notes);
  if (opts.stream) out.stream = true;
  if (cache) limitBreakpoints(out, cache.maxPoints);
  return out;
}

/** Extended thinking as the effort asks, where Claude's rules allow it (reasoning-effort.ts). */
function withThinking(out: AnthropicMessagesRequest, req: ChatRequest, notes: string[] | undefined): void {
  const forced = out.tool_choice?.type === 'any' || out.tool_choice?.type === 'tool';
  const thinking = claudeThinking(req, out.model, out.max_tokens, forced);
  if (!thinking) return;
  notes?.push(thinking.note);
  if (!('budget' in thinking)) return;
  out.thinking = { type: 'enabled', budget_tokens: thinking.budget };
  out.max_tokens = thinking.maxTokens;
}

/** A breakpoint on the last of `blocks`, when marked and the route takes markers. */
function markLast(blocks: Cacheable[], c: CacheControl | undefined, cache: PromptCacheRoute | undefined): void {
  const last = blocks[blocks.length - 1];
  if (!c || !cache || !last || last.cache_control) return;
  last.cache_control = c.ttl ? { type: 'ephemeral', ttl: c.ttl } : { type: 'ephemeral' };
}

/** At most `max` breakpoints (tools, then system, then messages: the order of the prefix): the earliest go. */
function limitBreakpoints(req: AnthropicMessagesRequest, max: number): void {
  const lists: Cacheable[][] = [req.tools ?? [], typeof req.system === 'object' ? req.system : [], ...req.messages.map((m) => m.content)];
  keepLastCachePoints(
    lists,
    (b) => b.cache_control !== undefined,
    max,
    (list, i) => delete list[i].cache_control,
  );
}

function translateMessages(chat: readonly ChatMessage[], cache: PromptCacheRoute | undefined): { system?: string | AnthropicTextBlock[]; messages: AnthropicMessageParam[] } {
  const system: AnthropicTextBlock[] = [];
  const turns: AnthropicMessageParam[] = [];
  // Consecutive same-role messages (a tool result and the user text after it) become one turn.
  const append = (role: 'user' | 'assistant', blocks: AnthropicRequestBlock[], c: CacheControl | undefined) => {
    if (blocks.length === 0) return;
    markLast(blocks, c, cache);
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  chat.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(m.content, cache));
        markLast(system, m.cache_control, cache);
        break;
      case 'user':
        append('user', userBlocks(m.content, i, cache), m.cache_control);
        break;
      case 'assistant':
        append('assistant', [...textBlocks(m.content, cache), ...(m.tool_calls ?? []).map((c, j) => toolUseBlock(c, i, j))], m.cache_control);
        break;
      case 'tool':
        append('user', [toolResultBlock(m)], m.cache_control ?? lastPartMarker(m.content));
        break;
    }
  });
  if (cache?.auto) markLast(system, AUTO, cache);
  trimTrailingAssistant(turns);
  if (turns.length === 0) {
    throw new ProviderError('refused', 'Anthropic needs at least one user or assistant message with non-blank content', {
      status: 400,
      param: 'messages',
    });
  }
  if (system.length === 0) return { messages: turns };
  // The plain string unless a block carries a breakpoint (the form every Anthropic client knows).
  return { system: system.some((b) => b.cache_control) ? system : system.map((b) => b.text).join('\n\n'), messages: turns };
}

/** Anthropic: "final assistant content cannot end with trailing whitespace". */
function trimTrailingAssistant(turns: AnthropicMessageParam[]): void {
  const last = turns[turns.length - 1];
  if (last?.role !== 'assistant') return;
  const block = last.content[last.content.length - 1];
  if (block?.type !== 'text') return;
  block.text = block.text.trimEnd();
  if (block.text === '') last.content.pop();
  if (last.content.length === 0) turns.pop();
}

function textBlocks(content: MessageContent | null | undefined, cache?: PromptCacheRoute): AnthropicTextBlock[] {
  if (typeof content !== 'object' || content === null) return texts(content).map((text) => ({ type: 'text', text }));
  const blocks: AnthropicTextBlock[] = [];
  for (const p of content) {
    if (p.type !== 'text') continue;
    if (!isBlank(p.text)) blocks.push({ type: 'text', text: p.text });
    markLast(blocks, p.cache_control, cache);
  }
  return blocks;
}

/** A user turn in order: non-blank text, images inline (base64) or by URL, which Anthropic fetches itself; breakpoints where marked. */
function userBlocks(content: MessageContent, i: number, cache: PromptCacheRoute | undefined): AnthropicRequestBlock[] {
  if (typeof content === 'string') return textBlocks(content);
  const blocks: AnthropicRequestBlock[] = [];
  content.forEach((p, j) => {
    if (p.type === 'text') {
      if (!isBlank(p.text)) blocks.push({ type: 'text', text: p.text });
    } else {
      const image = imageOf(p, i, j);
      const source = image.kind === 'inline' ? { type: 'base64' as const, media_type: image.mediaType, data: image.base64 } : { type: 'url' as const, url: image.url };
      blocks.push({ type: 'image', source });
    }
    markLast(blocks, p.cache_control, cache);
  });
  return blocks;
}

function toolUseBlock(call: ChatToolCall, i: number, j: number): AnthropicToolUseBlock {
  return { type: 'tool_use', id: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments, i, j) };
}

function toolResultBlock(m: Extract<ChatMessage, { role: 'tool' }>): AnthropicToolResultBlock {
  const text = contentText(m.content);
  // An empty result is a result without content, not an (invalid) empty text block.
  return isBlank(text) ? { type: 'tool_result', tool_use_id: m.tool_call_id } : { type: 'tool_result', tool_use_id: m.tool_call_id, content: text };
}

function samplingOf(req: ChatRequest): Partial<AnthropicMessagesRequest> {
  const out: Partial<AnthropicMessagesRequest> = {};
  if (req.temperature !== null && req.temperature !== undefined) {
    // OpenAI takes 0-2, Anthropic 0-1; rescaling would silently change the meaning.
    if (req.temperature > 1) {
      throw new ProviderError('refused', `temperature ${req.temperature} is above 1, the most Anthropic models accept (range 0-1)`, {
        status: 400,
        param: 'temperature',
        code: 'unsupported_value',
      });
    }
    out.temperature = req.temperature;
  }
  if (req.top_p !== null && req.top_p !== undefined) out.top_p = req.top_p;
  const stops = stopSequences(req);
  if (stops.length > 0) out.stop_sequences = stops;
  return out;
}

function toolDefinitions(req: ChatRequest, cache: PromptCacheRoute | undefined): AnthropicTool[] {
  const tools: AnthropicTool[] = [];
  for (const t of req.tools ?? []) {
    tools.push({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      input_schema: t.function.parameters ?? HISTORY_TOOL_SCHEMA,
    });
    markLast(tools, t.cache_control, cache);
  }
  if (cache?.auto) markLast(tools, AUTO, cache);
  return tools;
}

function historyTools(turns: AnthropicMessageParam[]): AnthropicTool[] {
  return [...historyToolNames(turns)].map((name) => ({ name, description: 'A tool used earlier in this conversation.', input_schema: HISTORY_TOOL_SCHEMA }));
}

function toolsOf(req: ChatRequest, turns: AnthropicMessageParam[], cache: PromptCacheRoute | undefined): Partial<AnthropicMessagesRequest> {
  const tools = toolDefinitions(req, cache);
  if (tools.length === 0) {
    // Anthropic: "Requests which include tool_use or tool_result blocks must define tools".
    const used = historyTools(turns);
    if (used.length === 0) return {};
    // The client offered no tools, so the model must not call these.
    return { tools: used, tool_choice: { type: 'none' } };
  }
  const choice = toolChoiceOf(req.tool_choice, req.parallel_tool_calls === false);
  return choice ? { tools, tool_choice: choice } : { tools };
}

/** The client's tools (or the history's), the answer tool, and a choice that makes the model call one. */
function answerToolOf(
  req: ChatRequest,
  turns: AnthropicMessageParam[],
  plan: Extract<StructuredPlan, { mode: 'tool' }>,
  cache: PromptCacheRoute | undefined,
): Partial<AnthropicMessagesRequest> {
  const defined = toolDefinitions(req, cache);
  const tools = defined.length > 0 ? defined : historyTools(turns);
  const { name, description, inputSchema } = plan.tool;
  tools.push({ name, description, input_schema: inputSchema });
  const parallel = req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  return { tools, tool_choice: plan.choice === 'tool' ? { type: 'tool', name, ...parallel } : { type: 'any', ...parallel } };
}

function historyToolNames(turns: AnthropicMessageParam[]): Set<string> {
  const names = new Set<string>();
  let hasResult = false;
  for (const t of turns) {
    for (const b of t.content) {
      if (b.type === 'tool_use') names.add(b.name);
      if (b.type === 'tool_result') hasResult = true;
    }
  }
  // Results whose calls are not in the history still need some tool defined.
  if (hasResult && names.size === 0) names.add('unknown_tool');
  return names;
}

function toolChoiceOf(choice: ChatRequest['tool_choice'], noParallel: boolean): AnthropicToolChoice | undefined {
  const parallel = noParallel ? { disable_parallel_tool_use: true } : {};
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any', ...parallel };
  if (typeof choice === 'object') return { type: 'tool', name: choice.function.name, ...parallel };
  return noParallel || choice === 'auto' ? { type: 'auto', ...parallel } : undefined;
}

// ---------------------------------------------------------------------------------------
// Response: Anthropic -> OpenAI

export function finishReasonOf(stop: string | null | undefined): FinishReason {
  switch (stop) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn (the model paused a long turn; what it said is whole).
      return 'stop';
  }
}

export function usageFromAnthropic(u: AnthropicUsage | undefined): Usage {
  const read = u?.cache_read_input_tokens ?? 0;
  const write = u?.cache_creation_input_tokens ?? 0;
  return usageOf((u?.input_tokens ?? 0) + read + write, u?.output_tokens ?? 0, read, write);
}

/** The OpenAI id of an Anthropic message (`chatcmpl-` + its id, or a fresh one). */
export function completionIdOf(anthropicId: string | undefined): string {
  return `chatcmpl-${anthropicId || randomUUID()}`;
}

/** Checks that a parsed 200 body is an Anthropic message; anything else is upstream garbage. */
export function parseAnthropicMessage(value: unknown): AnthropicMessage {
  const v = value as Partial<AnthropicMessage> | null;
  if (typeof v !== 'object' || v === null || v.type !== 'message' || !Array.isArray(v.content)) {
    throw new ProviderError('transient', 'Anthropic answered 200 with JSON that is not a message', { code: 'unparseable' });
  }
  return { ...v, usage: v.usage ?? {}, stop_reason: v.stop_reason ?? null } as AnthropicMessage;
}

export function fromAnthropicMessage(msg: AnthropicMessage, fallbackModel: string, created = nowSeconds()): ChatCompletion {
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const b of msg.content) {
    if (b.type === 'text' && typeof b.text === 'string') text += b.text;
    else if (b.type === 'tool_use') {
      toolCalls.push({
        id: b.id ?? `call_${toolCalls.length}`,
        type: 'function',
        function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) },
      });
    }
  }
  const message: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    // OpenAI answers a tool-call-only message with content null.
    content: text === '' && toolCalls.length > 0 ? null : text,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: completionIdOf(msg.id),
    object: 'chat.completion',
    created,
    model: msg.model || fallbackModel,
    choices: [{ index: 0, message, finish_reason: finishReasonOf(msg.stop_reason), logprobs: null }],
    usage: usageFromAnthropic(msg.usage),
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------
// Stream: Anthropic SSE events -> OpenAI chunks

/** One SSE event as read from the wire (`event:` name and the raw `data:` text). */
export interface AnthropicSseEvent {
  event?: string;
  data: string;
}

interface ToolBlock {
  index: number;
  startInput: unknown;
  sentArguments: boolean;
}

type StreamEvent = Record<string, unknown> & { type?: unknown };

/**
 * Turns one Anthropic message stream into OpenAI chunks. Tool calls get a running index
 * of their own: Anthropic's block index also counts text blocks, OpenAI's does not.
 */
export class AnthropicStreamTranslator {
  /** Data lines that were not JSON: dropped, never passed on. */
  malformedEvents = 0;
  private id: string | undefined;
  private model: string;
  private started = false;
  private finished = false;
  private stopReason: string | null | undefined;
  private usage: AnthropicUsage = {};
  private readonly toolByBlock = new Map<number, ToolBlock>();

  constructor(
    fallbackModel: string,
    private readonly created = nowSeconds(),
  ) {
    this.model = fallbackModel;
  }

  /** The answer is whole: message_stop was seen, or at least a stop reason. */
  get complete(): boolean {
    return this.finished || this.stopReason !== undefined;
  }

  /** The chunks one event yields (often none). Throws ProviderError for an `error` event. */
  push(ev: AnthropicSseEvent): ChatCompletionChunk[] {
    if (this.finished) return [];
    let data: StreamEvent;
    try {
      data = JSON.parse(ev.data) as StreamEvent;
    } catch {
      this.malformedEvents++;
      return [];
    }
    if (typeof data !== 'object' || data === null) {
      this.malformedEvents++;
      return [];
    }
    const type = typeof data.type === 'string' ? data.type : ev.event;
    switch (type) {
      case 'message_start':
        return this.onMessageStart(data.message as Partial<AnthropicMessage> | undefined);
      case 'content_block_start':
        return this.onBlockStart(Number(data.index), data.content_block as AnthropicResponseBlock | undefined);
      case 'content_block_delta':
        return this.onBlockDelta(Number(data.index), data.delta as { type?: string; text?: string; partial_json?: string } | undefined);
      case 'content_block_stop':
        return this.onBlockStop(Number(data.index));
      case 'message_delta': {
        const delta = data.delta as { stop_reason?: string | null } | undefined;
        if (delta?.stop_reason !== undefined && delta.stop_reason !== null) this.stopReason = delta.stop_reason;
        this.mergeUsage(data.usage as AnthropicUsage | undefined);
        return [];
      }
      case 'message_stop':
        return this.finish();
      case 'error':
        throw classifyAnthropicStreamError(data.error);
      default:
        return []; // ping, and event kinds added after this was written
    }
  }

  /**
   * Call when the upstream body has ended. An answer with a stop reason but no
   * message_stop is finished; one without is incomplete (an error, never a truncated
   * answer that looks whole).
   */
  end(): ChatCompletionChunk[] {
    if (this.finished) return [];
    if (this.stopReason === undefined) {
      throw new ProviderError('transient', 'Anthropic stream ended before message_stop: the answer is incomplete', {
        code: 'incomplete_stream',
      });
    }
    return this.finish();
  }

  private onMessageStart(message: Partial<AnthropicMessage> | undefined): ChatCompletionChunk[] {
    if (message?.id && !this.started) this.id = message.id;
    if (message?.model) this.model = message.model;
    this.mergeUsage(message?.usage);
    return this.opening();
  }

  private onBlockStart(index: number, block: AnthropicResponseBlock | undefined): ChatCompletionChunk[] {
    if (block?.type === 'text') return block.text ? this.content({ content: block.text }) : this.opening();
    if (block?.type !== 'tool_use') return []; // thinking, server tools: not part of the OpenAI answer
    const tool: ToolBlock = { index: this.toolByBlock.size, startInput: block.input, sentArguments: false };
    this.toolByBlock.set(index, tool);
    return this.content({
      tool_calls: [{ index: tool.index, id: block.id ?? `call_${tool.index}`, type: 'function', function: { name: block.name ?? '', arguments: '' } }],
    });
  }

  private onBlockDelta(index: number, delta: { type?: string; text?: string; partial_json?: string } | undefined): ChatCompletionChunk[] {
    if (delta?.type === 'text_delta') return delta.text ? this.content({ content: delta.text }) : [];
    if (delta?.type !== 'input_json_delta' || !delta.partial_json) return [];
    const tool = this.toolByBlock.get(index);
    if (!tool) throw new ProviderError('transient', 'Anthropic stream sent tool input for a block that never started', { code: 'unparseable' });
    tool.sentArguments = true;
    return this.content({ tool_calls: [{ index: tool.index, function: { arguments: delta.partial_json } }] });
  }

  private onBlockStop(index: number): ChatCompletionChunk[] {
    const tool = this.toolByBlock.get(index);
    // A call without input deltas still needs JSON arguments for the client to parse.
    if (!tool || tool.sentArguments) return [];
    tool.sentArguments = true;
    const start = tool.startInput;
    const args = typeof start === 'object' && start !== null ? JSON.stringify(start) : '{}';
    return this.content({ tool_calls: [{ index: tool.index, function: { arguments: args } }] });
  }

  /** Usage counts are cumulative: the latest value of each field wins. */
  private mergeUsage(u: AnthropicUsage | undefined): void {
    if (typeof u !== 'object' || u === null) return;
    for (const [k, v] of Object.entries(u)) if (typeof v === 'number') (this.usage as Record<string, number>)[k] = v;
  }

  private finish(): ChatCompletionChunk[] {
    this.finished = true;
    return [
      ...this.opening(),
      this.chunk([{ index: 0, delta: {}, finish_reason: finishReasonOf(this.stopReason), logprobs: null }]),
      { ...this.chunk([]), usage: usageFromAnthropic(this.usage) },
    ];
  }

  private opening(): ChatCompletionChunk[] {
    if (this.started) return [];
    this.started = true;
    this.id = completionIdOf(this.id);
    return [this.chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }])];
  }

  private content(delta: ChunkChoice['delta']): ChatCompletionChunk[] {
    return [...this.opening(), this.chunk([{ index: 0, delta, finish_reason: null, logprobs: null }])];
  }

  private chunk(choices: ChunkChoice[]): ChatCompletionChunk {
    return { id: this.id!, object: 'chat.completion.chunk', created: this.created, model: this.model, choices };
  }
}
