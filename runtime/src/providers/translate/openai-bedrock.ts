/**
 * OpenAI Chat Completions <-> Bedrock Converse / ConverseStream. Pure functions and one
 * stateful stream translator: no I/O and no SDK client, only the SDK's wire types.
 */
import type {
  ContentBlock,
  ImageFormat,
  ConverseRequest,
  ConverseResponse,
  ConverseStreamOutput,
  InferenceConfiguration,
  SystemContentBlock,
  TokenUsage,
  Tool,
  ToolChoice,
  ToolConfiguration,
  ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import { contentText, maxOutputTokens, type ChatMessage, type ChatRequest, type ChatToolCall, type MessageContent } from '../../core/chat-request';
import type { PromptCacheRoute } from '../../core/prompt-cache';
import { usageOf, type ChatCompletion, type ChatCompletionChunk, type ChunkChoice, type FinishReason, type ToolCall, type Usage } from '../../core/openai-types';
import { ProviderError } from '../errors';
import type { StructuredPlan } from '../structured/plan';
import { claudeThinking, effortIgnoredNotes } from './reasoning-effort';
import { cachePointAfter, limitCachePoints, marked } from './converse-cache';
import { ANTHROPIC_DEFAULT_MAX_TOKENS } from './openai-anthropic';
import { AUTO_CACHE_MARKER as AUTO, lastPartMarker, inlineImageOf, isBlank, parseToolArguments, stopSequences, texts } from './openai-common';

/** Converse rejects blank text blocks ("The text field ... is blank"). */

/** Converse also rejects a tool result without content; an empty output still needs a block. */
const EMPTY_TOOL_RESULT = '(empty result)';

/** Schema for tools that appear in the history but not in `tools`: Converse needs a spec for them. */
const HISTORY_TOOL_SCHEMA = { type: 'object', properties: {} };

/** Any JSON value, as the SDK types document fields (tool input, schemas). */
type DocumentType = NonNullable<ToolUseBlock['input']>;

type ConverseRole = 'user' | 'assistant';
interface Turn {
  role: ConverseRole;
  content: ContentBlock[];
}

// ---------------------------------------------------------------------------------------
// Request: OpenAI -> Converse

/**
 * `plan`: how `response_format` goes to this model (providers/structured/plan.ts).
 * `cache`: what the route does with cache markers; without it they are dropped.
 * `notes`: gets what became of `reasoning_effort`.
 */
export function toConverseRequest(req: ChatRequest, modelId: string, plan?: StructuredPlan, cache?: PromptCacheRoute, notes?: string[]): ConverseRequest {
  const system: SystemContentBlock[] = [];
  const turns: Turn[] = [];
  // Converse roles must alternate: consecutive same-role messages become one turn.
  const append = (role: ConverseRole, blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  req.messages.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        if (typeof m.content === 'string') {
          if (!isBlank(m.content)) system.push({ text: m.content });
        } else {
          for (const p of m.content) {
            if (!isBlank(p.text)) system.push({ text: p.text });
            cachePointAfter(system, p.cache_control, cache);
          }
        }
        cachePointAfter(system, m.cache_control, cache);
        break;
      case 'user':
        append('user', marked(userBlocks(m.content, i, cache), m.cache_control, cache));
        break;
      case 'assistant':
        append('assistant', marked([...textBlocks(m.content, cache), ...(m.tool_calls ?? []).map((c, j) => toolUseBlock(c, i, j))], m.cache_control, cache));
        break;
      case 'tool':
        append('user', marked([toolResultBlock(m)], m.cache_control ?? lastPartMarker(m.content), cache));
        break;
    }
  });
  if (cache?.auto) cachePointAfter(system, AUTO, cache);

  const out: ConverseRequest = { modelId, messages: turns };
  if (system.length > 0) out.system = system;
  const inference = inferenceConfigOf(req);
  if (inference) out.inferenceConfig = inference;
  const toolConfig = plan?.mode === 'tool' ? answerToolConfig(req, turns, plan, cache) : toolConfigOf(req, turns, cache);
  if (toolConfig) out.toolConfig = toolConfig;
  if (plan?.mode === 'native') {
    const jsonSchema = { schema: JSON.stringify(plan.schema), name: plan.name, ...(plan.description ? { description: plan.description } : {}) };
    out.outputConfig = { textFormat: { type: 'json_schema', structure: { jsonSchema } } };
  }
  if (cache) limitCachePoints(out, cache.maxPoints);
  if (req.reasoning_effort) withReasoning(out, req, notes);
  return out;
}

