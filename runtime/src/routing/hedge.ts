/**
 * Hedged streams: a stream with no first chunk by its route's hedge delay starts again on
 * the next route (an equivalent one, else the next target), and whichever sends a first
 * chunk first answers; the other is cancelled at once. Hedges are budgeted per model (a
 * share of its stream requests), so that a slow provider never doubles the load.
 */
import { HedgeLost } from '../core/attempt';
import type { CancelSource } from '../core/cancellation';
import type { Clock } from '../core/clock';
import type { Route } from '../providers/types';
import { RetryBudget } from './retry';

/** Hedges allowed per model: `share` of its stream requests over ten seconds, and one at any time. */
export class HedgeBudgets {
  private readonly budgets = new Map<string, { share: number; budget: RetryBudget }>();

  constructor(private readonly clock: Clock) {}

  private of(model: string, share: number): RetryBudget {
    let b = this.budgets.get(model);
    // A reload that changed the share starts the model's count afresh.
    if (!b || b.share !== share) this.budgets.set(model, (b = { share, budget: new RetryBudget(this.clock, { ratio: share, minPerWindow: 1, windowMs: 10_000 }) }));
    return b.budget;
  }

  /** Counts one stream request of `model`. */
  onRequest(model: string, share: number): void {
    this.of(model, share).onRequest();
  }

  /** Takes one hedge from the model's budget if there is one. */
  tryHedge(model: string, share: number): boolean {
    return this.of(model, share).tryRetry();
  }
}

/**
 * One route's try within a request, as a hedge race sees it: the attempt in flight (to
 * cancel it when the other one wins) and the timer that makes a hedge due.
 */
export class AttemptBranch {
  /** The other branch answered: cancel what runs, start nothing more. */
  lost = false;
  /** Another branch runs beside this one: no same-route retry or Retry-After wait now. */
  raced: boolean;
  private source: CancelSource | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** `onHedgeDue`: the branch that may be hedged (the first one), told when its attempt has waited long enough. */
  constructor(
    readonly hedge: boolean,
    private readonly onHedgeDue?: () => void,
  ) {
    this.raced = hedge;
  }

  /** Whether a hedge may still be started for this branch. */
  get hedgeable(): boolean {
    return this.onHedgeDue !== undefined && !this.raced;
  }

  /** An attempt began with `source` as its cancellation; a hedge falls due after `hedgeDelayMs`. */
  started(source: CancelSource, hedgeDelayMs: number | undefined): void {
    this.source = source;
    if (hedgeDelayMs !== undefined && this.hedgeable) this.timer = setTimeout(this.onHedgeDue!, hedgeDelayMs);
  }

  /** The attempt answered or failed: no hedge is due for it any more. */
  settled(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The other branch answered first: cancels this branch's attempt (even one that has just answered). */
  lose(): void {
    this.lost = true;
    this.settled();
    this.source?.abort(new HedgeLost());
  }
}

/** One route's try in a hedge race: its branch and the promise of its outcome. */
export type RaceEntry<O> = readonly [route: Route, branch: AttemptBranch, outcome: Promise<O>];

export interface RaceRules<O> {
  /** The outcome is an answer: it wins. */
  answered(o: O): boolean;
  /** A failure that ends the race too (the others are cancelled). */
  ends(o: O, branch: AttemptBranch): boolean;
  /** An answer of a cancelled try that came at the same moment as the winner's. */
  discard(o: O): void;
}

/**
 * Waits for the tries of a hedge race until one answers (the others are cancelled at
 * once) or all have failed. Outcomes in the order they came, an answer last.
 */
export async function race<O>(entries: ReadonlyArray<RaceEntry<O>>, rules: RaceRules<O>): Promise<Array<[Route, O]>> {
  const outcomes: Array<[Route, O]> = [];
  const pending = new Map<AttemptBranch, Promise<{ route: Route; branch: AttemptBranch; outcome: O }>>();
  for (const [route, branch, done] of entries) {
    const settled = done.then((outcome) => ({ route, branch, outcome }));
    settled.catch(() => undefined); // the one not awaited to the end must not leave a rejection unhandled
    pending.set(branch, settled);
  }
  while (pending.size > 0) {
    const { route, branch, outcome } = await Promise.race(pending.values());
    pending.delete(branch);
    outcomes.push([route, outcome]);
    if (rules.answered(outcome) || rules.ends(outcome, branch)) {
      for (const [, other, done] of entries) {
        if (!pending.has(other)) continue;
        other.lose();
        void done.then(
          (o) => rules.answered(o) && rules.discard(o),
          () => undefined,
        );
      }
      break;
    }
  }
  return outcomes;
}
