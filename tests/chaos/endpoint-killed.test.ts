/**
 * An endpoint killed in the middle of steady load: 20 concurrent clients, two equivalent
 * regional endpoints, one of them stops listening and loses every open socket. No client
 * sees an error, and once the kill is known no request is sent to the dead endpoint.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { ask, countBy, failures, runLoad, type Outcome } from './load';

const REPLY = 'Steady load keeps flowing while one of the two regions dies under it.';
const EAST = 'oa/acct/east/gpt-x';
const WEST = 'oa/acct/west/gpt-x';

describe('an endpoint killed under steady load', () => {
  let east: FakeOpenAI;
  let west: FakeOpenAI;
  let gw: TestGateway;

  beforeAll(async () => {
    // Streams take a few ms chunk by chunk, so the kill also cuts some of them mid-answer.
    east = await startFakeOpenAI({ reply: REPLY, latencyMs: 10, chunks: 8, chunkDelayMs: 3 });
    west = await startFakeOpenAI({ reply: REPLY, latencyMs: 10, chunks: 8, chunkDelayMs: 3 });
    gw = await startGateway({
      server: { requestTimeoutMs: 20_000 },
      providers: [
        {
          id: 'oa',
          type: 'openai-compatible',
          accounts: [
            {
              id: 'acct',
              endpoints: [
                { region: 'east', url: east.url },
                { region: 'west', url: west.url },
              ],
            },
          ],
        },
      ],
      models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] }],
    });
  });
  afterAll(async () => {
    await gw.close();
    await east.close();
    await west.close();
  });

  it('loses no request, and sends nothing more to the dead endpoint once it is known dead', async () => {
    const TOTAL = 300;
    const KILL_AFTER = 100;
    let completed = 0;
    let killed: Promise<void> | undefined;
    /** For each call: how many calls had completed when it started. */
    const startedAfter: number[] = [];
    const outcomes = await runLoad(20, TOTAL, async (i): Promise<Outcome> => {
      startedAfter[i] = completed;
      const o = await ask(gw.client, i, { stream: i % 3 === 0 });
      completed++;
      if (completed === KILL_AFTER) killed = east.kill();
      return o;
    });
    await killed;

    expect(failures(outcomes)).toEqual([]);
    // Streams cut by the kill were continued elsewhere: every answer is whole.
    expect(outcomes.filter((o) => o.text !== REPLY).map((o) => o.i)).toEqual([]);

    const before = outcomes.filter((o) => startedAfter[o.i] < KILL_AFTER - 20);
    expect(countBy(before, (o) => o.route)[EAST]).toBeGreaterThan(0); // both served before the kill

    // Well after the kill: one attempt each, all on the live endpoint.
    const late = outcomes.filter((o) => startedAfter[o.i] >= KILL_AFTER + 40);
    expect(late.length).toBeGreaterThan(100);
    expect(countBy(late, (o) => `${o.route} x${o.attempts}`)).toEqual({ [`${WEST} x1`]: late.length });

    // The failovers the kill caused are few: the requests in flight then, and a handful more.
    const retried = outcomes.filter((o) => (o.attempts ?? 1) > 1);
    expect(retried.length).toBeLessThanOrEqual(40);

    const health = await healthOf(gw.url);
    const eastHealth = health.routes.find((r) => r.route === EAST);
    expect(eastHealth?.state).toBe('down');
    expect(eastHealth?.probe).toMatch(/ECONNREFUSED/);
    expect(health.status).toBe('ok');
  });

  it('keeps the dead endpoint out: a later burst sends it nothing and needs no failover', async () => {
    const burst = await runLoad(20, 100, (i) => ask(gw.client, i));
    expect(failures(burst)).toEqual([]);
    expect(countBy(burst, (o) => `${o.route} x${o.attempts}`)).toEqual({ [`${WEST} x1`]: 100 });
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
  });
});
