/**
 * The simulated provider's prompt cache, one per endpoint and model, modelled on the real
 * ones: a prefix is cached at each cache checkpoint (the request's markers, at most the
 * route's limit, or the auto points after the system prompt and the tools) that holds at
 * least MIN_CACHED_TOKENS, for its lifetime (5 minutes, `ttl: "1h"` an hour), refreshed
 * when read. A request without markers is cached automatically at its message boundaries
 * once it is long enough, as OpenAI does (reads reported, no writes). The longest cached
 * prefix is read; what the last checkpoint adds beyond it is written.
 */
import { createHash, type Hash } from 'node:crypto';
import type { CacheControl, ChatRequest } from '../../core/chat-request';
import { DEFAULT_SESSION_TTL_MS, type PromptCacheRoute } from '../../core/prompt-cache';
import { tokensForChars } from '../../quota/token-estimate';

/** The smallest prefix a checkpoint caches (Claude Sonnet's minimum; shorter ones are not cached, no error). */
export const MIN_CACHED_TOKENS = 1024;
const ONE_HOUR_MS = 60 * 60_000;
/** Prefixes one endpoint keeps at most (the oldest go first). */
const CAPACITY = 50_000;

export interface CacheUse {
  /** Prompt tokens read from the cache. */
  read: number;
  /** Prompt tokens written to it. */
  written: number;
}

interface Checkpoint {
  hash: string;
  tokens: number;
  ttlMs: number;
  marked: boolean;
}

export class SimulatedPromptCache {
  private readonly prefixes = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Looks the request's prefixes up and stores its checkpoints. */
  use(req: ChatRequest, route: PromptCacheRoute | undefined): CacheUse {
    const { points, lookback } = checkpoints(req, route);
    if (points.length === 0) return { read: 0, written: 0 };
    const t = this.now();
    let read = 0;
    let found: Checkpoint | undefined;
    for (const p of [...points, ...lookback]) {
      const expires = this.prefixes.get(p.hash);
      if (expires !== undefined && expires > t && p.tokens > read) {
        read = p.tokens;
        found = p;
      }
    }
    // A read refreshes the entry's lifetime, as a write does.
    for (const p of found && !points.includes(found) ? [...points, found] : points) {
      this.prefixes.delete(p.hash); // re-inserted: the Map's order is the order of last use
      this.prefixes.set(p.hash, t + p.ttlMs);
    }
    while (this.prefixes.size > CAPACITY) this.prefixes.delete(this.prefixes.keys().next().value!);
    const last = points[points.length - 1];
    // Automatic caching (no markers) reports reads only, as OpenAI does.
    return { read, written: last.marked ? Math.max(0, last.tokens - read) : 0 };
  }
}

/** Block boundaries before a checkpoint where a provider also looks for a cached prefix (Anthropic: about 20 blocks). */
const LOOKBACK_BLOCKS = 20;

/**
 * The request's checkpoints in prefix order (tools, system, messages), each with the hash
 * and size of the prefix up to it, and the earlier message boundaries looked up too (a
 * marker that moved to the newest message still finds the prefix the previous turn cached).
 */
function checkpoints(req: ChatRequest, route: PromptCacheRoute | undefined): { points: Checkpoint[]; lookback: Checkpoint[] } {
  const hash = createHash('sha1');
  let chars = 0;
  const marked: Checkpoint[] = [];
  const boundaries: Checkpoint[] = [];
  const add = (value: unknown) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    hash.update(text);
    chars += text.length;
  };
  const at = (c: CacheControl | undefined, into: Checkpoint[], h: Hash) => {
    if (!c) return;
    into.push({ hash: h.copy().digest('base64'), tokens: tokensForChars(chars), ttlMs: c.ttl === '1h' ? ONE_HOUR_MS : DEFAULT_SESSION_TTL_MS, marked: into === marked });
  };
  const markers = route !== undefined;
  const AUTO: CacheControl = { type: 'ephemeral' };
  for (const t of req.tools ?? []) {
    add(t.function);
    if (markers && route.tools) at(t.cache_control, marked, hash);
  }
  if (markers && route.tools && route.auto && req.tools?.length) at(AUTO, marked, hash);
  let systemEnded = false;
  for (const m of req.messages) {
    const system = m.role === 'system' || m.role === 'developer';
    if (!system && !systemEnded) {
      systemEnded = true;
      if (markers && route.auto) at(AUTO, marked, hash);
    }
    add(m.role);
    if (typeof m.content === 'string' || m.content === null || m.content === undefined) add(m.content ?? '');
    else {
      for (const p of m.content) {
        add(p.type === 'text' ? p.text : p.image_url.url);
        if (markers) at(p.cache_control, marked, hash);
      }
    }
    if ('tool_calls' in m && m.tool_calls) add(m.tool_calls);
    if (markers) at(m.cache_control, marked, hash);
    at(AUTO, boundaries, hash);
  }
  const long = (p: Checkpoint) => p.tokens >= MIN_CACHED_TOKENS;
  if (marked.length > 0) {
    const points = marked.slice(-(route?.maxPoints ?? marked.length)).filter(long);
    const last = points[points.length - 1];
    const lookback = last ? boundaries.filter((b) => b.tokens <= last.tokens && long(b)).slice(-LOOKBACK_BLOCKS) : [];
    return { points, lookback };
  }
  // No markers: the message boundaries of a long prompt, the last message (the new turn) excluded.
  return { points: boundaries.slice(0, -1).filter(long), lookback: [] };
}
