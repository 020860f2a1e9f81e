/**
 * One region slow: two endpoints of one account, one answering in 5 ms and one in 300 ms.
 * After a short warm-up most traffic goes to the fast one, for whole answers and for
 * streams (time to first chunk), while the slow one still serves: it is slow, not broken.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { ask, countBy, failures, runLoad } from './load';

const FAST = 'oa/acct/fast/gpt-x';
const SLOW = 'oa/acct/slow/gpt-x';

describe('one region slow', () => {
  let fast: FakeOpenAI;
  let slow: FakeOpenAI;
  let gw: TestGateway;
  beforeEach(async () => {
    fast = await startFakeOpenAI({ latencyMs: 5 });
    slow = await startFakeOpenAI({ latencyMs: 300 });
    gw = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              {
                id: 'acct',
                endpoints: [
                  { region: 'fast', url: fast.url },
                  { region: 'slow', url: slow.url },
                ],
              },
            ],
          },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] }],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterEach(async () => {
    await gw.close();
    await fast.close();
    await slow.close();
  });

  it.each([
    ['whole answers', false],
    ['streams', true],
  ])('%s: more than 80%% of the traffic goes to the fast region after warm-up', async (_name, stream) => {
    const warmUp = 10;
    const outcomes = await runLoad(4, 110, (i) => ask(gw.client, i, { stream }));
    expect(failures(outcomes)).toEqual([]);
    const measured = outcomes.slice(warmUp);
    const perRoute = countBy(measured, (o) => o.route);
    expect(perRoute[FAST] ?? 0).toBeGreaterThan(0.8 * measured.length);
    // Slow is not failed: no request needed a second attempt.
    expect(outcomes.every((o) => o.attempts === 1)).toBe(true);
    expect(gw.gateway.stats.get(SLOW).failures).toBe(0);
    expect(gw.gateway.stats.get(SLOW).circuit.state()).toBe('closed');
  });
});
