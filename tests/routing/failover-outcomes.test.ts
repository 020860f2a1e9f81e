/**
 * The best outcome, not just a safe one: the model the client asked for whenever it can
 * still answer (same-route retry, a short Retry-After waited out, a larger window tried),
 * and slow streams hedged. A routing core with scripted providers, on a manual clock.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { AttemptCancel } from '../../runtime/src/core/attempt';
import { CancelSource } from '../../runtime/src/core/cancellation';
import type { Route } from '../../runtime/src/providers/types';
import { AllRoutesFailed } from '../../runtime/src/routing/executor';
import { failureToError } from '../../runtime/src/api/failure-response';
import { core, fail, ok, twoAccountsAndFallback, type Answer } from './harness';

const P = 'p/a/r/m-primary';
const F = 'q/b/r/m-fallback';

type Failover = NonNullable<GatewayConfigInput['failover']>;
type Target = NonNullable<GatewayConfigInput['models']>[number]['targets'][number];

/** A primary target with one route, and a fallback target of another model. */
function primaryAndFallback(failover?: Failover, targets?: Target[]): GatewayConfigInput {
  return {
    providers: [
      { id: 'p', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'r' }] }] },
      { id: 'q', type: 'simulated', accounts: [{ id: 'b', endpoints: [{ region: 'r' }] }] },
    ],
    models: [
      {
        name: 'chat',
        targets: targets ?? [
          { provider: 'p', model: 'm-primary' },
          { provider: 'q', model: 'm-fallback' },
        ],
        failover,
      },
    ],
  };
}

/** An attempt that never answers until it is cancelled. */
const hang = (attempt: CancelSource): Promise<Answer> => new Promise((_, reject) => attempt.onAbort(reject));
const after = (ms: number, route: Route): Promise<Answer> => new Promise((resolve) => setTimeout(() => resolve({ by: route.key }), ms));

describe('one transient failure on the only route of the primary', () => {
  it('retries that route once, on a fresh connection, before the fallback', async () => {
    const c = core(primaryAndFallback());
    const seen: Array<[string, boolean]> = [];
    let n = 0;
    const a = await c.executor.run(c.request(), (route, attempt) => {
      seen.push([route.key, attempt instanceof AttemptCancel && attempt.freshConnection]);
      return route.key === P && ++n === 1 ? fail('transient', { status: 500 }) : ok(route);
    });
    expect(seen).toEqual([
      [P, false],
      [P, true],
    ]);
    expect(a.route.key).toBe(P);
    expect(a.attempts).toMatchObject([
      { route: P, outcome: 'transient', status: 500 },
      { route: P, outcome: 'ok', retry: true },
    ]);
    expect(c.waits).toHaveLength(1); // the jittered backoff
  });

  it('a reset before any header (no status) the same way', async () => {
    const c = core(primaryAndFallback());
    let n = 0;
    const a = await c.executor.run(c.request(), (route) => (route.key === P && ++n === 1 ? fail('transient') : ok(route)));
    expect(a.route.key).toBe(P);
    expect(a.attempts.map((x) => x.outcome)).toEqual(['transient', 'ok']);
  });

  it('only once: a second failure falls back', async () => {
    const c = core(primaryAndFallback());
    const seen: string[] = [];
    const a = await c.executor.run(c.request(), (route) => (seen.push(route.key), route.key === P ? fail('transient', { status: 503 }) : ok(route)));
    expect(seen).toEqual([P, P, F]);
    expect(a.route.key).toBe(F);
  });

  it('an equivalent route comes first: no retry of the failed one', async () => {
    const c = core(twoAccountsAndFallback());
    const seen: string[] = [];
    const a = await c.executor.run(c.request(), (route) => (seen.push(route.key), seen.length === 1 ? fail('transient', { status: 500 }) : ok(route)));
    expect(seen).toHaveLength(2);
    expect(seen[1]).not.toBe(seen[0]);
    expect(a.route.model).toBe('m-small');
  });

  it('with sameRouteRetry off, the fallback answers at once', async () => {
    const c = core(primaryAndFallback({ sameRouteRetry: false }));
    const seen: string[] = [];
    await c.executor.run(c.request(), (route) => (seen.push(route.key), route.key === P ? fail('transient', { status: 500 }) : ok(route)));
    expect(seen).toEqual([P, F]);
  });
});

