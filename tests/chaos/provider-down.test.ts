/**
 * A whole provider down: both endpoints of the primary provider fail (one resets every
 * connection, the other answers 503). The model fallback on another provider (Bedrock,
 * through the real AWS SDK) serves every request, the client sees no error, and the
 * answers name the model that actually answered.
 */
import { startFakeBedrock, type FakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { ask, countBy, failures, runLoad } from './load';
import { useFakeAwsCredentials } from '../helpers/aws-credentials';

const FALLBACK_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const FALLBACK = `br/backup/us-west-2/${FALLBACK_MODEL}`;
const FALLBACK_TEXT = 'The fallback provider answers while the primary is down.';

describe('a whole provider down', () => {
  useFakeAwsCredentials();
  let east: FakeOpenAI;
  let west: FakeOpenAI;
  let bedrock: FakeBedrock;
  let gw: TestGateway;
  const chats = (f: FakeOpenAI) => f.requests.filter((r) => r.path === '/v1/chat/completions').length;

  beforeAll(async () => {
    east = await startFakeOpenAI();
    west = await startFakeOpenAI();
    bedrock = await startFakeBedrock({ reply: { text: FALLBACK_TEXT } });
    gw = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'acct-1', endpoints: [{ region: 'east', url: east.url }] },
              { id: 'acct-2', endpoints: [{ region: 'west', url: west.url }] },
            ],
          },
          { id: 'br', type: 'bedrock', accounts: [{ id: 'backup', endpoints: [{ region: 'us-west-2', url: bedrock.url }] }] },
        ],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'oa', model: 'gpt-x' },
              { provider: 'br', model: FALLBACK_MODEL },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await east.close();
    await west.close();
    await bedrock.close();
  });

  it('serves from the model fallback with zero client errors', async () => {
    const healthy = await ask(gw.client, 0);
    expect(healthy.route).toMatch(/^oa\//); // the primary serves while it is up

    east.always = { kind: 'reset' };
    west.always = { kind: 'status', status: 503 };
    const outcomes = await runLoad(5, 60, (i) => ask(gw.client, i, { stream: i % 2 === 0 }));

    expect(failures(outcomes)).toEqual([]);
    expect(countBy(outcomes, (o) => o.route)).toEqual({ [FALLBACK]: 60 });
    expect(countBy(outcomes, (o) => o.model)).toEqual({ [FALLBACK_MODEL]: 60 });
    expect(outcomes.every((o) => o.text === FALLBACK_TEXT)).toBe(true);
    // Both primary routes are ejected after a few failures: most requests go straight to the fallback.
    expect(outcomes.filter((o) => o.attempts === 1).length).toBeGreaterThan(30);
    const health = await healthOf(gw.url);
    const primary = health.routes.filter((r) => r.route.startsWith('oa/'));
    expect(primary.map((r) => r.state)).not.toContain('healthy');
    expect(health.status).toBe('ok');
    expect(chats(east) + chats(west)).toBeLessThan(30);
  });
});
