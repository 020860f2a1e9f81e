/** Every failover decision of the attempt executor, on a manual clock with scripted providers. */
import { systemClock } from '../../runtime/src/core/clock';
import { AllRoutesFailed } from '../../runtime/src/routing/executor';
import { core, fail, ok, twoAccountsAndFallback } from './harness';

const A1 = 'p/a1/r1/m-small';
const A2 = 'p/a2/r1/m-small';
const B = 'q/b/r1/m-large';

describe('AttemptExecutor', () => {
  it('tries an equivalent route (other account) before the model fallback', async () => {
    const c = core(twoAccountsAndFallback());
    const seen: string[] = [];
    const answer = await c.executor.run(c.request(), (route) => {
      seen.push(route.key);
      return route.account.id === 'b' ? ok(route) : seen.length === 1 ? fail('transient', { status: 503 }) : ok(route);
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]).toMatch(/^p\/a[12]\//);
    expect(answer.value.by).toBe(seen[1]);
    expect(answer.attempts.map((a) => a.outcome)).toEqual(['transient', 'ok']);
  });

  it('throttled: cools the account down until Retry-After, goes elsewhere at once, comes back after', async () => {
    const c = core(twoAccountsAndFallback());
    let throttle = true;
    const script = (route: Parameters<typeof ok>[0]) => (route.key === A1 && throttle ? fail('throttled', { status: 429, retryAfterMs: 5000 }) : ok(route));
    // Force A1 first by making A2 look busy.
    c.stats.get(A2).completeMs.add(10_000);
    const first = await c.executor.run(c.request(), script);
    expect(first.attempts.map((a) => `${a.route}:${a.outcome}`)).toEqual([`${A1}:throttled`, `${A2}:ok`]);
    throttle = false;
    // During the cooldown A1 is passed over without a request.
    const during = await c.executor.run(c.request(), script);
    expect(during.route.key).toBe(A2);
    expect(during.attempts[0]).toMatchObject({ route: A1, outcome: 'cooldown' });
    c.clock.advance(5000);
    const after = await c.executor.run(c.request(), script);
    expect(after.route.key).toBe(A1);
  });

  it('skips an account without headroom before the provider throttles it', async () => {
    const c = core(twoAccountsAndFallback({ limits: { '*': { rpm: 2 } } }));
    const calls: Record<string, number> = {};
    for (let i = 0; i < 5; i++) {
      const a = await c.executor.run(c.request(), (route) => {
        calls[route.key] = (calls[route.key] ?? 0) + 1;
        return ok(route);
      });
      a.settle(50);
    }
    expect(calls[A1]).toBe(2);
    expect(calls[A2]).toBe(2);
    expect(calls[B]).toBe(1);
  });

  it('quota spent for long parks the route', async () => {
    const c = core(twoAccountsAndFallback());
    c.stats.get(A2).completeMs.add(10_000);
    await c.executor.run(c.request(), (route) => (route.key === A1 ? fail('quota_exhausted', { status: 429 }) : ok(route)));
    c.clock.advance(60_000);
    expect(c.quota.peek(A1, {}).cooldownReason).toBe('quota exhausted');
    c.clock.advance(5 * 60_000);
    expect(c.quota.peek(A1, {}).cooldownUntil).toBeUndefined();
  });

  it('refused: no retry and no fallback; the verdict goes back', async () => {
    const c = core(twoAccountsAndFallback());
    let calls = 0;
    const err = await c.executor
      .run(c.request(), () => {
        calls++;
        return fail('refused', { status: 400, code: 'content_filter' });
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(AllRoutesFailed);
    expect((err as AllRoutesFailed).last?.code).toBe('content_filter');
  });

  it('context length: never the same model again; a fallback with a larger context if configured', async () => {
    const c = core(twoAccountsAndFallback({ contextA: 8000, contextB: 128000 }));
    const seen: string[] = [];
    const a = await c.executor.run(c.request(), (route) => {
      seen.push(route.key);
      return route.model === 'm-small' ? fail('context_length', { status: 400 }) : ok(route);
    });
    expect(seen).toHaveLength(2);
    expect(a.route.key).toBe(B);

    const small = core(twoAccountsAndFallback({ contextA: 8000, contextB: 4000 }));
    const tried: string[] = [];
    const err = await small.executor
      .run(small.request(), (route) => {
        tried.push(route.key);
        return fail('context_length', { status: 400 });
      })
      .catch((e: unknown) => e);
    expect(tried).toHaveLength(1);
    expect((err as AllRoutesFailed).last?.failure).toBe('context_length');
  });

  it('silent: a route that does not answer within the timeout is left for another', async () => {
    const c = core(twoAccountsAndFallback());
    c.stats.get(A2).completeMs.add(10_000);
    const a = await c.executor.run(c.request(), (route, attempt) => (route.key === A1 ? new Promise<never>((_, reject) => attempt.onAbort(reject)) : ok(route)));
    expect(a.attempts[0]).toMatchObject({ route: A1, outcome: 'silent' });
    expect(a.route.key).toBe(A2);
  });

  it('gives the only route one quick retry after a transient failure', async () => {
    const c = core({
      providers: [{ id: 'p', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'r' }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'p', model: 'm' }] }],
    });
    let n = 0;
    const a = await c.executor.run(c.request(), (route) => (++n === 1 ? fail('transient', { status: 502 }) : ok(route)));
    expect(n).toBe(2);
    expect(a.attempts.map((x) => x.outcome)).toEqual(['transient', 'ok']);
    let m = 0;
    await expect(c.executor.run(c.request(), () => (++m, fail('transient', { status: 502 })))).rejects.toBeInstanceOf(AllRoutesFailed);
    expect(m).toBe(2); // one retry only
  });

  it('ejects a failing route, then answers fast listing the attempts when nothing can serve', async () => {
    const c = core(twoAccountsAndFallback());
    const down = () => fail('transient', { status: 503 });
    for (let i = 0; i < 3; i++) await c.executor.run(c.request(), down).catch(() => undefined);
    let calls = 0;
    const err = (await c.executor
      .run(c.request(), () => {
        calls++;
        return down();
      })
      .catch((e: unknown) => e)) as AllRoutesFailed;
    expect(calls).toBe(0);
    expect(err.attempts.map((a) => a.outcome)).toEqual(['ejected', 'ejected', 'ejected']);
    expect(err.message).toContain(`${B}: ejected`);
  });

  it('probes an ejected route with one request at a time and returns to it on success', async () => {
    const c = core(twoAccountsAndFallback());
    for (let i = 0; i < 3; i++) c.stats.get(A1).circuit.onFailure();
    expect(c.stats.get(A1).circuit.state()).toBe('open');
    c.clock.advance(1000);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    const probe = c.executor.run(c.request(), async (route) => {
      seen.push(route.key);
      if (route.key === A1) await gate;
      return ok(route);
    });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([A1]); // the half-open route goes first: it is the probe
    const other = await c.executor.run(c.request(), (route) => ok(route));
    expect(other.route.key).not.toBe(A1); // no second probe while one is out
    release();
    expect((await probe).route.key).toBe(A1);
    expect(c.stats.get(A1).circuit.state()).toBe('closed');
  });

  it('waits out a short Retry-After on the only route when the deadline allows', async () => {
    const c = core(
      {
        providers: [{ id: 'p', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'r' }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'p', model: 'm' }] }],
      },
      { clock: systemClock },
    );
    let n = 0;
    const a = await c.executor.run(c.request(), (route) => (++n === 1 ? fail('throttled', { status: 429, retryAfterMs: 50 }) : ok(route)));
    expect(n).toBe(2);
    expect(a.attempts.map((x) => x.outcome)).toEqual(['throttled', 'ok']);
    // A Retry-After longer than the deadline is not waited for.
    n = 0;
    const err = await c.executor
      .run(c.request('chat', { deadline: Date.now() + 2000 }), (route) => (++n === 1 ? fail('throttled', { status: 429, retryAfterMs: 30_000 }) : ok(route)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllRoutesFailed);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const c = core(twoAccountsAndFallback(), { budget: { ratio: 0, minPerWindow: 1, windowMs: 10_000 } });
    const err = (await c.executor.run(c.request(), () => fail('transient', { status: 500 })).catch((e: unknown) => e)) as AllRoutesFailed;
    expect(err.attempts.map((a) => a.outcome)).toEqual(['transient', 'transient', 'budget']);
  });

  it('spreads load but sends most traffic to the fast region', async () => {
    const c = core({
      providers: [{ id: 'p', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'fast' }, { region: 'slow' }] }] }],
      models: [{ name: 'chat', targets: [{ provider: 'p', model: 'm' }] }],
    });
    const firstChoices = (fastMs: number, slowMs: number) => {
      c.stats.get('p/a/fast/m').completeMs.value = fastMs;
      c.stats.get('p/a/slow/m').completeMs.value = slowMs;
      const counts: Record<string, number> = { fast: 0, slow: 0 };
      for (let i = 0; i < 1000; i++) counts[c.selector.select(c.table.get('chat')!, false).groups[0][0].endpoint.region]++;
      return counts;
    };
    const slower = firstChoices(50, 200);
    expect(slower.fast).toBeGreaterThan(850);
    expect(slower.slow).toBeGreaterThan(0); // a trickle keeps its estimate fresh
    const equal = firstChoices(100, 100);
    expect(equal.fast).toBeGreaterThan(400); // equal routes share the load
    expect(equal.slow).toBeGreaterThan(400);
    expect(firstChoices(5, 5000).slow).toBeLessThan(3); // a far worse one gets next to nothing
  });

  it('prefers the account with more quota headroom', async () => {
    const c = core(twoAccountsAndFallback({ limits: { '*': { rpm: 100 } } }));
    for (let i = 0; i < 80; i++) await c.quota.reserve(A1, { rpm: 100 }, 1);
    let a2 = 0;
    for (let i = 0; i < 100; i++) if (c.selector.select(c.table.get('chat')!, false).groups[0][0].key === A2) a2++;
    expect(a2).toBeGreaterThan(90);
  });

  it('a probe answered with a verdict on the request frees the route at once (it answered)', async () => {
    const c = core(twoAccountsAndFallback());
    for (let i = 0; i < 3; i++) c.stats.get(A1).circuit.onFailure();
    c.clock.advance(1000);
    c.stats.get(A2).completeMs.add(10_000);
    await c.executor.run(c.request(), (route) => (route.key === A1 ? fail('refused', { status: 400 }) : ok(route))).catch(() => undefined);
    expect(c.stats.get(A1).circuit.state()).toBe('closed');
    const next = await c.executor.run(c.request(), (route) => ok(route));
    expect(next.attempts.some((a) => a.route === A1 && a.outcome === 'ejected')).toBe(false);
  });

  it('a 401 from one account ejects that route and fails over; it is not a verdict on the request', async () => {
    const c = core(twoAccountsAndFallback());
    c.stats.get(A2).completeMs.add(10_000);
    const a = await c.executor.run(c.request(), (route) => (route.key === A1 ? fail('refused', { status: 401 }) : ok(route)));
    expect(a.route.key).toBe(A2);
    expect(c.stats.get(A1).circuit.state()).toBe('open');
  });
});
