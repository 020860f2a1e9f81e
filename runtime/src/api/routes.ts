/** The API's POST routes: the Hono app and the Node server's own listener serve this one table. */
import type { Gateway } from '../gateway';
import type { ApiHandler } from './call';
import { chatCompletionsHandler } from './chat-completions';
import { countTokensHandler } from './count-tokens';
import { messagesHandler } from './messages';
import { embeddingsHandler } from './embeddings';

export function postRoutes(gw: Gateway): ReadonlyMap<string, ApiHandler> {
  const chat = chatCompletionsHandler(gw);
  return new Map([
    ['/v1/chat/completions', chat],
    ['/inference', chat],
    ['/v1/messages', messagesHandler(gw)],
    ['/v1/messages/count_tokens', countTokensHandler(gw)],
    ['/v1/embeddings', embeddingsHandler(gw)],
  ]);
}