describe('429 with a short Retry-After and no equivalent route', () => {
  it('waits for it and retries the primary; everyone else keeps off the route until it has answered', async () => {
    let during: (ms: number) => Promise<void> = () => Promise.resolve();
    const c = core(primaryAndFallback(), { sleep: (ms) => during(ms) });
    const at: Record<string, number[]> = {};
    let throttled = false;
    const script = (route: Route) => {
      (at[route.key] ??= []).push(c.clock.now());
      if (route.key === P && !throttled) {
        throttled = true;
        return fail('throttled', { status: 429, retryAfterMs: 2000 });
      }
      return ok(route);
    };
    const others: string[][] = [];
    during = async (ms) => {
      // Another request while this one waits: the fallback, the primary is cooling down.
      const mid = await c.executor.run(c.request(), script);
      others.push(mid.attempts.map((x) => `${x.route}:${x.outcome}`));
      c.clock.advance(ms);
      // The cooldown has ended, but the waiting request goes first: still the fallback.
      const next = await c.executor.run(c.request(), script);
      others.push(next.attempts.map((x) => `${x.route}:${x.outcome}`));
    };
    const a = await c.executor.run(c.request(), script);
    expect(a.route.key).toBe(P);
    expect(a.attempts).toMatchObject([{ outcome: 'throttled' }, { outcome: 'ok', retry: true }]);
    expect(at[P][1] - at[P][0]).toBe(2000);
    expect(others).toEqual([
      [`${P}:cooldown`, `${F}:ok`],
      [`${P}:cooldown`, `${F}:ok`],
    ]);
    // Its answer opened the route to everyone.
    expect((await c.executor.run(c.request(), script)).route.key).toBe(P);
  });

  it('a request cancelled while it waits gives its turn back: the route serves the next request once the cooldown ends', async () => {
    const cancel = new CancelSource();
    const c = core(primaryAndFallback(), {
      sleep: () => {
        cancel.abort(new Error('client left'));
        return Promise.reject(new Error('client left'));
      },
    });
    let throttled = false;
    const script = (route: Route) => (route.key === P && !throttled ? ((throttled = true), fail('throttled', { status: 429, retryAfterMs: 2000 })) : ok(route));
    await expect(c.executor.run(c.request('chat', { cancel }), script)).rejects.toThrow('client left');
    c.clock.advance(2000);
    expect((await c.executor.run(c.request(), script)).route.key).toBe(P);
  });

  it('a later 429 that makes the cooldown longer than the wait: the waiting request gives its turn back and is served after it', async () => {
    const c = core(primaryAndFallback(undefined, [{ provider: 'p', model: 'm-primary' }]));
    let first = true;
    const script = (route: Route) => {
      if (first) {
        first = false;
        // Another request's 429 while this one is in flight: the cooldown now ends later than this one's wait.
        void c.quota.cooldown(P, c.clock.now() + 3000, 'throttled');
        return fail('throttled', { status: 429, retryAfterMs: 2000 });
      }
      return ok(route);
    };
    const a = await c.executor.run(c.request(), script);
    expect(a.route.key).toBe(P);
    expect(a.attempts.map((x) => x.outcome)).toEqual(['throttled', 'cooldown', 'ok']);
  });

  it('a longer wait than maxRetryAfterMs falls back at once', async () => {
    const c = core(primaryAndFallback({ maxRetryAfterMs: 5000 }));
    const seen: string[] = [];
    const a = await c.executor.run(c.request(), (route) => (seen.push(route.key), route.key === P ? fail('throttled', { status: 429, retryAfterMs: 6000 }) : ok(route)));
    expect(seen).toEqual([P, F]);
    expect(a.route.key).toBe(F);
    expect(c.waits).toEqual([]);
  });

  it('no Retry-After (only a guess) or no time left before the deadline: the fallback at once', async () => {
    const c = core(primaryAndFallback());
    const noHeader = await c.executor.run(c.request(), (route) => (route.key === P ? fail('throttled', { status: 429 }) : ok(route)));
    expect(noHeader.route.key).toBe(F);
    const d = core(primaryAndFallback());
    const late = await d.executor.run(d.request('chat', { deadline: d.clock.now() + 2500 }), (route) =>
      route.key === P ? fail('throttled', { status: 429, retryAfterMs: 2000 }) : ok(route),
    );
    expect(late.route.key).toBe(F);
    expect(c.waits.concat(d.waits)).toEqual([]);
  });
});

