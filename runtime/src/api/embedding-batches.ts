/**
 * An embeddings request as provider batches: split to the smallest batch any of its
 * routes takes (OpenAI 2048 inputs, Titan 1, Cohere 96, simulated 256; `models[].batch.size`
 * lower still), run with bounded concurrency, each batch its own executor run (admission,
 * quota, failover: a failed batch retries only itself, on an equivalent route; one that met
 * only a short throttle waits it out and runs again), in input order. The first batch that
 * finally fails cancels the others and fails the request: never a partial answer.
 */
import type { AttemptRecord } from '../core/attempt';
import { linkedSource, sleepUnlessCancelled } from '../core/cancellation';
import { MAX_EMBEDDING_INPUTS, sliceInputs, type EmbeddingsCall } from '../core/embeddings';
import { GatewayError } from '../core/gateway-error';
import type { Gateway } from '../gateway';
import { ProviderError } from '../providers/errors';
import type { EmbeddingsResult, Route } from '../providers/types';
import { estimateInputTokens } from '../quota/token-estimate';
import { AllRoutesFailed, type Answered, type RoutedRequest } from '../routing/executor';
import type { ModelRoutes } from '../routing/route-table';
import type { RequestRouting } from './request-lifecycle';

/** Batches in flight at once for one request, unless `models[].batch.concurrency` says otherwise. */
export const DEFAULT_BATCH_CONCURRENCY = 8;

export interface BatchPlan {
  /** Routes that cannot serve this request at all, and why: the executor passes them over without a request. */
  readonly cannotServe?: (route: Route) => string | undefined;
  readonly calls: readonly EmbeddingsCall[];
  readonly concurrency: number;
}

/**
 * The batches of `req` on `routes`. Routes that refuse the request (token ids to a model
 * that reads text, a dimension it does not make) are left out; when every route refuses,
 * the request is a 400 naming the parameter, and nothing is sent.
 */
export function planBatches(gw: Gateway, routes: ModelRoutes, req: EmbeddingsCall): BatchPlan {
  const refusals = new Map<string, string>();
  let refusal: ProviderError | undefined;
  let size = routes.model.batch?.size ?? MAX_EMBEDDING_INPUTS;
  let serving = 0;
  for (const group of routes.groups) {
    for (const route of group) {
      const embeddings = gw.adapters.get(route.provider.id)?.embeddings;
      const no = embeddings ? embeddings.refusal(route, req) : new ProviderError('refused', `provider ${route.provider.id} has no embeddings API`, { status: 400, param: 'model' });
      if (no) {
        refusals.set(route.key, no.message);
        refusal ??= no;
        continue;
      }
      serving++;
      size = Math.min(size, embeddings!.batchLimit(route));
    }
  }
  if (serving === 0 && refusal) throw new GatewayError(400, 'invalid_request_error', refusal.message, refusal.code ?? 'invalid_value', refusal.param ?? null);
  const calls: EmbeddingsCall[] = [];
  const count = req.inputs.items.length;
  if (size >= count) calls.push({ ...req, whole: true });
  else for (let from = 0; from < count; from += size) calls.push({ ...req, inputs: sliceInputs(req.inputs, from, from + size) });
  const concurrency = routes.model.batch?.concurrency ?? DEFAULT_BATCH_CONCURRENCY;
  return refusals.size === 0 ? { calls, concurrency } : { calls, concurrency, cannotServe: (route) => refusals.get(route.key) };
}

export interface BatchOutcome {
  /** Each batch's answer, in input order (complete when there is no failure). */
  readonly answers: Answered<EmbeddingsResult>[];
  /** Every batch's attempts, in batch order. */
  readonly attempts: AttemptRecord[];
  /** What the first batch that finally failed ended with (the executor's error, or the request's cancellation). */
  readonly failure?: unknown;
}

