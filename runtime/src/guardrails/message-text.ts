/**
 * The text a request sends upstream, piece by piece: each message's content string or
 * text part, every role included (a client writes the assistant turns it sends too).
 * Image parts carry no text: guardrails read text only, and images pass as they are.
 */
import type { ChatMessage, ChatRequest } from '../core/chat-request';

/** Every text piece of the messages, in order. */
export function messageTexts(req: ChatRequest): string[] {
  const texts: string[] = [];
  for (const m of req.messages) {
    const c = m.content;
    if (typeof c === 'string') texts.push(c);
    else if (Array.isArray(c)) for (const part of c) if (part.type === 'text') texts.push(part.text);
  }
  return texts;
}

/**
 * The request with each text piece replaced by `rewrite(text, index)` (index as in
 * `messageTexts`); the same object when nothing changed.
 */
export function rewriteTexts(req: ChatRequest, rewrite: (text: string, index: number) => string): ChatRequest {
  let index = 0;
  let changed = false;
  const swap = (text: string): string => {
    const out = rewrite(text, index++);
    if (out !== text) changed = true;
    return out;
  };
  const messages = req.messages.map((m): ChatMessage => {
    const c = m.content;
    if (typeof c === 'string') return { ...m, content: swap(c) };
    if (Array.isArray(c)) return { ...m, content: c.map((part) => (part.type === 'text' ? { ...part, text: swap(part.text) } : part)) } as ChatMessage;
    return m;
  });
  return changed ? { ...req, messages } : req;
}
