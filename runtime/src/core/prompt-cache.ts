/**
 * Prompt caching and session affinity, the vocabulary every layer shares: cache markers
 * (`cache_control` on parts, messages and tools, as Anthropic writes it), what a route
 * does with them, and how a request's session is named and answered.
 */
import { createHash } from 'node:crypto';
import type { CacheControl, ChatRequest } from './chat-request';

/** Cache checkpoints one request may carry on Anthropic and Bedrock. */
export const MAX_CACHE_POINTS = 4;

/** The providers' default cache lifetime, refreshed on use: how long a session is remembered. */
export const DEFAULT_SESSION_TTL_MS = 5 * 60_000;

/** What a route does with cache markers; a route without it drops them. */
export interface PromptCacheRoute {
  /** Checkpoints per request; extra markers are dropped from the earliest. */
  readonly maxPoints: number;
  /** Whether a checkpoint may follow the tool definitions (Amazon Nova: no). */
  readonly tools: boolean;
  /** The gateway adds checkpoints after the system prompt and the tools (models[].promptCache.auto). */
  readonly auto: boolean;
}

/** What happened to a session's request: served where it was last (hit), first seen (new), or on another route (moved). */
export type Affinity = 'hit' | 'new' | 'moved';

const AFFINITY_RANK: Record<Affinity, number> = { hit: 0, new: 1, moved: 2 };

/** Through a proxy and a spoke, the less favourable of the two says whether the cache was kept. */
export function worseAffinity(a: Affinity, b: Affinity | undefined): Affinity {
  return b !== undefined && AFFINITY_RANK[b] > AFFINITY_RANK[a] ? b : a;
}

export function isAffinity(v: string | undefined): v is Affinity {
  return v === 'hit' || v === 'new' || v === 'moved';
}

type Marked = { cache_control?: CacheControl | undefined };

/** Cache markers the client put in the request (parts, messages, tools). */
export function countCacheMarkers(req: Pick<ChatRequest, 'messages' | 'tools'>): number {
  let n = 0;
  for (const t of req.tools ?? []) if (t.cache_control) n++;
  for (const m of req.messages) {
    if (m.cache_control) n++;
    const content = m.content;
    if (Array.isArray(content)) for (const p of content as Marked[]) if (p.cache_control) n++;
  }
  return n;
}

/**
 * The request without cache markers, for targets that take none (OpenAI caches on its
 * own and rejects unknown fields); the request itself when it has none.
 */
export function withoutCacheMarkers<T extends Pick<ChatRequest, 'messages' | 'tools'>>(req: T): T {
  if (countCacheMarkers(req) === 0) return req;
  const strip = <O extends Marked>(o: O): O => {
    if (!o.cache_control) return o;
    const { cache_control: _, ...rest } = o;
    return rest as O;
  };
  const messages = req.messages.map((m) => {
    const out = strip(m);
    return Array.isArray(out.content) ? ({ ...out, content: (out.content as Marked[]).map(strip) } as typeof m) : out;
  });
  return { ...req, messages, ...(req.tools ? { tools: req.tools.map(strip) } : {}) };
}

/**
 * A session name for requests that give none: a hash of the tools and messages up to the
 * last cache marker (the prefix a provider caches). Works on unchecked JSON (the proxy's
 * forwarded body) as on a parsed request; undefined without a marker.
 */
export function prefixSessionKey(messages: unknown, tools: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  const prefix: unknown[] = [];
  let end = -1;
  for (const t of Array.isArray(tools) ? (tools as unknown[]) : []) {
    prefix.push(t);
    if (hasMarker(t)) end = prefix.length;
  }
  for (const m of messages as unknown[]) {
    const content = isObject(m) ? m.content : undefined;
    if (Array.isArray(content)) {
      // A marker on a part caches up to that part: the message's later parts are not in the prefix.
      const role = isObject(m) ? m.role : undefined;
      content.forEach((p: unknown, j) => {
        prefix.push([role, p]);
        if (hasMarker(p)) end = prefix.length;
        if (j === content.length - 1 && hasMarker(m)) end = prefix.length;
      });
    } else {
      prefix.push(m);
      if (hasMarker(m)) end = prefix.length;
    }
  }
  if (end < 0) return undefined;
  return `prefix:${createHash('sha256')
    .update(JSON.stringify(prefix.slice(0, end)))
    .digest('base64url')
    .slice(0, 32)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasMarker(v: unknown): boolean {
  return isObject(v) && isObject(v.cache_control);
}
