/** A routing core on a manual clock, with scripted provider outcomes per route: no HTTP. */
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { RouteStatsRegistry } from '../../runtime/src/health/route-stats';
import { ProviderError } from '../../runtime/src/providers/errors';
import type { Route, UpstreamMeta } from '../../runtime/src/providers/types';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import type { Clock } from '../../runtime/src/core/clock';
import { ManualClock } from '../helpers/manual-clock';
import { AttemptExecutor, type ExecutorDeps, type RoutedRequest } from '../../runtime/src/routing/executor';
import { RetryBudget, type RetryBudgetPolicy } from '../../runtime/src/routing/retry';
import { CancelSource } from '../../runtime/src/core/cancellation';
import { buildRouteTable } from '../../runtime/src/routing/route-table';
import { RouteSelector } from '../../runtime/src/routing/selector';
import { DEFAULT_TIMEOUTS } from '../../runtime/src/routing/timeouts';

/** Deterministic PRNG for selection (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Script = (route: Route, attempt: CancelSource) => Promise<UpstreamMeta & { by: string }>;

export function core(
  doc: GatewayConfigInput,
  opts: { clock?: Clock; budget?: RetryBudgetPolicy; seed?: number; sleep?: (ms: number) => Promise<void>; onInternalError?: ExecutorDeps['onInternalError'] } = {},
) {
  const config = parseConfig(doc);
  const clock = opts.clock ?? new ManualClock(1_000_000);
  const random = seeded(opts.seed ?? 1);
  const table = buildRouteTable(config.models, config.providers, config.failover);
  const stats = new RouteStatsRegistry(clock);
  const quota = new MemoryQuotaStore(clock);
  const selector = new RouteSelector(stats, quota, random);
  /** Every wait of the executor, in ms; on a manual clock a wait moves the clock instead of the test waiting. */
  const waits: number[] = [];
  const sleep =
    opts.sleep ??
    (clock instanceof ManualClock
      ? (ms: number) => {
          waits.push(ms);
          clock.advance(ms);
          return Promise.resolve();
        }
      : undefined);
  const executor = new AttemptExecutor({ selector, stats, quota, budget: new RetryBudget(clock, opts.budget), clock, random: () => 0, sleep, onInternalError: opts.onInternalError });
  const request = (model = 'chat', over: Partial<RoutedRequest> = {}): RoutedRequest => ({
    routes: table.get(model)!,
    stream: false,
    estimatedTokens: 100,
    deadline: clock.now() + 60_000,
    cancel: new CancelSource(),
    timeouts: { ...DEFAULT_TIMEOUTS, completeMs: 200, firstByteMs: 200 },
    ...over,
  });
  return { config, clock: clock as ManualClock, table, stats, quota, selector, executor, request, waits };
}

export type Answer = UpstreamMeta & { by: string };
export const ok = (route: Route): Promise<Answer> => Promise.resolve({ by: route.key, rateLimit: undefined });
export const fail = (failure: ProviderError['failure'], init: ConstructorParameters<typeof ProviderError>[2] = {}): Promise<Answer> =>
  Promise.reject(new ProviderError(failure, `scripted ${failure}`, init));

/** Accounts a1, a2 (provider p, one region each) then fallback provider q. */
export function twoAccountsAndFallback(extra: { limits?: Record<string, { rpm?: number; tpm?: number }>; contextA?: number; contextB?: number } = {}): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'p',
        type: 'simulated',
        accounts: [
          { id: 'a1', limits: extra.limits ?? {}, endpoints: [{ region: 'r1' }] },
          { id: 'a2', limits: extra.limits ?? {}, endpoints: [{ region: 'r1' }] },
        ],
      },
      { id: 'q', type: 'simulated', accounts: [{ id: 'b', endpoints: [{ region: 'r1' }] }] },
    ],
    models: [
      {
        name: 'chat',
        targets: [
          { provider: 'p', model: 'm-small', contextTokens: extra.contextA },
          { provider: 'q', model: 'm-large', contextTokens: extra.contextB },
        ],
      },
    ],
  };
}
