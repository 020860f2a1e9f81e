/**
 * The proxy's thin hop for the Messages routes, as api/forwarded-chat.ts is for chat: only
 * what the proxy acts on is read (model, stream, max_tokens for admission) and the
 * client's JSON goes to a spoke as it came; the spoke validates it in full, and its 400
 * reaches the client. Anything unusual in those fields goes through the full validation,
 * which names the field at fault.
 */
import type { ForwardedMessages } from '../providers/messages-types';
import { jsonObjectOf } from './forwarded-json';

/** The request as the proxy reads it; undefined when the full validation must decide. */
export function forwardedMessages(text: string, countOnly = false): ForwardedMessages | undefined {
  const doc = jsonObjectOf(text);
  if (!doc) return undefined;
  const { model, messages, stream, max_tokens: maxTokens } = doc;
  if (typeof model !== 'string' || model === '' || !Array.isArray(messages) || messages.length === 0) return undefined;
  if (stream !== undefined && typeof stream !== 'boolean') return undefined;
  if (!countOnly && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0)) return undefined;
  return { forwarded: true, body: text, model, stream: stream === true, maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined };
}
