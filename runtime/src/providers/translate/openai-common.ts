/**
 * Pieces of the OpenAI request that every translator reads the same way, whatever the
 * target schema: non-blank text parts, tool-call arguments as an object, stop sequences.
 */
import type { CacheControl, ChatRequest, ImagePart, MessageContent } from '../../core/chat-request';
import { parseImageUrl, type InlineImage, type ParsedImage } from '../../core/image-url';
import { nestedDeeperThan, TOO_DEEP } from '../../core/json-depth';
import { ProviderError } from '../errors';

export const isBlank = (s: string): boolean => s.trim() === '';

/** The non-blank text parts of a message (targets reject empty text blocks). */
export function texts(content: MessageContent | null | undefined): string[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return isBlank(content) ? [] : [content];
  const out: string[] = [];
  for (const p of content) if (p.type === 'text' && !isBlank(p.text)) out.push(p.text);
  return out;
}

/** OpenAI carries tool-call arguments as a JSON string; other schemas want the object. */
export function parseToolArguments(args: string, i: number, j: number): Record<string, unknown> {
  // Some clients send "" for a call without arguments.
  if (isBlank(args)) return {};
  const where = `messages[${i}].tool_calls[${j}].function.arguments`;
  const refuse = (why: string) => new ProviderError('refused', `${where} ${why}`, { status: 400, param: `messages[${i}].tool_calls`, code: 'invalid_tool_arguments' });
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch (err) {
    throw refuse(`is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refuse('must be a JSON object');
  // The object is stringified again for the target: a deep one would overflow the stack there (a 500).
  if (nestedDeeperThan(value)) throw refuse(`is ${TOO_DEEP}`);
  return value as Record<string, unknown>;
}

/** `stop` as a list, without blank entries. */
export function stopSequences(req: ChatRequest): string[] {
  return (typeof req.stop === 'string' ? [req.stop] : (req.stop ?? [])).filter((s) => !isBlank(s));
}

/**
 * The image of a part, parsed; a part the target cannot take is refused (the gateway
 * checks images before routing, so this is the translator's last word, not the usual path).
 */
export function imageOf(part: ImagePart, i: number, j: number): ParsedImage {
  const image = parseImageUrl(part.image_url.url);
  if ('error' in image) throw refusedImage(i, j, image.error);
  return image;
}

export function inlineImageOf(part: ImagePart, i: number, j: number, target: string): InlineImage {
  const image = imageOf(part, i, j);
  if (image.kind !== 'inline') throw refusedImage(i, j, `${target} cannot fetch image URLs: send the image as a data: URL`);
  return image;
}

function refusedImage(i: number, j: number, why: string): ProviderError {
  const param = `messages[${i}].content[${j}].image_url.url`;
  return new ProviderError('refused', `${param}: ${why}`, { status: 400, param, code: 'invalid_image' });
}

/**
 * Keeps the last `max` cache points across `lists` (in prefix order) and removes the
 * earliest: a later checkpoint covers more of the prompt.
 */
export function keepLastCachePoints<B>(lists: B[][], isPoint: (b: B) => boolean, max: number, unmark?: (list: B[], i: number) => void): void {
  let total = 0;
  for (const list of lists) for (const b of list) if (isPoint(b)) total++;
  let drop = total - max;
  for (const list of lists) {
    for (let i = 0; drop > 0 && i < list.length; i++) {
      if (!isPoint(list[i])) continue;
      drop--;
      if (unmark) unmark(list, i);
      else list.splice(i--, 1);
    }
    if (drop <= 0) return;
  }
}

/** The marker `models[].promptCache.auto` puts after the system prompt and the tools. */
export const AUTO_CACHE_MARKER: CacheControl = { type: 'ephemeral' };

/** A tool message's marker on one of its parts: its result is one block, so the checkpoint follows that block. */
export function lastPartMarker(content: MessageContent): CacheControl | undefined {
  if (typeof content === 'string') return undefined;
  let c: CacheControl | undefined;
  for (const p of content) c = p.cache_control ?? c;
  return c;
}
