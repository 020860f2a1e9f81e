/** Tenant keys: only hashes in config; 401 for missing/unknown keys, 403 for a model not allowed. */
import { hashKey } from '../../runtime/src/tenants/auth';
import { postJson, simulatedConfig, startGateway, type TestGateway, jsonOf, type ErrorBody } from '../helpers/gateway';

describe('tenant auth', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const base = simulatedConfig();
    gw = await startGateway({
      ...base,
      models: [...base.models!, { name: 'premium', targets: [{ provider: 'sim', model: 'sim-big' }] }],
      tenants: [
        { id: 'team-a', keys: [hashKey('key-a')], models: ['chat'] },
        { id: 'team-b', keys: [hashKey('key-b-old'), hashKey('key-b')] },
      ],
    });
  });
  afterAll(() => gw.close());
  const body = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };
  const url = () => `${gw.url}/v1/chat/completions`;

  it('rejects a request without a key with 401', async () => {
    const res = await postJson(url(), body);
    expect(res.status).toBe(401);
    expect((await jsonOf<ErrorBody>(res)).error).toMatchObject({ type: 'authentication_error', code: 'missing_api_key' });
  });

  it('rejects an unknown key with 401 and does not echo it', async () => {
    const res = await postJson(url(), body, { authorization: 'Bearer not-a-key-123' });
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain('not-a-key-123');
    expect((JSON.parse(text) as ErrorBody).error.code).toBe('invalid_api_key');
  });

  it('accepts Bearer and x-api-key, any of a tenant keys', async () => {
    expect((await postJson(url(), body, { authorization: 'Bearer key-a' })).status).toBe(200);
    expect((await postJson(url(), body, { 'x-api-key': 'key-b' })).status).toBe(200);
    expect((await postJson(url(), body, { 'x-api-key': 'key-b-old' })).status).toBe(200);
  });

  it('answers 403 for a model the tenant may not use, 200 for one it may', async () => {
    const denied = await postJson(url(), { ...body, model: 'premium' }, { authorization: 'Bearer key-a' });
    expect(denied.status).toBe(403);
    expect((await jsonOf<ErrorBody>(denied)).error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    expect((await postJson(url(), { ...body, model: 'premium' }, { authorization: 'Bearer key-b' })).status).toBe(200);
  });

  it('protects /v1/models but not /healthz', async () => {
    expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer key-a' } })).status).toBe(200);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});
