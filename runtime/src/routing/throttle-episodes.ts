/**
 * How long a throttled route waits: Retry-After when the provider gave one, else an
 * exponential guess that grows once per throttling episode; 429s of requests sent before
 * the current cooldown began are the same episode, not a reason to wait longer.
 */
import type { Clock } from '../core/clock';

const MAX_GUESS_MS = 60_000;

export class ThrottleEpisodes {
  /** Per route: consecutive throttling episodes, and when the current one began and ends. */
  private readonly streaks = new Map<string, { streak: number; since: number; until: number }>();

  constructor(private readonly clock: Clock) {}

  /** The wait after a 429 on route `key` of an attempt started at `startedAt`. */
  wait(key: string, startedAt: number, retryAfterMs: number | undefined): number {
    const now = this.clock.now();
    const episode = this.streaks.get(key);
    if (episode && startedAt < episode.since) return retryAfterMs ?? Math.max(0, episode.until - now);
    const streak = (episode?.streak ?? 0) + 1;
    const wait = retryAfterMs ?? Math.min(MAX_GUESS_MS, 1000 * 2 ** (streak - 1));
    this.streaks.set(key, { streak, since: now, until: now + wait });
    return wait;
  }

  /** The route answered: the next 429 starts a new streak. */
  ended(key: string): void {
    this.streaks.delete(key);
  }
}
