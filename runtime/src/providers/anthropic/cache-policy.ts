/**
 * A native Messages body under its target's prompt-cache settings, as the chat path
 * applies them: `targets[].promptCache: false` drops every `cache_control` (a target that
 * refuses them), and `models[].promptCache.auto` marks the end of the system prompt and of
 * the tools where the client did not, keeping at most the route's checkpoints (the
 * earliest go: a later one covers more of the prompt). Without either setting the body
 * goes as the client sent it. The client's request is never changed in place: a
 * continuation or another route reads it again.
 */
import type { CacheControl, ContentBlockParam, CountTokensRequest, MessageParam } from '../../core/messages-request';
import type { PromptCacheRoute } from '../../core/prompt-cache';
import { keepLastCachePoints } from '../translate/openai-common';
import type { Route } from '../types';

type Marked = { cache_control?: CacheControl | null };

const AUTO: CacheControl = { type: 'ephemeral' };

export function withCachePolicy<R extends CountTokensRequest>(request: R, route: Route): R {
  if (route.cacheMarkersOff) return withoutMarkers(request);
  if (route.promptCache?.auto) return withAutoMarkers(request, route.promptCache);
  return request;
}

const isMarked = (b: unknown): boolean => typeof b === 'object' && b !== null && (b as Marked).cache_control != null;

/** `b` without its marker (a copy), or `b` itself when it has none. */
function unmarked<T>(b: T): T {
  if (typeof b !== 'object' || b === null || !('cache_control' in b)) return b;
  const { cache_control: _dropped, ...rest } = b as T & Marked;
  return rest as T;
}

function withoutMarkers<R extends CountTokensRequest>(req: R): R {
  const anyMarked = (list: readonly unknown[] | undefined) => list?.some((b) => 'cache_control' in (b as object)) === true;
  const blockOf = (b: ContentBlockParam): ContentBlockParam => {
    // A tool result's own blocks may carry markers too.
    const inner = b.type === 'tool_result' && Array.isArray(b.content) ? (b.content as ContentBlockParam[]) : undefined;
    return inner && anyMarked(inner) ? { ...unmarked(b), content: inner.map(unmarked) } : unmarked(b);
  };
  const messageOf = (m: MessageParam): MessageParam => (Array.isArray(m.content) ? { ...m, content: m.content.map(blockOf) } : m);
  const out: R = { ...req, messages: req.messages.map(messageOf) };
  if (Array.isArray(req.system)) out.system = req.system.map(unmarked);
  if (req.tools) out.tools = req.tools.map(unmarked);
  return out;
}

function withAutoMarkers<R extends CountTokensRequest>(req: R, cache: PromptCacheRoute): R {
  const out: R = { ...req };
  let added = false;
  const system = typeof req.system === 'string' ? (req.system === '' ? [] : [{ type: 'text' as const, text: req.system }]) : req.system;
  const lastSystem = system?.at(-1);
  if (system && lastSystem && !isMarked(lastSystem)) {
    out.system = [...system.slice(0, -1), { ...lastSystem, cache_control: AUTO }];
    added = true;
  }
  const lastTool = req.tools?.at(-1);
  if (cache.tools && req.tools && lastTool && !isMarked(lastTool)) {
    out.tools = [...req.tools.slice(0, -1), { ...lastTool, cache_control: AUTO }];
    added = true;
  }
  if (!added) return req;
  keepAtMost(out, cache.maxPoints);
  return out;
}

/** At most `max` markers in prefix order (tools, system, messages); `req`'s lists are replaced by copies that may lose some. */
function keepAtMost(req: CountTokensRequest, max: number): void {
  const tools = req.tools && [...req.tools];
  const system = typeof req.system === 'object' ? [...req.system] : undefined;
  const messages = req.messages.map((m) => (Array.isArray(m.content) ? { ...m, content: [...m.content] } : m));
  const lists: unknown[][] = [tools ?? [], system ?? [], ...messages.map((m) => (Array.isArray(m.content) ? m.content : []))];
  keepLastCachePoints(lists, isMarked, max, (list, i) => (list[i] = unmarked(list[i])));
  if (tools) req.tools = tools;
  if (system) req.system = system;
  req.messages = messages;
}
