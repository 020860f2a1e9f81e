/**
 * Cache markers a target could not take are dropped, never refused: a debug log line says
 * which and why (no prompt cache on the target, or more than its checkpoint limit).
 */
import type { ChatRequest } from '../core/chat-request';
import type { ForwardedChat } from '../core/forwarded-chat';
import { countCacheMarkers } from '../core/prompt-cache';
import type { Gateway } from '../gateway';
import type { Route } from '../providers/types';

export function noteDroppedMarkers(gw: Gateway, requestId: string, chat: ChatRequest | ForwardedChat, route: Route): void {
  // The proxy forwards the body as it came: its spoke drops what its target cannot take.
  if ('forwarded' in chat || !gw.logger.isLevelEnabled('debug')) return;
  const markers = countCacheMarkers(chat);
  if (markers === 0) return;
  const cache = route.promptCache;
  if (!cache) gw.logger.debug({ requestId, route: route.key, markers }, 'cache markers dropped: the target has no prompt cache');
  else if (markers > cache.maxPoints) gw.logger.debug({ requestId, route: route.key, markers, limit: cache.maxPoints }, 'cache markers over the limit dropped, the earliest first');
}
