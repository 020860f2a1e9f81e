/**
 * Routing for token counting (count_tokens): the routes a generation would take, in the
 * selector's order, each asked for its provider's own count until one answers. Counting
 * generates nothing, so it reserves no quota and its failures judge no route (a
 * provider's counter has limits of its own); a route whose target has no counter ends
 * the walk, since that target would serve and only the gateway's estimate fits it. A
 * counter that refuses the request itself (400) ends it too, as the client's error.
 */
import type { AttemptRecord } from '../core/attempt';
import type { Cancellation } from '../core/cancellation';
import { isProviderError } from '../providers/errors';
import type { Route } from '../providers/types';
import type { ModelRoutes } from './route-table';
import { AllRoutesFailed } from './routed-request';
import type { RouteSelector } from './selector';

export interface CounterWalk<T> {
  /** The first count a route gave, and that route. */
  counted?: { value: T; route: Route };
  attempts: AttemptRecord[];
}

/**
 * `counterOf(route)` is the route's counter, or undefined when its target has none;
 * `now` times the attempts. Stops at the first answer or the first route without a counter.
 */
export async function walkCounters<T>(
  selector: RouteSelector,
  routes: ModelRoutes,
  counterOf: (route: Route) => (() => Promise<T>) | undefined,
  now: () => number,
  cancel: Cancellation,
): Promise<CounterWalk<T>> {
  const { groups, skipped } = selector.select(routes, false);
  const attempts: AttemptRecord[] = skipped.map((s) => ({ route: s.route, outcome: s.reason, ms: 0 }));
  for (const group of groups) {
    for (const route of group) {
      const count = counterOf(route);
      if (!count) return { attempts };
      const started = now();
      try {
        const value = await count();
        attempts.push({ route: route.key, outcome: 'ok', ms: now() - started });
        return { counted: { value, route }, attempts };
      } catch (err) {
        if (cancel.aborted) throw cancel.reason;
        const e = isProviderError(err) ? err : undefined;
        attempts.push({ route: route.key, outcome: e?.failure ?? 'transient', status: e?.status, message: e?.message ?? String(err), ms: now() - started });
        // The request is at fault (a spoke's or Anthropic's 400): every counter would refuse it, and the client hears why.
        if (e?.failure === 'refused' && e.status === 400) throw new AllRoutesFailed(attempts, e);
      }
    }
  }
  return { attempts };
}
