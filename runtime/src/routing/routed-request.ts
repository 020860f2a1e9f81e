/**
 * What the executor is given (a request on its way to a route, and how to make one
 * attempt) and what it gives back (the answer with every attempt, or why every route failed).
 */
import type { AttemptRecord } from '../core/attempt';
import type { CancelSource, Cancellation } from '../core/cancellation';
import type { ProviderError } from '../providers/errors';
import type { Route } from '../providers/types';
import type { CapacityClass } from '../quota/capacity-class';
import type { ModelRoutes } from './route-table';
import type { AttemptTimeouts } from './timeouts';

/** Every candidate failed or was skipped; `last` is the most telling failure. */
export class AllRoutesFailed extends Error {
  override readonly name = 'AllRoutesFailed';
  constructor(
    readonly attempts: AttemptRecord[],
    readonly last: ProviderError | undefined,
  ) {
    super(attempts.map(describeAttempt).join('; ') || 'no route is configured for this model');
  }
}

function describeAttempt(a: AttemptRecord): string {
  return `${a.route}: ${a.outcome}${a.status ? ` ${a.status}` : ''}${a.message ? ` (${a.message})` : ''}`;
}

export interface Answered<T> {
  value: T;
  route: Route;
  attempts: AttemptRecord[];
  /** Counts the real tokens once the answer is complete (or 0 when it failed later). */
  settle(actualTokens: number): void;
}

export interface RoutedRequest {
  /** The logical model's routes. */
  routes: ModelRoutes;
  stream: boolean;
  /** Prompt estimate plus the request's max output: what admission reserves. */
  estimatedTokens: number;
  /** Epoch ms by which the request must be answered. */
  deadline: number;
  /** The client left or the deadline passed: stop. */
  cancel: Cancellation;
  timeouts: AttemptTimeouts;
  /** Routes this request must not use (a continuation after a failed stream). */
  exclude?: ReadonlySet<string>;
  /** Why a route cannot take this request at all (e.g. its image URLs), or undefined: such routes are passed over. */
  cannotServe?: (route: Route) => string | undefined;
  /** A capacity class below critical: admitted within its share of each route (absent: the whole limits). */
  capacity?: CapacityClass;
  /** Session affinity: the routes that served the request's session last go first in their group when they may serve. */
  prefer?: (route: Route) => boolean;
  /** The request's id, for the log line of a fault of ours in one of its attempts. */
  requestId?: string;
}

/**
 * Starts one attempt; resolves when the route has answered (stream: first chunk).
 * `attempt` is the attempt's own cancellation, cancelled with the request or when the
 * attempt times out or loses a hedge race; a stream keeps it for its whole life and
 * aborts it on a stall. It is an AttemptCancel: a same-route retry asks for a fresh connection.
 */
export type AttemptFn<T> = (route: Route, attempt: CancelSource) => Promise<T>;