describe('context length exceeded with no window declared', () => {
  it('tries the next target of another model', async () => {
    const c = core(primaryAndFallback());
    const seen: string[] = [];
    const a = await c.executor.run(c.request(), (route) => (seen.push(route.key), route.key === P ? fail('context_length', { status: 400 }) : ok(route)));
    expect(seen).toEqual([P, F]);
    expect(a.route.key).toBe(F);
  });

  it('never the same model again, nor a declared window that is not larger; a 400 when none is left', async () => {
    const c = core(
      primaryAndFallback(undefined, [
        { provider: 'p', model: 'm-small', contextTokens: 8000 },
        { provider: 'q', model: 'm-small' }, // the same model elsewhere
        { provider: 'q', model: 'm-tiny', contextTokens: 4000 },
        { provider: 'p', model: 'm-large' }, // window unknown: may be larger
      ]),
    );
    const seen: string[] = [];
    const err = await c.executor.run(c.request(), (route) => (seen.push(route.model), fail('context_length', { status: 400 }))).catch((e: unknown) => e);
    expect(seen).toEqual(['m-small', 'm-large']);
    expect(err).toBeInstanceOf(AllRoutesFailed);
    expect((err as AllRoutesFailed).last?.failure).toBe('context_length');
  });
});

describe('hedged streams', () => {
  /** Hedge after 50 ms (the floor) while the routes are not observed enough. */
  const hedged = (over: Failover['hedging'] = {}, targets?: Target[]) => primaryAndFallback({ hedging: { coldDelayMs: 20, ...over } }, targets);
  const stream = (c: ReturnType<typeof core>) => c.request('chat', { stream: true, timeouts: { connectMs: 1000, firstByteMs: 2000, idleMs: 2000, completeMs: 2000 } });

  it('a stream with no first chunk by the hedge delay starts on the next route; the first to answer wins, the other is cancelled', async () => {
    const c = core(hedged());
    let primaryCancelled: unknown;
    const a = await c.executor.run(stream(c), (route, attempt) => {
      if (route.key !== P) return ok(route);
      attempt.onAbort((reason) => (primaryCancelled = reason));
      return hang(attempt);
    });
    expect(a.route.key).toBe(F);
    await new Promise((r) => setImmediate(r));
    expect((primaryCancelled as Error)?.name).toBe('HedgeLost');
    expect(a.attempts).toHaveLength(2);
    expect(a.attempts).toEqual(expect.arrayContaining([expect.objectContaining({ route: P, outcome: 'cancelled' }), expect.objectContaining({ route: F, outcome: 'ok', hedge: true })]));
    expect(c.quota.peek(P, {}).tokensUsed).toBe(0); // the cancelled attempt's reservation is released
  });

  it('the first route answering after the hedge started still wins, and the hedge is cancelled', async () => {
    const c = core(hedged());
    const a = await c.executor.run(stream(c), (route, attempt) => (route.key === P ? after(150, route) : hang(attempt)));
    expect(a.route.key).toBe(P);
    await new Promise((r) => setImmediate(r));
    expect(a.attempts).toHaveLength(2);
    expect(a.attempts).toEqual(expect.arrayContaining([expect.objectContaining({ route: P, outcome: 'ok' }), expect.objectContaining({ route: F, outcome: 'cancelled', hedge: true })]));
  });

  it('no hedge with a share of 0, nor on a target billed in full for a cancelled request', async () => {
    for (const c of [
      core(hedged({ share: 0 })),
      core(
        hedged({}, [
          { provider: 'p', model: 'm-primary' },
          { provider: 'q', model: 'm-fallback', cancelBilledInFull: true },
        ]),
      ),
    ]) {
      const a = await c.executor.run(stream(c), (route) => (route.key === P ? after(150, route) : ok(route)));
      expect(a.route.key).toBe(P);
      expect(a.attempts).toHaveLength(1);
    }
  });

  it('hedges at most a share of the model stream requests (one at any time)', async () => {
    const c = core(hedged({ share: 0.05 }));
    const by: string[] = [];
    for (let i = 0; i < 20; i++) by.push((await c.executor.run(stream(c), (route) => (route.key === P ? after(80, route) : ok(route)))).route.key);
    // 1 + 5% of the requests in the window: the first two are hedged (and won by the fallback).
    expect(by.filter((k) => k === F)).toHaveLength(2);
  });

  it('whole answers are never hedged', async () => {
    const c = core(hedged());
    const a = await c.executor.run(c.request(), (route) => (route.key === P ? after(150, route) : ok(route)));
    expect(a.attempts).toHaveLength(1);
  });
});

