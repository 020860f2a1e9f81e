/**
 * The gateway's one token estimate (about four characters a token): what admission
 * reserves, the usage of an answer whose upstream reported none, and the simulated
 * provider's counts. Real usage replaces it wherever an upstream reports one.
 */
import { contentText, type ChatRequest } from '../core/chat-request';
import type { EmbeddingInputs } from '../core/embeddings';
import type { ForwardedChat } from '../core/forwarded-chat';
import { hasImages, requestImages } from '../core/image-url';
import { imageTokens } from './image-tokens';
import { usageOf, type Usage } from '../core/openai-types';

/** The usual rough rule: a token is about four characters of English text. */
const CHARS_PER_TOKEN = 4;
/** What a message's role and framing add, in characters. */
export const MESSAGE_FRAMING_CHARS = 16;

export function tokensForChars(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

export function estimateTokens(text: string): number {
  return tokensForChars(text.length);
}

/**
 * The prompt: every message's text and framing, the tool calls it holds, the tool
 * definitions and the images (by their pixel size: image-tokens.ts). A forwarded
 * request's messages were not checked, so they are not measured: its JSON's own length
 * is the (generous) estimate, with its image URLs counted as images, not as text.
 */
export function estimatePromptTokens(req: ChatRequest | ForwardedChat): number {
  if ('forwarded' in req) return tokensForChars(req.body.length - (req.images?.chars ?? 0)) + (req.images?.tokens ?? 0);
  let chars = 0;
  for (const m of req.messages) {
    chars += contentText(m.content).length + MESSAGE_FRAMING_CHARS;
    if (m.role === 'assistant' && m.tool_calls) {
      for (const c of m.tool_calls) chars += c.function.name.length + c.function.arguments.length;
    }
  }
  if (req.tools) chars += JSON.stringify(req.tools).length;
  let images = 0;
  if (hasImages(req)) for (const img of requestImages(req)) images += 'error' in img ? 0 : imageTokens(img);
  return tokensForChars(chars) + images;
}

/** The usage of an answer of `answerChars` characters to `req`, when the upstream reported none. */
export function estimatedUsage(req: ChatRequest | ForwardedChat, answerChars: number): Usage {
  return usageOf(estimatePromptTokens(req), tokensForChars(answerChars));
}

/** Embeddings inputs: each text's estimate, or each token array's own length. */
export function estimateInputTokens(inputs: EmbeddingInputs): number {
  let n = 0;
  if (inputs.kind === 'tokens') for (const ids of inputs.items) n += ids.length;
  else for (const text of inputs.items) n += estimateTokens(text);
  return n;
}