/** Claude on Bedrock: a model id, cross-Region profile or model ARN naming an `anthropic.` model. */
export function isBedrockClaude(modelId: string): boolean {
  return /(^|[./])anthropic\./.test(modelId);
}

/** Claude gets extended thinking as Converse passes it (additionalModelRequestFields); other models are not sent the effort. */
function withReasoning(out: ConverseRequest, req: ChatRequest, notes: string[] | undefined): void {
  const model = out.modelId!;
  if (!isBedrockClaude(model)) {
    notes?.push(...(effortIgnoredNotes(req, `Converse takes it for Claude models only, not ${model}`) ?? []));
    return;
  }
  const choice = out.toolConfig?.toolChoice;
  const forced = choice?.any !== undefined || choice?.tool !== undefined;
  const thinking = claudeThinking(req, model, out.inferenceConfig?.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS, forced);
  if (!thinking) return;
  notes?.push(thinking.note);
  if (!('budget' in thinking)) return;
  out.additionalModelRequestFields = { thinking: { type: 'enabled', budget_tokens: thinking.budget } };
  out.inferenceConfig = { ...out.inferenceConfig, maxTokens: thinking.maxTokens };
}

function textBlocks(content: MessageContent | null | undefined, cache?: PromptCacheRoute): ContentBlock[] {
  if (typeof content !== 'object' || content === null) return texts(content).map((text) => ({ text }));
  const blocks: ContentBlock[] = [];
  for (const p of content) {
    if (p.type !== 'text') continue;
    if (!isBlank(p.text)) blocks.push({ text: p.text });
    cachePointAfter(blocks, p.cache_control, cache);
  }
  return blocks;
}

/** A user turn in order: non-blank text, and images as bytes (Converse takes no URL); cache points after marked parts. */
function userBlocks(content: MessageContent, i: number, cache: PromptCacheRoute | undefined): ContentBlock[] {
  if (typeof content === 'string') return textBlocks(content);
  const blocks: ContentBlock[] = [];
  content.forEach((p, j) => {
    if (p.type === 'text') {
      if (!isBlank(p.text)) blocks.push({ text: p.text });
    } else {
      const image = inlineImageOf(p, i, j, 'Bedrock');
      blocks.push({ image: { format: image.mediaType.slice('image/'.length) as ImageFormat, source: { bytes: Buffer.from(image.base64, 'base64') } } });
    }
    cachePointAfter(blocks, p.cache_control, cache);
  });
  return blocks;
}

function toolUseBlock(call: ChatToolCall, i: number, j: number): ContentBlock {
  return { toolUse: { toolUseId: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments, i, j) as DocumentType } };
}

function toolResultBlock(m: Extract<ChatMessage, { role: 'tool' }>): ContentBlock {
  const text = contentText(m.content);
  return { toolResult: { toolUseId: m.tool_call_id, content: [{ text: isBlank(text) ? EMPTY_TOOL_RESULT : text }] } };
}

function inferenceConfigOf(req: ChatRequest): InferenceConfiguration | undefined {
  const cfg: InferenceConfiguration = {};
  const max = maxOutputTokens(req);
  if (max !== undefined) cfg.maxTokens = max;
  if (req.temperature !== null && req.temperature !== undefined) cfg.temperature = req.temperature;
  if (req.top_p !== null && req.top_p !== undefined) cfg.topP = req.top_p;
  const stops = stopSequences(req);
  if (stops.length > 0) cfg.stopSequences = stops;
  return Object.keys(cfg).length > 0 ? cfg : undefined;
}

function hasToolBlocks(turns: Turn[]): boolean {
  return turns.some((t) => t.content.some((b) => b.toolUse !== undefined || b.toolResult !== undefined));
}

function toolConfigOf(req: ChatRequest, turns: Turn[], cache: PromptCacheRoute | undefined): ToolConfiguration | undefined {
  const inHistory = hasToolBlocks(turns);
  if (req.tool_choice === 'none') {
    // Converse has no "none": dropping the tools is the same meaning only without tool history.
    if (!inHistory) return undefined;
    throw new ProviderError(
      'refused',
      'tool_choice "none" cannot be sent to Bedrock when the conversation holds tool calls or results: ' +
        'Converse then requires tool definitions and has no way to forbid calling them. Use "auto" or drop the tool history.',
      { status: 400, param: 'tool_choice', code: 'unsupported_tool_choice' },
    );
  }
  // Converse requires toolConfig whenever the history holds tool blocks.
  const tools = clientTools(req, turns, cache);
  if (tools.length === 0) return undefined;
  const toolChoice = toolChoiceOf(req.tool_choice);
  return toolChoice ? { tools, toolChoice } : { tools };
}

