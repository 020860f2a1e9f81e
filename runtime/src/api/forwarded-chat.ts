/**
 * The proxy's thin hop. A proxy hands requests to spokes, which validate them in full;
 * validating them here too put a second schema pass (and a re-encoding of the body) on
 * the critical path of every request. So the proxy checks only the fields it acts on
 * (model for routing, stream, the output cap for admission) and forwards the client's
 * JSON as it came; the spoke's 400 for anything else reaches the client unchanged.
 * Anything unusual in those fields goes through the full validation instead, which
 * names the field at fault.
 */
import { REASONING_EFFORTS, type ReasoningEffort } from '../core/chat-request';
import type { ForwardedChat } from '../core/forwarded-chat';
import { parseImageUrl } from '../core/image-url';
import { thinkingBudgetOf } from '../providers/translate/reasoning-effort';
import { imageTokens, UNKNOWN_IMAGE_TOKENS } from '../quota/image-tokens';
import { jsonObjectOf } from './forwarded-json';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isOptional = (v: unknown, type: 'boolean' | 'number') => v === undefined || v === null || typeof v === type;

/**
 * The request as the proxy reads it: only model, messages (present), stream,
 * stream_options.include_usage, the output caps, reasoning_effort and prompt_cache_key are checked. Undefined when the full
 * validation must decide.
 */
export function forwardedChat(text: string): ForwardedChat | undefined {
  const doc = jsonObjectOf(text);
  if (!doc) return undefined;
  if (typeof doc.model !== 'string' || doc.model === '') return undefined;
  if (!Array.isArray(doc.messages) || doc.messages.length === 0) return undefined;
  const { stream, max_tokens: maxTokens, max_completion_tokens: maxCompletionTokens } = doc;
  if (!isOptional(stream, 'boolean') || !isOptional(maxTokens, 'number') || !isOptional(maxCompletionTokens, 'number')) return undefined;
  const options = doc.stream_options;
  if (options !== undefined && options !== null && (!isObject(options) || !isOptional(options.include_usage, 'boolean'))) return undefined;
  const key = doc.prompt_cache_key;
  if (key !== undefined && key !== null && (typeof key !== 'string' || key === '' || key.length > 256)) return undefined;
  // The thinking budget it may add on a Claude target counts at admission; a value the spoke would refuse is named by the full validation.
  const effort = doc.reasoning_effort;
  if (effort !== undefined && effort !== null && !REASONING_EFFORTS.includes(effort as ReasoningEffort)) return undefined;
  const thinking = thinkingBudgetOf(effort as ReasoningEffort | null | undefined);
  const images = imageUrls(doc.messages);
  return {
    forwarded: true,
    body: text,
    model: doc.model,
    stream: stream === true,
    includeUsage: isObject(options) && options.include_usage === true,
    maxOutputTokens: (maxCompletionTokens ?? maxTokens ?? undefined) as number | undefined,
    ...(thinking > 0 ? { thinkingTokens: thinking } : {}),
    messages: doc.messages,
    ...(doc.tools !== undefined ? { tools: doc.tools } : {}),
    ...(typeof key === 'string' ? { promptCacheKey: key } : {}),
    ...(images ? { images } : {}),
    ...(stream === true && strictFormat(doc.response_format) ? { heldStream: true } : {}),
  };
}

/** The image URLs of unchecked messages: their length, not counted as text, and their estimated tokens. */
function imageUrls(messages: unknown[]): { chars: number; tokens: number } | undefined {
  let found: { chars: number; tokens: number } | undefined;
  for (const m of messages) {
    const content = isObject(m) ? m.content : undefined;
    if (!Array.isArray(content)) continue;
    for (const part of content as unknown[]) {
      const url = isObject(part) && part.type === 'image_url' && isObject(part.image_url) ? part.image_url.url : undefined;
      if (typeof url !== 'string') continue;
      found ??= { chars: 0, tokens: 0 };
      found.chars += url.length;
      const image = parseImageUrl(url);
      found.tokens += 'error' in image ? UNKNOWN_IMAGE_TOKENS : imageTokens({ param: '', image });
    }
  }
  return found;
}

function strictFormat(format: unknown): boolean {
  return isObject(format) && format.type === 'json_schema' && isObject(format.json_schema) && format.json_schema.strict === true;
}
