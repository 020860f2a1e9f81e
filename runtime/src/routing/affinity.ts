/**
 * Session affinity: a session's requests go to the route that served it last, so the
 * provider's prompt cache there is warm, while that route is healthy and has headroom;
 * otherwise the usual selection places it and the new route is remembered. New sessions
 * are placed by the usual selection, so sessions spread as load does. A route is known by
 * its scope: the route itself, or (the proxy) the spoke, whichever address answers.
 */
import { DEFAULT_SESSION_TTL_MS, type Affinity } from '../core/prompt-cache';
import type { ModelConfig } from '../config/schema';
import type { Route } from '../providers/types';
import type { SessionTable } from '../quota/session-table';

/** What a cache is tied to: a route key, or for the proxy the spoke whatever its address. */
export type AffinityScope = (route: Route) => string;

export const routeScope: AffinityScope = (route) => route.key;

/** One request's session: where it was last, and what to remember once it is served. */
export interface SessionRouting {
  /** The session as the client named it (the proxy passes it on to its spoke). */
  readonly name: string;
  readonly key: string;
  /** The scope that served the session last, if remembered. */
  readonly last: string | undefined;
  /** True for the routes of the scope that served it last. */
  readonly prefers: (route: Route) => boolean;
  /** The request was served on `route`: hit, new or moved; remembered (refreshing the lifetime). */
  readonly served: (route: Route) => Affinity;
}

export class SessionAffinity {
  constructor(
    private readonly table: SessionTable,
    private readonly scopeOf: AffinityScope = routeScope,
  ) {}

  /** Whether the model keeps sessions on their route (default: yes, for requests that name one). */
  static enabled(model: ModelConfig): boolean {
    return model.promptCache?.affinity !== false;
  }

  backend(): 'redis' | 'memory' {
    return this.table.backend();
  }

  /** Looks the session up (one Redis read, only for requests that have a session). */
  async begin(model: ModelConfig, session: string): Promise<SessionRouting> {
    const key = `${model.name}:${session}`;
    const ttlMs = model.promptCache?.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    const last = await this.table.get(key).catch(() => undefined);
    const { table, scopeOf } = this;
    let remembered: string | undefined;
    return {
      name: session,
      key,
      last,
      prefers: (route) => last !== undefined && scopeOf(route) === last,
      served: (route) => {
        const scope = scopeOf(route);
        if (remembered !== scope) {
          remembered = scope;
          void table.set(key, scope, ttlMs).catch(() => undefined);
        }
        return last === undefined ? 'new' : last === scope ? 'hit' : 'moved';
      },
    };
  }
}

/**
 * Session affinity: the first route that served the session last (healthy and not cooling
 * down: the selector left the others out) goes first in its group; headroom is checked
 * when it is tried, and a route without it passes the request on to the next.
 */
export function preferFirst(groups: ReadonlyArray<readonly Route[]>, prefer: (route: Route) => boolean, excluded: ReadonlySet<string>): ReadonlyArray<readonly Route[]> {
  for (let g = 0; g < groups.length; g++) {
    const i = groups[g].findIndex((r) => !excluded.has(r.key) && prefer(r));
    if (i < 0) continue;
    if (i === 0) return groups;
    const group = [groups[g][i], ...groups[g].filter((_, j) => j !== i)];
    return groups.map((x, k) => (k === g ? group : x));
  }
  return groups;
}
