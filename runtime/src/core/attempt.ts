/**
 * What happened to one attempt of a request on one route: the words routing, the
 * providers, observability and the API share about it.
 */
import { CancelSource } from './cancellation';

/** How an upstream call failed; each class has its own answer in the failover rules (ARCHITECTURE.md). */
export type FailureClass =
  /** 429, ThrottlingException, remaining 0: cool the account+model down, go elsewhere. */
  | 'throttled'
  /** insufficient_quota, ServiceQuotaExceededException: park the account+model for long. */
  | 'quota_exhausted'
  /** 5xx, 529, ModelNotReady, reset/refused, garbage from upstream: go elsewhere, maybe one quick retry. */
  | 'transient'
  /** No headers within the first-byte timeout or no chunk within the idle timeout. */
  | 'silent'
  /** context_length_exceeded: never this model again; a larger fallback or a 400. */
  | 'context_length'
  /** Content filter, validation, auth to the provider: no retry, no fallback. */
  | 'refused'
  /**
   * The route answered, but not what the request's `response_format` (strict) demands:
   * the next route may do better; the route is healthy, so its circuit stays closed.
   */
  | 'invalid_output';

/**
 * Why a route was passed over without a request. `unsupported`: it cannot take this
 * request (e.g. its image URLs); `reserved`: it has room only for a higher capacity class
 * (here, or as the spoke behind it said); `too-large`: the request's estimated tokens are
 * more than the route's whole tokens-per-minute limit, so it never fits there.
 */
export type SkipReason = 'ejected' | 'cooldown' | 'no-headroom' | 'down' | 'unsupported' | 'reserved' | 'too-large';

/** The error code of a request that failed in the gateway's own code on every route it tried (a 500). */
export const INTERNAL_ERROR = 'internal_error';

/** The error code of a request that is `too-large` for every route (a spoke's tells its proxy to try the next). */
export const TOKENS_OVER_ROUTE_LIMIT = 'tokens_over_route_limit';

const TOO_LARGE_INTRO = 'This request is larger than any route of its model takes in a minute (its prompt, estimated, plus max_tokens): ';
const TOO_LARGE_ADVICE = '. Lower max_tokens or shorten the prompt.';

/** The client's message for a request `too-large` for every route; `routes` lists them with their limits. */
export function tooLargeMessage(routes: string): string {
  return `${TOO_LARGE_INTRO}${routes}${TOO_LARGE_ADVICE}`;
}

/** The routes a spoke's `tooLargeMessage` lists (its proxy lists them under the spoke, not the whole sentence again). */
export function tooLargeRoutes(message: string): string {
  const start = message.indexOf(TOO_LARGE_INTRO);
  const end = message.lastIndexOf(TOO_LARGE_ADVICE);
  return start >= 0 && end > start ? message.slice(start + TOO_LARGE_INTRO.length, end) : message;
}

export interface AttemptRecord {
  route: string;
  /**
   * `cancelled`: another attempt of the same request answered first (a hedge race).
   * `internal`: the attempt failed in the gateway's own code (or a library's), not at the provider.
   */
  outcome: 'ok' | FailureClass | 'aborted' | 'cancelled' | 'internal' | SkipReason | 'budget';
  status?: number;
  message?: string;
  ms: number;
  /** When the route may serve again, for routes throttled or out of headroom. */
  retryAfterMs?: number;
  /** Out of headroom for this request's tokens only: the tokens a smaller one may still use now. */
  tokensLeft?: number;
  /** The attempt was a hedge: started while an earlier attempt was still waiting for its first chunk. */
  hedge?: true;
  /** The attempt retried the same route (on a fresh connection after a transient failure, or after its Retry-After). */
  retry?: true;
}

/**
 * An attempt's cancellation, as the executor hands it to the attempt function: a retry of
 * the same route asks for a fresh connection, not the pooled one that just failed.
 */
export class AttemptCancel extends CancelSource {
  constructor(readonly freshConnection = false) {
    super();
  }
}

/** The attempt lost a hedge race: the other attempt of its request answered first. */
export class HedgeLost extends Error {
  override readonly name = 'HedgeLost';
  constructor() {
    super('another attempt of this request answered first');
  }
}

/** Outcomes of routes passed over without a request. */
export const PASSED_OVER: ReadonlySet<AttemptRecord['outcome']> = new Set<AttemptRecord['outcome']>([
  'ejected',
  'cooldown',
  'no-headroom',
  'down',
  'unsupported',
  'reserved',
  'too-large',
  'budget',
]);

/** How a request's hedge went: `won` (the hedge answered first), `lost`, or undefined when none was sent. */
export function hedgeOutcome(attempts: readonly AttemptRecord[]): 'won' | 'lost' | undefined {
  for (const a of attempts) if (a.hedge) return a.outcome === 'ok' ? 'won' : 'lost';
  return undefined;
}

/** Attempts that reached (or tried to reach) a provider, not routes passed over. */
export function sentAttempts(attempts: readonly AttemptRecord[]): number {
  return attempts.filter((a) => !PASSED_OVER.has(a.outcome)).length;
}
