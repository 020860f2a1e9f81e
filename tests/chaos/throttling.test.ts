/**
 * Account A answers 429 (Bedrock ThrottlingException through the real AWS SDK, and
 * OpenAI's rate_limit_exceeded with Retry-After): traffic moves to account B at once with
 * no 429 reaching the client, A is left alone while it cools down, and traffic goes back
 * to A once its cooldown is over. B is the slower account (150 ms more), so A is the
 * selector's choice whenever it can serve and "back to A" is visible in the routes.
 */
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import type { Fault } from '../fakes/fault';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { ask, countBy, failures, runLoad, sleep, type Outcome } from './load';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';

interface Account {
  /** Chat requests this account's endpoint received. */
  received(): number;
  throttle(fault: Fault | undefined): void;
}

interface Setup {
  gw: TestGateway;
  a: Account;
  b: Pick<Account, 'received'>;
  routeA: string;
  routeB: string;
  throttled: Fault;
}

/** Calls, two at a time, until one is served by `route`; at most `maxPairs` pairs. */
async function untilServedBy(gw: TestGateway, route: string, maxPairs: number, seen: Outcome[]): Promise<boolean> {
  for (let n = 0; n < maxPairs; n++) {
    const pair = await Promise.all([ask(gw.client, 2 * n), ask(gw.client, 2 * n + 1)]);
    seen.push(...pair);
    if (pair.some((o) => o.route === route)) return true;
    await sleep(50);
  }
  return false;
}

async function scenario(setup: Setup): Promise<void> {
  const { gw, a, b, routeA, routeB } = setup;

  // While all is well, the faster account A takes most of the traffic.
  const warm = await runLoad(4, 20, (i) => ask(gw.client, i, { stream: i % 2 === 0 }));
  expect(failures(warm)).toEqual([]);
  expect(countBy(warm, (o) => o.route)[routeA]).toBeGreaterThan(10);

  // A throttles: the next request asks A first, hears 429 and is answered by B at once.
  a.throttle(setup.throttled);
  let first: Outcome | undefined;
  for (let i = 0; i < 20 && first?.attempts !== 2; i++) first = await ask(gw.client, i);
  expect(first).toMatchObject({ ok: true, route: routeB, attempts: 2 });
  const health = await healthOf(gw.url);
  const stateA = health.routes.find((r) => r.route === routeA);
  expect(stateA?.state).toBe('cooldown');
  // A short cooldown, as the provider said (Retry-After: 1), not a long parking.
  expect(Date.parse(stateA?.until ?? '') - Date.now()).toBeLessThanOrEqual(1_500);

  // Under load B takes everything, no client sees a 429, A is asked about once per cooldown.
  const aBefore = a.received();
  const bBefore = b.received();
  const during = await runLoad(4, 24, (i) => ask(gw.client, i, { stream: i % 2 === 0 }));
  expect(failures(during)).toEqual([]);
  expect(countBy(during, (o) => o.route)).toEqual({ [routeB]: 24 });
  expect(during.every((o) => (o.attempts ?? 0) <= 2)).toBe(true);
  expect(b.received() - bBefore).toBe(24);
  expect(a.received() - aBefore).toBeLessThan(12); // not once per request: a few each time its cooldown ends

  // A recovers: once its cooldown is over it is asked again, and serves.
  a.throttle(undefined);
  const recovery: Outcome[] = [];
  expect(await untilServedBy(gw, routeA, 60, recovery)).toBe(true);
  expect(failures(recovery)).toEqual([]);

  const after = await runLoad(4, 24, (i) => ask(gw.client, i, { stream: i % 2 === 0 }));
  expect(failures(after)).toEqual([]);
  expect(countBy(after, (o) => o.route)[routeA] ?? 0).toBeGreaterThan(12);
  expect(after.filter((o) => o.attempts !== 1)).toEqual([]);
}

const BEDROCK_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

function bedrockConfig(a: FakeBedrock, b: FakeBedrock): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'br',
        type: 'bedrock',
        accounts: [
          { id: 'acct-a', endpoints: [{ region: 'us-east-1', url: a.url }] },
          { id: 'acct-b', endpoints: [{ region: 'us-east-1', url: b.url }] },
        ],
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'br', model: BEDROCK_MODEL }] }],
  };
}

