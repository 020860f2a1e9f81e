/**
 * OpenAI's `reasoning_effort` on targets that are not OpenAI-style (those take it as it
 * is). Claude gets extended thinking (`thinking: {type: "enabled", budget_tokens}`) with a
 * budget per effort, where Claude's rules for thinking allow it; where they do not, the
 * request goes without thinking and a note says why (a chat client cannot act on a 400
 * about thinking it never asked for by name). Targets that do not reason get a note only.
 */
import type { ChatRequest, ReasoningEffort } from '../../core/chat-request';

/**
 * Thinking tokens per effort; "none" and "minimal" think not at all. Anthropic's minimum
 * budget is 1024; with the default answer cap (4096) even "xhigh" fits a 32k-output Claude.
 */
export const THINKING_BUDGETS: Readonly<Record<ReasoningEffort, number>> = { none: 0, minimal: 0, low: 1024, medium: 4096, high: 16384, xhigh: 24576 };

/** The most output tokens an effort may add to an answer on a target that thinks (0: none). */
export function thinkingBudgetOf(effort: ReasoningEffort | null | undefined): number {
  return effort ? THINKING_BUDGETS[effort] : 0;
}

/** What a Claude request gets: thinking with its budget and the `max_tokens` that leaves the answer its own cap, or a note why not. */
export type ClaudeThinking = { budget: number; maxTokens: number; note: string } | { note: string };

/**
 * Claude models that take a thinking budget: 3.7 Sonnet and Claude 4 to 4.6, with or without
 * a date (Bedrock ids and profiles included). Earlier ones cannot think, and from 4.7 on
 * Claude refuses a budget (adaptive thinking only): a request there would fail, not think.
 */
const BUDGET_THINKING_MODEL = /claude-(?:3-7-sonnet|(?:opus|sonnet|haiku)-4(?:-[0-6])?)(?:-\d{8})?(?![-.]?\d)/;

/**
 * Thinking for a request that sets `reasoning_effort` on a Claude `model`; undefined when
 * its effort asks for none. `answerTokens`: the answer's own cap (the client's, else the
 * translator's default), added to the budget since Claude counts thinking in `max_tokens`.
 * `forcedTool`: the request as sent forces a tool call (tool_choice "any" or a named tool).
 */
export function claudeThinking(req: ChatRequest, model: string, answerTokens: number, forcedTool: boolean): ClaudeThinking | undefined {
  const effort = req.reasoning_effort;
  const budget = thinkingBudgetOf(effort);
  if (budget === 0) return undefined;
  const skip = whyNoThinking(req, model, forcedTool);
  if (skip) return { note: `reasoning_effort "${effort}" sent without thinking: ${skip}` };
  return { budget, maxTokens: budget + answerTokens, note: `reasoning_effort "${effort}": thinking budget ${budget} tokens` };
}

/** Claude's rules for thinking (Anthropic's extended-thinking docs), the first the request breaks. */
function whyNoThinking(req: ChatRequest, model: string, forcedTool: boolean): string | undefined {
  if (!BUDGET_THINKING_MODEL.test(model)) return `${model} is not known to take a thinking budget (Claude 3.7 Sonnet and 4 to 4.6 do)`;
  // The client's sampling is kept: it shapes every answer, thinking only some.
  if (req.temperature != null && req.temperature !== 1) return `temperature ${req.temperature} (Claude thinks at temperature 1 only)`;
  if (req.top_p != null && req.top_p < 0.95) return `top_p ${req.top_p} (Claude thinks with top_p 0.95 or more only)`;
  if (forcedTool) return 'the request forces a tool call (Claude thinks with tool_choice auto or none only)';
  const messages = req.messages;
  const last = messages[messages.length - 1];
  if (last.role === 'assistant') return 'the request ends with an assistant message (Claude takes no prefill with thinking)';
  if (inToolTurn(messages)) return "the request continues a tool call, and Claude needs that turn's thinking block back, which chat messages cannot carry";
  return undefined;
}

/** The last assistant message made tool calls: Claude's turn is still on, and it must start with its thinking. */
function inToolTurn(messages: ChatRequest['messages']): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m.role === 'assistant') return (m.tool_calls?.length ?? 0) > 0;
  }
  return false;
}

/** The note of a target that cannot reason: the effort is accepted and not sent. */
export function effortIgnoredNotes(req: ChatRequest, why = 'the target does not reason'): string[] | undefined {
  return req.reasoning_effort ? [`reasoning_effort "${req.reasoning_effort}" not sent: ${why}`] : undefined;
}
