/** Cheap token estimates (about 4 characters a token) for admission and missing usage. */
import { contentText, type ChatRequest } from '../core/chat-request';

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function estimatePromptTokens(req: ChatRequest): number {
  let chars = 0;
  for (const m of req.messages) {
    chars += contentText(m.content).length + 16; // role and framing
    if (m.role === 'assistant' && m.tool_calls) {
      for (const c of m.tool_calls) chars += c.function.name.length + c.function.arguments.length;
    }
  }
  if (req.tools) chars += JSON.stringify(req.tools).length;
  return Math.ceil(chars / 4);
}
