/**
 * The guardrail stage over a Messages request: the guardrails read (and mask) its text,
 * the system prompt, text blocks and tool results' text, as they read a chat request's.
 * Thinking blocks are not text a guardrail may touch: their signature covers them.
 */
import type { ChatRequest } from '../core/chat-request';
import { isBlock, type ContentBlockParam, type CountTokensRequest, type MessageParam } from '../core/messages-request';
import type { GuardrailStage } from './stage';
import type { GuardrailContext } from './types';

/** The request to route (masked where a guardrail masked); throws the client's error when blocked. */
export async function applyToMessages<R extends CountTokensRequest>(stage: GuardrailStage, req: R, ctx: GuardrailContext): Promise<R> {
  const texts: string[] = [];
  forEachText(req, (text) => texts.push(text));
  if (texts.length === 0) return req;
  // The stage speaks chat requests: each text piece as a part of one message, in order.
  const view: ChatRequest = { model: req.model, messages: [{ role: 'user', content: texts.map((text) => ({ type: 'text' as const, text })) }] };
  const checked = await stage.apply(view, ctx);
  if (checked === view) return req;
  const content = checked.messages[0].content;
  const masked = Array.isArray(content) ? content.map((p) => (p.type === 'text' ? p.text : '')) : texts;
  let i = 0;
  return mapTexts(req, (text) => masked[i++] ?? text);
}

/** Each text piece, in the order `mapTexts` takes them, without copying anything. */
function forEachText(req: CountTokensRequest, f: (text: string) => void): void {
  if (typeof req.system === 'string') f(req.system);
  else if (req.system) for (const b of req.system) f(b.text);
  for (const m of req.messages) {
    if (typeof m.content === 'string') f(m.content);
    else forEachBlockText(m.content, f);
  }
}

function forEachBlockText(blocks: ContentBlockParam[], f: (text: string) => void): void {
  for (const b of blocks) {
    if (isBlock(b, 'text')) f(b.text);
    else if (isBlock(b, 'tool_result') && b.content !== undefined) {
      if (typeof b.content === 'string') f(b.content);
      else forEachBlockText(b.content, f);
    }
  }
}

/** The request with each text piece through `f`, in a fixed order (system, then messages); unchanged parts shared. */
function mapTexts<R extends CountTokensRequest>(req: R, f: (text: string) => string): R {
  const system = req.system === undefined ? undefined : typeof req.system === 'string' ? f(req.system) : req.system.map((b) => ({ ...b, text: f(b.text) }));
  const messages = req.messages.map((m): MessageParam => ({ ...m, content: typeof m.content === 'string' ? f(m.content) : mapBlocks(m.content, f) }));
  return { ...req, ...(system === undefined ? {} : { system }), messages };
}

function mapBlocks(blocks: ContentBlockParam[], f: (text: string) => string): ContentBlockParam[] {
  return blocks.map((b) => {
    if (isBlock(b, 'text')) return { ...b, text: f(b.text) };
    if (isBlock(b, 'tool_result') && b.content !== undefined) return { ...b, content: typeof b.content === 'string' ? f(b.content) : mapBlocks(b.content, f) };
    return b;
  });
}