/** The client's tools, else specs for the tools the history used (Converse needs them), else none; cache points after marked tools. */
function clientTools(req: ChatRequest, turns: Turn[], cache: PromptCacheRoute | undefined): Tool[] {
  const toolCache = cache?.tools ? cache : undefined;
  const tools: Tool[] = [];
  for (const t of req.tools ?? []) {
    tools.push({
      toolSpec: {
        name: t.function.name,
        // Converse rejects an empty description.
        ...(t.function.description ? { description: t.function.description } : {}),
        inputSchema: { json: (t.function.parameters ?? HISTORY_TOOL_SCHEMA) as DocumentType },
      },
    });
    cachePointAfter(tools, t.cache_control, toolCache);
  }
  if (tools.length > 0) {
    if (toolCache?.auto) cachePointAfter(tools, AUTO, toolCache);
    return tools;
  }
  return [...historyToolNames(turns)].map((name) => ({ toolSpec: { name, description: 'A tool used earlier in this conversation.', inputSchema: { json: HISTORY_TOOL_SCHEMA } } }));
}

/** The client's tools (or the history's), the answer tool, and a choice that makes the model call one. */
function answerToolConfig(req: ChatRequest, turns: Turn[], plan: Extract<StructuredPlan, { mode: 'tool' }>, cache: PromptCacheRoute | undefined): ToolConfiguration {
  const tools = clientTools(req, turns, cache);
  const { name, description, inputSchema } = plan.tool;
  tools.push({ toolSpec: { name, description, inputSchema: { json: inputSchema as DocumentType } } });
  return { tools, toolChoice: plan.choice === 'tool' ? { tool: { name } } : { any: {} } };
}

function historyToolNames(turns: Turn[]): Set<string> {
  const names = new Set<string>();
  for (const t of turns) for (const b of t.content) if (b.toolUse?.name) names.add(b.toolUse.name);
  return names;
}

function toolChoiceOf(choice: ChatRequest['tool_choice']): ToolChoice | undefined {
  if (choice === undefined || choice === 'none') return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.function.name } };
}

// ---------------------------------------------------------------------------------------
// Response: Converse -> OpenAI

/** The fields of an answer the adapter decides (not the provider). */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** Bedrock's stop reason (a StopReason, or one this was not written for) as OpenAI's finish reason. */
export function finishReasonOf(stop: string | undefined): FinishReason {
  switch (stop) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'content_filtered':
    case 'guardrail_intervened':
      return 'content_filter';
    case 'model_context_window_exceeded':
      throw new ProviderError('context_length', 'Bedrock: the conversation exceeds the model context window', {
        status: 400,
        code: 'model_context_window_exceeded',
      });
    case 'malformed_model_output':
    case 'malformed_tool_use':
      // A model glitch, not a verdict on the request: another attempt may succeed.
      throw new ProviderError('transient', `Bedrock stopped with ${stop}: the model produced unusable output`, { code: stop });
    default:
      return 'stop';
  }
}

export function usageFromBedrock(u: TokenUsage | undefined): Usage {
  const read = u?.cacheReadInputTokens ?? 0;
  const write = u?.cacheWriteInputTokens ?? 0;
  return usageOf((u?.inputTokens ?? 0) + read + write, u?.outputTokens ?? 0, read, write);
}