describe('adaptive first-chunk timeout', () => {
  it('a route observed answering fast is given up on after its learnt timeout, not the fixed one', async () => {
    const c = core(primaryAndFallback({ adaptiveTimeouts: { minMs: 50 }, hedging: { share: 0 } }));
    for (let i = 0; i < 30; i++) c.stats.get(P).distribution(true).add(5);
    const a = await c.executor.run(c.request('chat', { stream: true, timeouts: { connectMs: 1000, firstByteMs: 5000, idleMs: 5000, completeMs: 5000 } }), (route, attempt) =>
      route.key === P ? hang(attempt) : ok(route),
    );
    expect(a.route.key).toBe(F);
    expect(a.attempts[0]).toMatchObject({ route: P, outcome: 'silent', message: 'no first chunk within 50 ms' });
    // The timeout counts as an observation at its limit, so a route that became slower gets a longer one.
    expect(c.stats.get(P).distribution(true).quantile(0.99)).toBeGreaterThan(40);
  });
});

describe('a fault of the gateway itself on one request', () => {
  const bug = () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'content')"));

  it('passes the route over to the next, and never ejects it however often it recurs', async () => {
    const c = core(primaryAndFallback());
    for (let i = 0; i < 10; i++) {
      const a = await c.executor.run(c.request(), (route) => (route.key === P ? bug() : ok(route)));
      expect(a.route.key).toBe(F);
      expect(a.attempts).toMatchObject([
        { route: P, outcome: 'internal', message: "TypeError: Cannot read properties of undefined (reading 'content')" },
        { route: F, outcome: 'ok' },
      ]);
    }
    expect(c.stats.get(P).circuit.state()).toBe('closed');
    // The next request of another shape is served by the primary at once.
    expect((await c.executor.run(c.request(), ok)).route.key).toBe(P);
  });

  it('is a 500 internal_error, not a provider failure, when every route fails so; each fault is logged with its stack', async () => {
    const logged: Array<[unknown, string, string | undefined]> = [];
    const c = core(primaryAndFallback(), { onInternalError: (e, route, requestId) => logged.push([e, route, requestId]) });
    const err = await c.executor.run(c.request('chat', { requestId: 'req-7' }), bug).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllRoutesFailed);
    expect(failureToError(err as AllRoutesFailed, 'all-in-one')).toMatchObject({ status: 500, code: 'internal_error' });
    expect([P, F].map((r) => c.stats.get(r).circuit.state())).toEqual(['closed', 'closed']);
    expect(logged.map(([, route, id]) => [route, id])).toEqual([
      [P, 'req-7'],
      [F, 'req-7'],
    ]);
    expect((logged[0][0] as Error).stack).toMatch(/TypeError: Cannot read properties/);
  });
});
