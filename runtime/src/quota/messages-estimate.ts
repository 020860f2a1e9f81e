/**
 * The gateway's token estimate of a Messages prompt (token-estimate.ts's rule of about
 * four characters a token): what admission reserves, count_tokens' answer when no
 * provider counter serves, and the usage of an answer cut before its usage came.
 */
import { contentBlocks, systemTexts, type ContentBlockParam, type CountTokensRequest } from '../core/messages-request';
import { MESSAGE_FRAMING_CHARS, tokensForChars } from './token-estimate';

/** An image or document costs about this many tokens whatever its bytes (Claude scales images down). */
const MEDIA_TOKENS = 1600;

export function estimateMessagesPromptTokens(req: CountTokensRequest): number {
  let chars = 0;
  let media = 0;
  const count = (blocks: readonly ContentBlockParam[]) => {
    for (const b of blocks) {
      if (b.type === 'text') chars += (b.text as string).length;
      else if (b.type === 'thinking') chars += (b.thinking as string).length;
      else if (b.type === 'tool_use') chars += (b.name as string).length + JSON.stringify(b.input).length;
      else if (b.type === 'tool_result') {
        if (typeof b.content === 'string') chars += b.content.length;
        else if (Array.isArray(b.content)) count(b.content as ContentBlockParam[]);
      } else if (b.type === 'image' || b.type === 'document') media++;
      else chars += JSON.stringify(b).length;
    }
  };
  for (const text of systemTexts(req.system)) chars += text.length;
  for (const m of req.messages) {
    chars += MESSAGE_FRAMING_CHARS;
    count(contentBlocks(m.content));
  }
  if (req.tools) chars += JSON.stringify(req.tools).length;
  return tokensForChars(chars) + media * MEDIA_TOKENS;
}
