/**
 * The simulated provider's embeddings: deterministic unit vectors made from each input
 * alone, so the same text gets the same vector on every simulated route (failover keeps
 * one vector space) and in every run. `dimensions` keeps the first values and
 * normalizes again, as OpenAI's shortened embeddings do. The endpoint's latency, quota
 * and failure rate apply to each call, as for chat.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EmbeddingsCall } from '../../core/embeddings';
import type { SimulatedEndpointConfig } from '../../config/schema';
import { estimateInputTokens } from '../../quota/token-estimate';
import { refusedParam } from '../translate/embeddings-common';
import type { CallOptions, EmbeddingsAdapter, EmbeddingsResult, Route } from '../types';
import { hashString, prng } from './text';

const BATCH_LIMIT = 256;
export const SIMULATED_DIMENSIONS = 1536;
const MAX_DIMENSIONS = 3072;

export interface SimulatedEmbeddingsDeps {
  endpointOf(route: Route): SimulatedEndpointConfig;
  /** The endpoint's own admission: throws its 429 or injected failure. */
  admit(route: Route, reserveTokens: number): void;
}

export function createSimulatedEmbeddings(deps: SimulatedEmbeddingsDeps): EmbeddingsAdapter {
  return {
    batchLimit: () => BATCH_LIMIT,

    refusal: (route, call) =>
      call.dimensions !== undefined && call.dimensions > MAX_DIMENSIONS
        ? refusedParam('dimensions', `${route.model} (simulated) makes at most ${MAX_DIMENSIONS} dimensions, not ${call.dimensions}`)
        : undefined,

    async embed(route: Route, call: EmbeddingsCall, opts: CallOptions): Promise<EmbeddingsResult> {
      const ep = deps.endpointOf(route);
      const tokens = estimateInputTokens(call.inputs);
      deps.admit(route, tokens);
      await sleep(ep.latencyMs, undefined, { signal: opts.signal });
      const dims = call.dimensions ?? SIMULATED_DIMENSIONS;
      const keys = call.inputs.kind === 'text' ? call.inputs.items : call.inputs.items.map((ids) => `tokens:${ids.join(',')}`);
      return { vectors: keys.map((key) => simulatedVector(key, dims)), promptTokens: tokens, model: route.model };
    },
  };
}

/** A unit vector of `dims` values drawn from a generator seeded by `key`. */
export function simulatedVector(key: string, dims: number): Float32Array {
  const random = prng(hashString(key));
  const v = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    const x = random() * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dims; i++) v[i] *= scale;
  return v;
}
