/** The `guardrails` config: checked at load, errors naming the key path. */
import { ConfigError, parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';

const base: GatewayConfigInput = {
  providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'local' }] }] }],
  models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'm' }] }],
  tenants: [{ id: 'team-a', keys: [`sha256:${'a'.repeat(64)}`] }],
};

function errorOf(guardrails: unknown): string {
  try {
    parseConfig({ ...base, guardrails });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

test('a valid guardrails list gets its defaults', () => {
  const config = parseConfig({
    ...base,
    guardrails: [
      { id: 'pii', local: { mask: ['email', 'card'] } },
      { id: 'bedrock', models: ['chat'], tenants: ['team-a'], bedrock: { guardrailId: 'gr-1', version: 'DRAFT', region: 'us-east-1' } },
    ],
  });
  expect(config.guardrails[0]).toEqual({ id: 'pii', local: { deny: [], mask: ['email', 'card'] }, onError: 'block' });
  expect(config.guardrails[1].bedrock).toEqual({ guardrailId: 'gr-1', version: 'DRAFT', region: 'us-east-1', timeoutMs: 5000 });
  expect(parseConfig(base).guardrails).toEqual([]);
});

test('a deny pattern that is not a regular expression fails at load, at its path', () => {
  expect(errorOf([{ id: 'g', local: { deny: ['fine', 'broken(['] } }])).toMatch(/guardrails\.0\.local\.deny\.1: not a valid regular expression: /);
});

test('unknown models and tenants, duplicates, unknown mask kinds, bad versions and empty guardrails are named', () => {
  const message = errorOf([
    { id: 'g', models: ['nope'], tenants: ['team-z'], local: { mask: ['ssn'] } },
    { id: 'g', bedrock: { guardrailId: 'x', version: 'latest', region: 'us-east-1' } },
    { id: 'empty' },
  ]);
  expect(message).toMatch(/guardrails\.0\.local\.mask\.0: /);
  expect(message).toMatch(/guardrails\.1\.bedrock\.version: DRAFT or a version number/);
  expect(message).toMatch(/guardrails\.2: a guardrail needs local rules, bedrock, or both/);
  // Cross-references are checked once each guardrail parses.
  const refs = errorOf([
    { id: 'g', models: ['nope'], tenants: ['team-z'], local: { deny: ['x'] } },
    { id: 'g', local: { deny: ['y'] } },
  ]);
  expect(refs).toMatch(/guardrails\.0\.models\.0: unknown model "nope"/);
  expect(refs).toMatch(/guardrails\.0\.tenants\.0: unknown tenant "team-z"/);
  expect(refs).toMatch(/guardrails\.1\.id: duplicate id "g"/);
});

test('onError is block or allow', () => {
  expect(errorOf([{ id: 'g', local: { deny: ['x'] }, onError: 'ignore' }])).toMatch(/guardrails\.0\.onError: /);
});

test('secret credentials: an ARN with a region, and an optional JSON field', () => {
  const withCreds = (credentials: unknown) => ({
    providers: [{ id: 'oa', type: 'openai', accounts: [{ id: 'a', credentials, endpoints: [{ region: 'us' }] }] }],
  });
  const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf';
  expect(parseConfig(withCreds({ secretArn: arn, field: 'apiKey' })).providers[0].accounts[0].credentials).toEqual({ secretArn: arn, field: 'apiKey' });
  expect(() => parseConfig(withCreds({ secretArn: 'arn:aws:secretsmanager:::secret:x' }))).toThrow(/providers\.0\.accounts\.0\.credentials/);
});