describe('account A throttled, account B fine', () => {
  useFakeAwsCredentials();

  it('Bedrock ThrottlingException: moves to B with no client 429, back to A after its cooldown', async () => {
    const fa: FakeBedrock = await startFakeBedrock({ reply: { text: 'Answer from account A.' } });
    const fb: FakeBedrock = await startFakeBedrock({ reply: { text: 'Answer from account B.' } });
    const slowB: Fault = { kind: 'delay', ms: 150 };
    fb.always = slowB;
    const gw = await startGateway(bedrockConfig(fa, fb), 'all-in-one', { probes: false });
    try {
      await scenario({
        gw,
        a: { received: () => fa.requests.length, throttle: (f) => void (fa.always = f) },
        b: { received: () => fb.requests.length },
        routeA: `br/acct-a/us-east-1/${BEDROCK_MODEL}`,
        routeB: `br/acct-b/us-east-1/${BEDROCK_MODEL}`,
        throttled: { kind: 'status', status: 429, headers: { 'retry-after': '1' } }, // ThrottlingException
      });
      expect(fa.requests.every((r) => r.headers.authorization?.toString().startsWith('AWS4-HMAC-SHA256'))).toBe(true);
    } finally {
      await gw.close();
      await fa.close();
      await fb.close();
    }
  });

  it('OpenAI 429 rate_limit_exceeded with Retry-After: 1: moves to B with no client 429, back to A after 1 s', async () => {
    const fa: FakeOpenAI = await startFakeOpenAI({ reply: 'Answer from account A.' });
    const fb: FakeOpenAI = await startFakeOpenAI({ reply: 'Answer from account B.', latencyMs: 150 });
    const chats = (f: FakeOpenAI) => () => f.requests.filter((r) => r.path === '/v1/chat/completions').length;
    const gw = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'acct-a', endpoints: [{ region: 'us', url: fa.url }] },
              { id: 'acct-b', endpoints: [{ region: 'us', url: fb.url }] },
            ],
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] }],
      },
      'all-in-one',
      { probes: false },
    );
    try {
      await scenario({
        gw,
        a: { received: chats(fa), throttle: (f) => void (fa.always = f) },
        b: { received: chats(fb) },
        routeA: 'oa/acct-a/us/gpt-x',
        routeB: 'oa/acct-b/us/gpt-x',
        // The fake sends OpenAI's headers with it: retry-after: 1, x-ratelimit-remaining-requests: 0.
        throttled: { kind: 'status', status: 429, code: 'rate_limit_exceeded' },
      });
    } finally {
      await gw.close();
      await fa.close();
      await fb.close();
    }
  });

  // BUG (runtime/src/routing/executor.ts, AttemptExecutor.tryRoute, case 'throttled'): the
  // throttle streak grows once per 429 response, so N requests throttled in the same burst
  // park the account for 2^(N-1) s (8-16 s here, up to 60 s) instead of the 1 s first guess.
  it('a burst throttled at once cools A down for one first guess, not one doubling per response', async () => {
    // Bedrock sends no Retry-After: the gateway guesses (1 s first, doubling when A throttles again).
    const fa = await startFakeBedrock({ reply: { text: 'Answer from account A.' } });
    const fb = await startFakeBedrock({ reply: { text: 'Answer from account B.' } });
    fb.always = { kind: 'delay', ms: 150 };
    const gw = await startGateway(bedrockConfig(fa, fb), 'all-in-one', { probes: false });
    try {
      await runLoad(4, 8, (i) => ask(gw.client, i)); // A measured faster than B
      fa.always = { kind: 'status', status: 429 };
      const before = fa.requests.length;
      const burst = await runLoad(8, 8, (i) => ask(gw.client, i));
      expect(failures(burst)).toEqual([]);
      const throttledAtOnce = fa.requests.length - before;
      expect(throttledAtOnce).toBeGreaterThan(1); // the burst really hit A several times at once

      const health = await healthOf(gw.url);
      const stateA = health.routes.find((r) => r.route === `br/acct-a/us-east-1/${BEDROCK_MODEL}`);
      expect(stateA?.state).toBe('cooldown');
      // One throttling episode: the first guess (1 s), however many of its requests were in flight.
      expect(Date.parse(stateA?.until ?? '') - Date.now()).toBeLessThanOrEqual(1_500);
    } finally {
      await gw.close();
      await fa.close();
      await fb.close();
    }
  });
});
