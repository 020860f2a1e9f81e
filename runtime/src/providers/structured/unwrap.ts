/**
 * The answer tool's call, given back as what the client asked for: the answer's
 * `content` is the tool's input as JSON text and `finish_reason` is "stop"; the call
 * itself never reaches the client. Calls of the client's own tools stay tool calls.
 * Works on OpenAI answers and chunks, whichever provider they were translated from.
 */
import type { ChatCompletion, ChatCompletionChunk, ToolCallDelta } from '../../core/openai-types';
import type { StructuredPlan, ToolPlan } from './plan';

/** The answer tool's input as the answer's JSON text (its `value` when the schema was wrapped). */
function answerText(args: string, wrapped: boolean): string {
  if (!wrapped) return args;
  try {
    return JSON.stringify((JSON.parse(args) as { value?: unknown }).value ?? null);
  } catch {
    return args; // not JSON: strict validation (or the client) will say so
  }
}

export function unwrapCompletion(completion: ChatCompletion, plan: StructuredPlan | undefined): ChatCompletion {
  if (plan?.mode !== 'tool') return completion;
  const choice = completion.choices[0];
  const calls = choice?.message.tool_calls;
  const answer = calls?.find((c) => c.function.name === plan.tool.name);
  if (!choice || !calls || !answer) return completion;
  const others = calls.filter((c) => c !== answer);
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: answerText(answer.function.arguments, plan.tool.wrapped) };
  if (others.length > 0) message.tool_calls = others;
  const finish = others.length > 0 ? 'tool_calls' : choice.finish_reason === 'tool_calls' ? 'stop' : choice.finish_reason;
  return { ...completion, choices: [{ ...choice, message, finish_reason: finish }] };
}

/**
 * A stream with the answer tool's input deltas as content deltas. Text before the
 * answer tool (forced tool choice leaves none, as a rule) is held: dropped once the tool
 * is called, passed on if the answer ends without it.
 */
export async function* unwrapChunks(chunks: AsyncIterable<ChatCompletionChunk>, plan: StructuredPlan | undefined): AsyncGenerator<ChatCompletionChunk> {
  if (plan?.mode !== 'tool') {
    yield* chunks;
    return;
  }
  const state = new UnwrapState(plan);
  for await (const chunk of chunks) yield* state.push(chunk);
}

class UnwrapState {
  private answerIndex: number | undefined;
  private clientCalls = false;
  private held: ChatCompletionChunk[] = [];
  /** Wrapped schemas: the `{ "value": ... }` input, given back whole at the end. */
  private wrappedArgs = '';

  constructor(private readonly plan: ToolPlan) {}

  push(chunk: ChatCompletionChunk): ChatCompletionChunk[] {
    const choice = chunk.choices[0];
    if (!choice) return [chunk];
    const delta = choice.delta;
    const out: ChatCompletionChunk[] = [];
    if (typeof delta.content === 'string' && delta.content !== '' && !delta.role) {
      if (this.answerIndex === undefined) this.held.push({ ...chunk, choices: [{ ...choice, delta: { content: delta.content }, finish_reason: null }] });
      delete delta.content; // text beside the answer is not the answer
    }
    let content = '';
    if (delta.tool_calls) {
      const kept: ToolCallDelta[] = [];
      for (const call of delta.tool_calls) {
        if (this.answerIndex === undefined && call.function?.name === this.plan.tool.name) {
          this.answerIndex = call.index;
          this.held = [];
        }
        if (call.index === this.answerIndex) content += call.function?.arguments ?? '';
        else {
          this.clientCalls = true;
          kept.push(this.answerIndex !== undefined && call.index > this.answerIndex ? { ...call, index: call.index - 1 } : call);
        }
      }
      if (kept.length > 0) delta.tool_calls = kept;
      else delete delta.tool_calls;
    }
    if (this.plan.tool.wrapped) {
      this.wrappedArgs += content;
      content = '';
    }
    if (choice.finish_reason) {
      if (this.answerIndex === undefined) out.push(...this.held);
      else {
        if (this.plan.tool.wrapped) content += answerText(this.wrappedArgs, true);
        if (choice.finish_reason === 'tool_calls' && !this.clientCalls) choice.finish_reason = 'stop';
      }
      this.held = [];
    }
    if (content !== '') delta.content = content;
    if (choice.finish_reason || delta.role || delta.content !== undefined || delta.tool_calls) out.push(chunk);
    return out;
  }
}
