/**
 * Refused before anything is forwarded: a wrong key, a revoked key, a model the tenant may
 * not use and a tenant over its limit each get a clear 401/403/429, and the provider never
 * sees the request. Plus the config rules for tenant identities.
 */
import OpenAI from 'openai';
import { hashKey, TenantDirectory } from '../../runtime/src/tenants/auth';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { CHAT, chatAs } from './helpers';

type ErrorBody = { error: { type: string; code: string; message: string; param: string | null } };

describe('tenant refusals forward nothing', () => {
  let up: FakeOpenAI;
  const chatRequests = () => up.requests.filter((r) => r.path === '/v1/chat/completions').length;
  const config = (tenants: GatewayConfigInput['tenants']): GatewayConfigInput => ({
    providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'local', url: up.url }] }] }],
    models: [
      { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-small' }] },
      { name: 'premium', targets: [{ provider: 'oa', model: 'gpt-large' }] },
    ],
    tenants,
  });

  beforeAll(async () => {
    up = await startFakeOpenAI();
  });
  afterAll(() => up.close());

  describe('one config', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway(
        config([
          { id: 'team-a', keys: [hashKey('key-a')], models: ['chat'], limits: { rpm: 1 } },
          { id: 'team-b', keys: [hashKey('key-b')] },
        ]),
        'all-in-one',
        { probes: false },
      );
    });
    afterAll(() => gw.close());

    it('401 for a missing or wrong key, naming what to send', async () => {
      const before = chatRequests();
      const missing = await postJson(`${gw.url}/v1/chat/completions`, CHAT);
      expect(missing.status).toBe(401);
      expect(((await missing.json()) as ErrorBody).error).toEqual({
        type: 'authentication_error',
        code: 'missing_api_key',
        message: 'Missing API key: send "Authorization: Bearer KEY" or "x-api-key: KEY".',
        param: null,
      });
      // Another scheme is named; it does not hide an x-api-key sent with it.
      const basic = await postJson(`${gw.url}/v1/chat/completions`, CHAT, { authorization: 'Basic dXNlcjpwYXNz' });
      expect(((await basic.json()) as ErrorBody).error.message).toBe(
        'Missing API key: send "Authorization: Bearer KEY" or "x-api-key: KEY". The Authorization header\'s scheme is "Basic", not Bearer.',
      );
      // A key sent without its scheme is a 401 that does not quote it (clients log error messages); an empty Bearer says so.
      const bare = await postJson(`${gw.url}/v1/chat/completions`, CHAT, { authorization: 'aigw-BareKeyWithoutItsScheme0123456789abcdefXYZ' });
      expect(bare.status).toBe(401);
      const bareText = await bare.text();
      expect(bareText).not.toContain('BareKeyWithoutItsScheme');
      expect((JSON.parse(bareText) as ErrorBody).error.message).toBe(
        'Missing API key: send "Authorization: Bearer KEY" or "x-api-key: KEY". The Authorization header has no scheme (its value is not quoted here): put "Bearer " before the key.',
      );
      const empty = await postJson(`${gw.url}/v1/chat/completions`, CHAT, { authorization: 'Bearer ' });
      expect(((await empty.json()) as ErrorBody).error).toMatchObject({
        code: 'missing_api_key',
        message: 'Missing API key: send "Authorization: Bearer KEY" or "x-api-key: KEY". The Authorization header says Bearer but carries no key.',
      });
      // Authenticated as team-a by its x-api-key (a model it may not use: a 403 that names it, and no quota spent).
      const both = await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, model: 'premium' }, { authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'key-a' });
      expect(((await both.json()) as ErrorBody).error).toMatchObject({ code: 'model_not_allowed', message: 'Tenant "team-a" is not allowed to use model "premium".' });
      const wrong = await chatAs(gw.url, 'key-a-but-wrong', { ...CHAT, stream: true });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as ErrorBody).error).toMatchObject({ code: 'invalid_api_key', message: 'Invalid API key.' });
      expect(chatRequests()).toBe(before);
    });

    it('403 for a model the tenant may not use, naming tenant and model', async () => {
      const before = chatRequests();
      for (const stream of [false, true]) {
        const res = await chatAs(gw.url, 'key-a', { ...CHAT, model: 'premium', stream });
        expect(res.status).toBe(403);
        expect(((await res.json()) as ErrorBody).error).toEqual({
          type: 'permission_error',
          code: 'model_not_allowed',
          message: 'Tenant "team-a" is not allowed to use model "premium".',
          param: 'model',
        });
      }
      expect(chatRequests()).toBe(before);
    });

    it('GET /v1/models and the unknown-model 404 list only the models the tenant may use', async () => {
      const as = (key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
      expect((await as('key-a').models.list()).data.map((m) => m.id)).toEqual(['chat']);
      expect((await as('key-b').models.list()).data.map((m) => m.id)).toEqual(['chat', 'premium']);
      const anthropic = await fetch(`${gw.url}/v1/models`, { headers: { 'x-api-key': 'key-a', 'anthropic-version': '2023-06-01' } });
      expect(((await anthropic.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['chat']);
      const unknown = await chatAs(gw.url, 'key-a', { ...CHAT, model: 'chta' });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as ErrorBody).error.message).toBe('The model "chta" does not exist. Known models: chat.');
    });

    it('429 at the tenant limit, with nothing forwarded; other tenants unaffected', async () => {
      const before = chatRequests();
      expect((await chatAs(gw.url, 'key-a')).status).toBe(200);
      expect(chatRequests()).toBe(before + 1); // the counter does see forwarded requests
      const refused = await chatAs(gw.url, 'key-a');
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as ErrorBody).error.code).toBe('tenant_rate_limited');
      expect(chatRequests()).toBe(before + 1);
      expect((await chatAs(gw.url, 'key-b', { ...CHAT, model: 'premium' })).status).toBe(200);
    });
  });

  it('401 for a revoked key once it is gone from the config; its replacement works', async () => {
    // Rotation: the config lists the old and the new key, then only the new one.
    const both = await startGateway(config([{ id: 'team-a', keys: [hashKey('old-key'), hashKey('new-key')] }]), 'all-in-one', { probes: false });
    try {
      expect((await chatAs(both.url, 'old-key')).status).toBe(200);
    } finally {
      await both.close();
    }
    const revoked = await startGateway(config([{ id: 'team-a', keys: [hashKey('new-key')] }]), 'all-in-one', { probes: false });
    try {
      const before = chatRequests();
      const res = await chatAs(revoked.url, 'old-key');
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorBody).error.code).toBe('invalid_api_key');
      expect(chatRequests()).toBe(before);
      expect((await chatAs(revoked.url, 'new-key')).status).toBe(200);
    } finally {
      await revoked.close();
    }
  });
});

