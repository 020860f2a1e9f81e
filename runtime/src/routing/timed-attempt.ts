/**
 * One attempt under its timeout, with its own cancellation linked to the request's. A
 * stream must send its first chunk within `limit`, a whole answer must come within it;
 * past it the route is silent. A hedge race's branch learns of the attempt, to cancel it
 * or to hedge it after `hedgeAfter`.
 */
import { AttemptCancel } from '../core/attempt';
import type { Clock } from '../core/clock';
import { ProviderError } from '../providers/errors';
import type { Route } from '../providers/types';
import type { AttemptBranch } from './hedge';
import type { AttemptFn, RoutedRequest } from './routed-request';

export interface AttemptTerms {
  limit: number;
  /** A same-route retry: on a fresh connection. */
  fresh: boolean;
  branch?: AttemptBranch;
  hedgeAfter?: number;
}

export async function timedAttempt<T>(clock: Clock, route: Route, req: RoutedRequest, attempt: AttemptFn<T>, terms: AttemptTerms): Promise<T> {
  const { limit, branch } = terms;
  const source = new AttemptCancel(terms.fresh);
  const unlink = req.cancel.onAbort((reason) => source.abort(reason));
  // When the request's deadline comes first, it decides (a 504), not the attempt timeout.
  const handle =
    limit < req.deadline - clock.now() ? setTimeout(() => source.abort(new ProviderError('silent', `no ${req.stream ? 'first chunk' : 'answer'} within ${limit} ms`)), limit) : undefined;
  branch?.started(source, terms.hedgeAfter);
  try {
    const value = await attempt(route, source);
    // A started stream stays linked to the request for its whole life.
    if (!req.stream) unlink();
    return value;
  } catch (err) {
    unlink();
    if (source.aborted && !req.cancel.aborted) throw source.reason;
    throw err;
  } finally {
    clearTimeout(handle);
    branch?.settled();
  }
}
