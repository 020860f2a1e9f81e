/** Per-attempt timeouts: defaults, overridden per model in config (`models[].timeouts`). */
import type { ModelConfig } from '../config/schema';

export interface AttemptTimeouts {
  /** TCP/TLS connect. */
  connectMs: number;
  /** Stream: until the first chunk. Non-streamed: until the whole answer. */
  firstByteMs: number;
  /** Stream: between two chunks (keep-alive comments do not count). */
  idleMs: number;
  /** Non-streamed answers: the whole attempt. */
  completeMs: number;
}

export const DEFAULT_TIMEOUTS: AttemptTimeouts = { connectMs: 3_000, firstByteMs: 20_000, idleMs: 20_000, completeMs: 90_000 };

export function timeoutsFor(model: ModelConfig | undefined): AttemptTimeouts {
  return { ...DEFAULT_TIMEOUTS, ...model?.timeouts };
}
