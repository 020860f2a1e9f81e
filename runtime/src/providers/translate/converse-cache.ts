/**
 * Cache markers as Converse takes them: a `cachePoint` block after the marked content (in
 * `system`, a turn's content or `toolConfig.tools`), at most the route's limit.
 */
import type { CachePointBlock, ContentBlock, ConverseRequest } from '@aws-sdk/client-bedrock-runtime';
import type { CacheControl } from '../../core/chat-request';
import type { PromptCacheRoute } from '../../core/prompt-cache';
import { keepLastCachePoints } from './openai-common';

/** A list Converse may put a cache point in: system blocks, a turn's content, the tools. */
export type Cacheable = Array<{ cachePoint?: CachePointBlock }>;

function cachePointOf(c: CacheControl): CachePointBlock {
  return c.ttl ? { type: 'default', ttl: c.ttl } : { type: 'default' };
}

/** A cache point after what `list` holds so far, when marked and the route takes markers (never first, never twice). */
export function cachePointAfter(list: Cacheable, c: CacheControl | undefined, cache: PromptCacheRoute | undefined): void {
  if (!c || !cache || list.length === 0 || list[list.length - 1].cachePoint) return;
  list.push({ cachePoint: cachePointOf(c) });
}

export function marked(blocks: ContentBlock[], c: CacheControl | undefined, cache: PromptCacheRoute | undefined): ContentBlock[] {
  cachePointAfter(blocks, c, cache);
  return blocks;
}

/** At most `max` cache points (tools, then system, then messages: the order of the prefix): the earliest go. */
export function limitCachePoints(req: ConverseRequest, max: number): void {
  const lists: Cacheable[] = [req.toolConfig?.tools ?? [], req.system ?? [], ...(req.messages ?? []).map((t) => (t.content ?? []) as Cacheable)];
  keepLastCachePoints(lists, (b) => b.cachePoint !== undefined, max);
}
