/**
 * Provider keys from Secrets Manager, end to end: a gateway whose OpenAI and Anthropic
 * accounts name a secretArn, the real AWS SDK against a fake Secrets Manager, and fake
 * providers that check the key.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import type { RequestEvent } from '../../runtime/src/observability/events';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startFakeSecretsManager, type FakeSecretsManager } from '../fakes/secrets-manager';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import type { ErrorBody } from '../helpers/gateway';

const OPENAI_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-key-AbCdEf';
const ANTHROPIC_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:anthropic-key-XyZ123';
const FAKE_AWS = { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-aws-secret' };
const TTL = 60_000;
const KEY_1 = 'sk-proj-FIRST-key-0000000000000000000001';
const KEY_2 = 'sk-proj-ROTATED-key-000000000000000000002';

let sm: FakeSecretsManager;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic | undefined;
let gw: TestGateway | undefined;
let t: number;

function config(): GatewayConfigInput {
  const providers: GatewayConfigInput['providers'] = [
    { id: 'oa', type: 'openai', accounts: [{ id: 'acct', credentials: { secretArn: OPENAI_ARN }, endpoints: [{ region: 'us', url: openai.url }] }] },
  ];
  const models: GatewayConfigInput['models'] = [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-4o-mini' }] }];
  if (anthropic) {
    providers.push({
      id: 'an',
      type: 'anthropic',
      accounts: [{ id: 'acct', credentials: { secretArn: ANTHROPIC_ARN, field: 'anthropic' }, endpoints: [{ region: 'eu', url: anthropic.url }] }],
    });
    models.push({ name: 'claude', targets: [{ provider: 'an', model: 'claude-sonnet-4-5' }] });
  }
  return { providers, models };
}

async function start(): Promise<TestGateway> {
  gw = await startGateway(config(), 'all-in-one', { probes: false, secrets: { endpoint: sm.url, credentials: FAKE_AWS, ttlMs: TTL, now: () => t } });
  return gw;
}

const ask = (model = 'chat') => gw!.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
const bearerOf = (i: number) => openai.requests[i]?.headers.authorization;

beforeEach(async () => {
  t = 5_000_000;
  sm = await startFakeSecretsManager();
  openai = await startFakeOpenAI({ apiKey: KEY_1 });
  anthropic = undefined;
});

afterEach(async () => {
  await gw?.close();
  gw = undefined;
  await Promise.all([sm.close(), openai.close(), anthropic?.close()]);
});

test('the key is read once and cached: many requests, one GetSecretValue', async () => {
  sm.put(OPENAI_ARN, KEY_1);
  await start();
  await Promise.all(Array.from({ length: 5 }, () => ask()));
  for (let i = 0; i < 5; i++) await ask();
  expect(sm.served()).toBe(1);
  expect(openai.requests).toHaveLength(10);
  expect(openai.requests.every((r) => r.headers.authorization === `Bearer ${KEY_1}`)).toBe(true);
});

test('a rotated secret is used once the TTL is over, without a failed request', async () => {
  sm.put(OPENAI_ARN, KEY_1);
  await start();
  await ask();
  // Rotation: the secret and the provider change together.
  sm.put(OPENAI_ARN, KEY_2);
  openai.options.apiKey = KEY_2;
  t += TTL;
  const answer = await ask();
  expect(answer.choices[0].message.content).toBeTruthy();
  expect(bearerOf(1)).toBe(`Bearer ${KEY_2}`);
  expect(openai.requests).toHaveLength(2);
  expect(sm.served()).toBe(2);
});

test('a 401 from the provider reads the secret again and retries once with the rotated key', async () => {
  sm.put(OPENAI_ARN, KEY_1);
  await start();
  await ask();
  // The provider revoked the old key before our TTL ran out.
  sm.put(OPENAI_ARN, KEY_2);
  openai.options.apiKey = KEY_2;
  const answer = await ask();
  expect(answer.choices[0].message.content).toBeTruthy();
  expect([bearerOf(1), bearerOf(2)]).toEqual([`Bearer ${KEY_1}`, `Bearer ${KEY_2}`]);
  expect(sm.served()).toBe(2);
  // From now on the new key goes first time.
  await ask();
  expect(bearerOf(3)).toBe(`Bearer ${KEY_2}`);
  expect(openai.requests).toHaveLength(4);
  expect(sm.served()).toBe(2);
});

test('a 401 with an unchanged secret is not retried, and the key is not in the answer', async () => {
  sm.put(OPENAI_ARN, 'sk-proj-WRONG-key-99999999999999999999');
  await start();
  const events: RequestEvent[] = [];
  gw!.gateway.events.subscribe((e) => {
    if (e.type === 'request') events.push(e);
  });
  const res = await postJson(`${gw!.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
  const text = await res.text();
  expect(res.status).toBe(502);
  expect((JSON.parse(text) as ErrorBody).error.code).toBe('invalid_api_key');
  expect(text).not.toContain('WRONG-key');
  expect(openai.requests).toHaveLength(1); // the refresh found the same value: no second call
  expect(sm.served()).toBe(2);
  await until(() => events.length > 0);
  expect(events).toHaveLength(1);
});

test('a missing secret: the account cannot serve, and the error names the ARN', async () => {
  await start();
  const res = await postJson(`${gw!.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
  const body = (await res.json()) as { error: { message: string } };
  expect(res.status).toBeGreaterThanOrEqual(500);
  expect(body.error.message).toContain(OPENAI_ARN);
  expect(body.error.message).toContain('ResourceNotFoundException');
  expect(openai.requests).toHaveLength(0);
});

test('Anthropic: a JSON secret with a configured field, and the same one retry after a 401', async () => {
  anthropic = await startFakeAnthropic();
  sm.put(OPENAI_ARN, KEY_1);
  sm.put(ANTHROPIC_ARN, JSON.stringify({ anthropic: 'sk-ant-revoked-key', other: 'x' }));
  await start();
  await expect(ask('claude')).rejects.toMatchObject({ status: 502 });
  expect(anthropic.requests).toHaveLength(1);
  sm.put(ANTHROPIC_ARN, JSON.stringify({ anthropic: anthropic.apiKey, other: 'x' }));
  // The 401 ejected the route (our key was wrong); it is probed again after the ejection.
  let answer: Awaited<ReturnType<typeof ask>> | undefined;
  for (let i = 0; i < 30 && !answer; i++) {
    answer = await ask('claude').catch(async () => {
      await new Promise((r) => setTimeout(r, 100));
      return undefined;
    });
  }
  if (!answer) throw new Error('the route did not recover after the key was rotated');
  expect(answer.choices[0].message.content).toBeTruthy();
  expect(anthropic.requests.map((r) => r.headers['x-api-key'])).toEqual(['sk-ant-revoked-key', 'sk-ant-revoked-key', anthropic.apiKey]);
  // Both regions were asked with their own signature scope.
  expect(new Set(sm.requests.map((r) => r.signedRegion))).toEqual(new Set(['eu-west-1']));
});