export function fromConverseResponse(res: ConverseResponse, meta: CompletionMeta): ChatCompletion {
  const blocks = res.output?.message?.content;
  if (!blocks) throw new ProviderError('transient', 'Bedrock Converse answer has no output message', { code: 'unparseable' });
  const finish = finishReasonOf(res.stopReason);
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const b of blocks) {
    if (b.text !== undefined) text += b.text;
    else if (b.toolUse) {
      toolCalls.push({
        id: b.toolUse.toolUseId ?? `call_${toolCalls.length}`,
        type: 'function',
        function: { name: b.toolUse.name ?? '', arguments: JSON.stringify(b.toolUse.input ?? {}) },
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
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
    usage: usageFromBedrock(res.usage),
  };
}

// ---------------------------------------------------------------------------------------
// Stream: ConverseStream events -> OpenAI chunks

/** An exception member of the event stream, when the SDK yields one instead of throwing it. */
export function streamExceptionOf(ev: ConverseStreamOutput): { name: string; message: string } | undefined {
  const members = [
    ['ThrottlingException', ev.throttlingException],
    ['InternalServerException', ev.internalServerException],
    ['ModelStreamErrorException', ev.modelStreamErrorException],
    ['ServiceUnavailableException', ev.serviceUnavailableException],
    ['ValidationException', ev.validationException],
  ] as const;
  for (const [name, value] of members) if (value) return { name, message: value.message ?? name };
  return undefined;
}

/**
 * Turns one ConverseStream into OpenAI chunks. Tool calls get a running index of their
 * own: Bedrock's contentBlockIndex also counts text blocks, OpenAI's index does not.
 */
export class ConverseStreamTranslator {
  private started = false;
  private stopped = false;
  private usageSent = false;
  private pendingUsage: Usage | undefined;
  private readonly toolIndexByBlock = new Map<number, number>();

  constructor(private readonly meta: CompletionMeta) {}

  /** The chunks one event yields (often none). Throws ProviderError for a bad stop reason. */
  push(ev: ConverseStreamOutput): ChatCompletionChunk[] {
    if (this.usageSent) return [];
    if (ev.messageStart) return this.opening();
    if (ev.contentBlockStart) {
      const use = ev.contentBlockStart.start?.toolUse;
      if (!use || this.stopped) return [];
      const index = this.toolIndexByBlock.size;
      this.toolIndexByBlock.set(ev.contentBlockStart.contentBlockIndex ?? index, index);
      return this.content({
        tool_calls: [{ index, id: use.toolUseId, type: 'function', function: { name: use.name ?? '', arguments: '' } }],
      });
    }
    if (ev.contentBlockDelta) {
      const delta = ev.contentBlockDelta.delta;
      if (this.stopped || !delta) return [];
      if (delta.text !== undefined) return delta.text === '' ? [] : this.content({ content: delta.text });
      if (delta.toolUse) {
        const index = this.toolIndexByBlock.get(ev.contentBlockDelta.contentBlockIndex ?? -1);
        if (index === undefined) {
          throw new ProviderError('transient', 'Bedrock stream sent tool input for a block that never started', { code: 'unparseable' });
        }
        const args = delta.toolUse.input ?? '';
        return args === '' ? [] : this.content({ tool_calls: [{ index, function: { arguments: args } }] });
      }
      return []; // reasoning, citations: not part of the OpenAI answer
    }
    if (ev.messageStop) {
      if (this.stopped) return [];
      const finish = finishReasonOf(ev.messageStop.stopReason);
      this.stopped = true;
      const last = this.chunk([{ index: 0, delta: {}, finish_reason: finish, logprobs: null }]);
      return [...this.opening(), last, ...(this.pendingUsage ? this.usage(this.pendingUsage) : [])];
    }
    if (ev.metadata) {
      // Bedrock sends metadata after messageStop; should it come early, the usage chunk still goes last.
      this.pendingUsage = usageFromBedrock(ev.metadata.usage);
      return this.stopped ? this.usage(this.pendingUsage) : [];
    }
    return [];
  }

  /**
   * Call when the upstream stream has ended. An answer without messageStop is incomplete
   * (an error, never a truncated answer that looks whole); one without metadata still gets
   * its usage chunk.
   */
  end(): ChatCompletionChunk[] {
    if (!this.stopped) {
      throw new ProviderError('transient', 'Bedrock stream ended before messageStop: the answer is incomplete', { code: 'incomplete_stream' });
    }
    return this.usage(this.pendingUsage ?? usageOf(0, 0));
  }

  private usage(usage: Usage): ChatCompletionChunk[] {
    if (this.usageSent) return [];
    this.usageSent = true;
    return [{ ...this.chunk([]), usage }];
  }

  private opening(): ChatCompletionChunk[] {
    if (this.started) return [];
    this.started = true;
    return [this.chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }])];
  }

  private content(delta: ChunkChoice['delta']): ChatCompletionChunk[] {
    return [...this.opening(), this.chunk([{ index: 0, delta, finish_reason: null, logprobs: null }])];
  }

  private chunk(choices: ChunkChoice[]): ChatCompletionChunk {
    return { id: this.meta.id, object: 'chat.completion.chunk', created: this.meta.created, model: this.meta.model, choices };
  }
}