describe('TenantDirectory', () => {
  const bearer = (key: string) => new Headers({ authorization: `Bearer ${key}` });
  const tenants = (doc: GatewayConfigInput['tenants']) => parseConfig({ tenants: doc }).tenants;

  it('refuses a key revoked by a reloaded config from the next request on', () => {
    const dir = new TenantDirectory(tenants([{ id: 't', keys: [hashKey('k1'), hashKey('k2')] }]));
    expect(dir.authenticate(bearer('k1'))?.id).toBe('t');
    dir.replace(tenants([{ id: 't', keys: [hashKey('k2')] }]));
    expect(() => dir.authenticate(bearer('k1'))).toThrow('Invalid API key.');
    expect(dir.authenticate(bearer('k2'))?.id).toBe('t');
    dir.replace([]);
    expect(dir.open).toBe(true);
  });

  it('is closed when tenants exist, even if none of them has keys', () => {
    const dir = new TenantDirectory(tenants([{ id: 't', apiKeyIds: ['abc123'] }]));
    expect(dir.open).toBe(false);
    expect(() => dir.authenticate(bearer('anything'))).toThrow('Invalid API key.');
  });
});

describe('tenant config', () => {
  const errorOf = (tenantsDoc: unknown) => {
    try {
      parseConfig({ tenants: tenantsDoc });
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('takes keys, API Gateway key ids or Cognito claims as a tenant identity', () => {
    const cfg = parseConfig({
      tenants: [
        { id: 'by-key', keys: [hashKey('k')] },
        { id: 'by-api-key', apiKeyIds: ['a1b2c3'] },
        { id: 'by-claim', cognito: { claim: 'cognito:groups', values: ['team-c'] }, limits: { rpm: 5, concurrency: 2 } },
      ],
    });
    expect(cfg.tenants.map((t) => [t.id, t.keys.length, t.models])).toEqual([
      ['by-key', 1, ['*']],
      ['by-api-key', 0, ['*']],
      ['by-claim', 0, ['*']],
    ]);
  });

  it('names the problem: no identity, a plaintext key, a shared identity, a bad cognito block', () => {
    expect(errorOf([{ id: 't' }])).toMatch(/tenants\.0\.keys: a tenant needs at least one of keys, apiKeyIds or cognito/);
    expect(errorOf([{ id: 't', keys: ['plaintext'] }])).toMatch(/tenants\.0\.keys\.0: "sha256:" followed by 64 lowercase hex digits/);
    expect(
      errorOf([
        { id: 'a', keys: [hashKey('k')] },
        { id: 'b', keys: [hashKey('k')] },
      ]),
    ).toMatch(/tenants\.1\.keys\.0: already given to tenant "a"/);
    expect(
      errorOf([
        { id: 'a', apiKeyIds: ['x1'] },
        { id: 'b', apiKeyIds: ['x2', 'x1'] },
      ]),
    ).toMatch(/tenants\.1\.apiKeyIds\.1: already given to tenant "a"/);
    expect(
      errorOf([
        { id: 'a', cognito: { claim: 'cognito:groups', values: ['g'] } },
        { id: 'b', cognito: { claim: 'cognito:groups', values: ['g'] } },
      ]),
    ).toMatch(/tenants\.1\.cognito\.values\.0: already given to tenant "a"/);
    expect(errorOf([{ id: 'a', cognito: { claim: 'cognito:groups' } }])).toMatch(/tenants\.0\.cognito\.values/);
    expect(errorOf([{ id: 'a', apiKeyIds: ['x'], limits: { concurrency: 0 } }])).toMatch(/tenants\.0\.limits\.concurrency/);
  });
});
