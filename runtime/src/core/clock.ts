/** Time and chance, injected so that every routing decision can be replayed in a test. */
export interface Clock {
  now(): number;
}

export type Random = () => number;

export const systemClock: Clock = { now: () => Date.now() };
