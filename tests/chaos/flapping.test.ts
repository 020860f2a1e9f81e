/**
 * A route that flaps down and up. While the primary endpoint is dead (its listener
 * closed), the model fallback serves with no client error. When it comes back, its
 * circuit lets one probe request through at a time and closes on the first success, so
 * the primary is used again within seconds of its recovery.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { ask, countBy, failures, sleep, type Outcome } from './load';

const PRIMARY = 'oa/acct/east/gpt-x';
const FALLBACK = 'fb/acct/west/gpt-y';

/** `workers` concurrent loops calling until `stop()` says so (checked between calls), at most `maxCalls` in all. */
async function callUntil(gw: TestGateway, workers: number, maxCalls: number, stop: () => boolean): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let n = 0;
  const worker = async () => {
    while (!stop() && n < maxCalls) {
      out.push(await ask(gw.client, n++));
      await sleep(10);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}

describe('a route that flaps down and up', () => {
  let primary: FakeOpenAI;
  let fallback: FakeOpenAI;
  let gw: TestGateway;

  beforeEach(async () => {
    primary = await startFakeOpenAI();
    fallback = await startFakeOpenAI();
    gw = await startGateway(
      {
        server: { requestTimeoutMs: 20_000 },
        providers: [
          { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'east', url: primary.url }] }] },
          { id: 'fb', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'west', url: fallback.url }] }] },
        ],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'oa', model: 'gpt-x' },
              { provider: 'fb', model: 'gpt-y' },
            ],
          },
        ],
      },
      'all-in-one',
      // Passive health only: recovery has to come through the circuit's probe requests.
      { probes: false },
    );
  });
  afterEach(async () => {
    await gw.close();
    await primary.close();
    await fallback.close();
  });

  it('serves from the fallback while down, is back on the primary within seconds, one probe at a time', async () => {
    expect((await ask(gw.client, 0)).route).toBe(PRIMARY);

    // Down for about 1.5 s under light load: every request is served, by the fallback.
    await primary.kill();
    const downSince = Date.now();
    const whileDown = await callUntil(gw, 2, 400, () => Date.now() - downSince > 1_500);
    expect(failures(whileDown)).toEqual([]);
    expect(countBy(whileDown, (o) => o.route)).toEqual({ [FALLBACK]: whileDown.length });
    expect(whileDown.filter((o) => o.attempts === 1).length).toBeGreaterThan(whileDown.length / 2); // ejected, not tried each time

    // Back up, slow (200 ms an answer) so that overlapping requests would show at the fake.
    primary.options.latencyMs = 200;
    const arrivals: Array<{ inFlight: number; answeredBefore: number }> = [];
    primary.options.onChatRequest = (inFlight) => arrivals.push({ inFlight, answeredBefore: primary.answered() });
    await primary.revive();
    const answeredAtRevival = primary.answered();
    const afterUp = await callUntil(gw, 6, 2_000, () => primary.answered() - answeredAtRevival >= 12);

    expect(failures(afterUp)).toEqual([]);
    expect(primary.answered() - answeredAtRevival).toBeGreaterThanOrEqual(12); // used again, well within the call bound
    // Half-open: until the first probe answered, never more than one request at the primary.
    const probing = arrivals.filter((a) => a.answeredBefore === answeredAtRevival);
    expect(probing.length).toBeGreaterThanOrEqual(1);
    expect(probing.map((a) => a.inFlight)).toEqual(probing.map(() => 1));
    // Closed again: the primary takes the load at once, many requests at a time.
    expect(Math.max(...arrivals.map((a) => a.inFlight))).toBeGreaterThan(1);
    expect(gw.gateway.stats.get(PRIMARY).circuit.state()).toBe('closed');
  });

  // BUG (runtime/src/health/circuit.ts, Circuit.onFailure): a failure while the circuit is
  // already open is taken for a failed probe even when the request started before the
  // ejection, so each request in flight at the moment of a kill doubles the ejection time.
  // With 10 in flight the route is ejected for the 10 s maximum instead of the 1 s base.
  it('a kill with many requests in flight ejects for the base time, not once more per in-flight failure', async () => {
    primary.options.latencyMs = 300;
    const inFlight = Array.from({ length: 10 }, (_, i) => ask(gw.client, i));
    for (let i = 0; i < 100 && primary.inFlight() < 10; i++) await sleep(10);
    expect(primary.inFlight()).toBe(10);
    const killedAt = Date.now();
    await primary.kill();
    const outcomes = await Promise.all(inFlight);
    expect(failures(outcomes)).toEqual([]);
    expect(countBy(outcomes, (o) => o.route)).toEqual({ [FALLBACK]: 10 });
    const state = (await healthOf(gw.url)).routes.find((r) => r.route === PRIMARY);
    expect(state?.state).toBe('ejected');
    expect(Date.parse(state?.until ?? '') - killedAt).toBeLessThanOrEqual(1_500); // the first ejection: 1 s
  });
});