/** Runs the plan's batches, at most `concurrency` at once; each answer's real tokens are counted as it arrives. */
export async function runBatches(gw: Gateway, routing: RequestRouting, plan: BatchPlan): Promise<BatchOutcome> {
  const { calls } = plan;
  const answers = new Array<Answered<EmbeddingsResult>>(calls.length);
  const failedAttempts = new Array<readonly AttemptRecord[] | undefined>(calls.length);
  // The batches' own cancellation: the request's, and the first failure's.
  const { source: cancel, unlink } = linkedSource(routing.life);
  let next = 0;
  let failure: { err: unknown } | undefined;

  const worker = async (): Promise<void> => {
    while (!failure && next < calls.length) {
      const i = next++;
      const call = calls[i];
      const routed = { ...routing.routed, estimatedTokens: estimateInputTokens(call.inputs), cancel };
      const earlier: AttemptRecord[] = [];
      for (let run = 0; ; run++) {
        try {
          const answer = await gw.executor.run(routed, (route, attempt) => gw.adapters.get(route.provider.id)!.embeddings!.embed(route, call, routing.options(attempt)));
          answer.settle(answer.value.promptTokens);
          if (earlier.length > 0) answer.attempts.unshift(...earlier);
          answers[i] = answer;
          break;
        } catch (err) {
          const waitMs = failure || run >= THROTTLED_RERUNS ? undefined : throttledWait(err, routed, gw.now());
          if (err instanceof AllRoutesFailed) earlier.push(...err.attempts);
          if (waitMs !== undefined) {
            // The other batches of this request hold the route's probe after a 429: wait as the provider asked, then again.
            const waited = await sleepUnlessCancelled(waitMs, cancel).then(
              () => true,
              () => false,
            );
            if (waited) continue;
          }
          failedAttempts[i] = earlier;
          if (failure) return;
          failure = { err };
          cancel.abort(err);
          return;
        }
      }
    }
  };
  try {
    // The batches cancelled by a failure end quickly (their attempts are aborted), and their quota is released.
    await Promise.all(Array.from({ length: Math.min(plan.concurrency, calls.length) }, worker));
  } finally {
    unlink();
  }
  const attempts: AttemptRecord[] = [];
  for (let i = 0; i < calls.length; i++) attempts.push(...(answers[i]?.attempts ?? failedAttempts[i] ?? []));
  return failure ? { answers, attempts, failure: failure.err } : { answers, attempts };
}

/** Times a batch whose routes were only throttled or cooling down is run again, each after the wait they asked for. */
const THROTTLED_RERUNS = 3;

/**
 * How long to wait before running a failed batch again: only when every route it tried was
 * throttled or cooling down (not broken), for no longer than the model waits out a
 * provider's Retry-After, and within the deadline; else undefined (the batch has failed).
 */
function throttledWait(err: unknown, routed: RoutedRequest, now: number): number | undefined {
  if (!(err instanceof AllRoutesFailed) || (err.last && err.last.failure !== 'throttled')) return undefined;
  let wait: number | undefined;
  for (const a of err.attempts) {
    if (!RIDE_OUT.has(a.outcome)) return undefined;
    if (a.retryAfterMs !== undefined) wait = Math.min(wait ?? Infinity, a.retryAfterMs);
  }
  if (wait === undefined || wait > routed.routes.policy.maxRetryAfterMs) return undefined;
  const ms = Math.max(wait, MIN_RERUN_WAIT_MS);
  return now + ms < routed.deadline - DEADLINE_MARGIN_MS ? ms : undefined;
}

/** What a batch may have met and still be run again: throttling, and routes passed over for it (or that cannot take it). */
const RIDE_OUT: ReadonlySet<AttemptRecord['outcome']> = new Set<AttemptRecord['outcome']>(['throttled', 'cooldown', 'no-headroom', 'unsupported']);
const MIN_RERUN_WAIT_MS = 50;
/** A rerun must leave the request this much of its deadline. */
const DEADLINE_MARGIN_MS = 1000;
