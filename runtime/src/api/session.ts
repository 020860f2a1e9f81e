/**
 * The request's session, for session affinity: the `x-session-id` header, else the body's
 * `prompt_cache_key`, else (models[].promptCache.prefixAffinity) a hash of the prefix up
 * to the last cache marker. A request without one costs no lookup. Anthropic Messages
 * requests name their session by the header only.
 */
import type { ModelConfig } from '../config/schema';
import type { ChatRequest } from '../core/chat-request';
import type { ForwardedChat } from '../core/forwarded-chat';
import { badRequest } from '../core/gateway-error';
import { SESSION_HEADER } from '../core/gateway-headers';
import { prefixSessionKey } from '../core/prompt-cache';
import type { Gateway } from '../gateway';
import { SessionAffinity, type SessionRouting } from '../routing/affinity';
import type { ApiCall } from './call';

const MAX_SESSION_CHARS = 256;

/** The session's lookup, or undefined (no await, no Redis) for a request that names none. `chat`: where a chat request may name it in its body. */
export function sessionOf(gw: Gateway, call: ApiCall, model: ModelConfig, chat?: ChatRequest | ForwardedChat): Promise<SessionRouting> | undefined {
  const named = call.header(SESSION_HEADER)?.trim();
  if (named && named.length > MAX_SESSION_CHARS) throw badRequest(`Invalid header '${SESSION_HEADER}': at most ${MAX_SESSION_CHARS} characters`, SESSION_HEADER, 'invalid_session_id');
  if (!SessionAffinity.enabled(model)) return undefined;
  const name = named || (chat && sessionName(chat, model));
  return name === undefined ? undefined : gw.affinity.begin(model, name);
}

function sessionName(chat: ChatRequest | ForwardedChat, model: ModelConfig): string | undefined {
  const key = 'forwarded' in chat ? chat.promptCacheKey : chat.prompt_cache_key;
  if (key) return key;
  return model.promptCache?.prefixAffinity ? prefixSessionKey(chat.messages, chat.tools) : undefined;
}
