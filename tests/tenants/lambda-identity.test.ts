/**
 * In the Lambda role the tenant can come from API Gateway itself: the REST API key id it
 * validated (`requestContext.identity.apiKeyId`) or the claims its Cognito authorizer
 * verified. Real API Gateway REST proxy events go through the real Lambda handler, which
 * forwards to a real spoke gateway on loopback.
 */
import { expect } from '@jest/globals';
import { hashKey } from '../../runtime/src/tenants/auth';
import { claimValues, requestIdentity } from '../../runtime/src/tenants/lambda-identity';
import { simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';

type Result = { statusCode: number; body: string; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]> };
type Handler = (event: unknown, context?: unknown) => Promise<Result>;

interface Caller {
  apiKeyId?: string;
  claims?: Record<string, string>;
  headers?: Record<string, string>;
}

/** An API Gateway REST API (v1) AWS_PROXY event for POST /v1/chat/completions. */
function chatEvent(body: unknown, caller: Caller) {
  const headers = { Host: 'abc123.execute-api.us-east-1.amazonaws.com', 'content-type': 'application/json', ...caller.headers };
  return {
    resource: '/{proxy+}',
    path: '/v1/chat/completions',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: 'v1/chat/completions' },
    stageVariables: null,
    requestContext: {
      resourceId: 'x1y2z3',
      resourcePath: '/{proxy+}',
      httpMethod: 'POST',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      path: '/prod/v1/chat/completions',
      accountId: '111122223333',
      protocol: 'HTTP/1.1',
      stage: 'prod',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      apiId: 'abc123',
      requestTimeEpoch: 1795561800000,
      identity: {
        sourceIp: '203.0.113.9',
        apiKeyId: caller.apiKeyId ?? null,
        apiKey: caller.apiKeyId ? 'redacted' : null,
        userAgent: 'OpenAI/JS 6.0',
        cognitoIdentityId: null,
        user: null,
        userArn: null,
      },
      ...(caller.claims ? { authorizer: { claims: caller.claims } } : {}),
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const lambdaContext = { functionName: 'ai-gateway-proxy', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 };
const chat = (model = 'chat') => ({ model, messages: [{ role: 'user', content: 'hi' }] });
const errorOf = (res: Result) => (JSON.parse(res.body) as { error: { code: string; message: string } }).error;

describe('tenant from the API Gateway request context (Lambda)', () => {
  let spoke: TestGateway;
  let handler: Handler;
  beforeAll(async () => {
    const base = simulatedConfig();
    spoke = await startGateway({ ...base, models: [...base.models!, { name: 'premium', targets: [{ provider: 'sim', model: 'sim-big' }] }] }, 'spoke');
    process.env.GATEWAY_ROLE = 'proxy';
    process.env.GATEWAY_CONFIG_JSON = JSON.stringify({
      spokes: [{ id: 'spoke-a', url: spoke.url }],
      models: [
        { name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] },
        { name: 'premium', targets: [{ provider: 'spokes', model: 'premium' }] },
      ],
      tenants: [
        { id: 'team-a', apiKeyIds: ['k-team-a'], models: ['chat'], limits: { rpm: 2 } },
        { id: 'team-b', cognito: { claim: 'cognito:groups', values: ['team-b-users'] }, models: ['chat'] },
        { id: 'team-c', keys: [hashKey('key-c')], cognito: { claim: 'cognito:groups', values: ['team-c-users'] }, models: ['chat'] },
      ],
    });
    jest.isolateModules(() => {
      // A fresh module: the handler reads its environment when it loads.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules needs a synchronous load
      handler = (require('../../runtime/src/lambda') as typeof import('../../runtime/src/lambda')).handler as typeof handler;
    });
  });
  afterAll(async () => {
    await spoke.close();
    delete process.env.GATEWAY_CONFIG_JSON;
    delete process.env.GATEWAY_ROLE;
  });

  it('maps the REST API key id to its tenant, with no bearer key, and applies that tenant limits', async () => {
    const asA = { apiKeyId: 'k-team-a' };
    expect((await handler(chatEvent(chat(), asA), lambdaContext)).statusCode).toBe(200);
    const denied = await handler(chatEvent(chat('premium'), asA), lambdaContext);
    expect(denied.statusCode).toBe(403);
    expect(errorOf(denied).message).toBe('Tenant "team-a" is not allowed to use model "premium".');
    expect((await handler(chatEvent(chat(), asA), lambdaContext)).statusCode).toBe(200);
    const limited = await handler(chatEvent(chat(), asA), lambdaContext);
    expect(limited.statusCode).toBe(429);
    expect(errorOf(limited)).toMatchObject({ code: 'tenant_rate_limited', message: expect.stringMatching(/^Tenant "team-a" is over its limit of 2 requests per minute/) });
  });

  it.each([
    ['one group', 'team-b-users'],
    ['a comma list (REST authorizer)', 'staff,team-b-users'],
    ['a bracket list', '[staff team-b-users]'],
  ])('maps a Cognito claim with %s to its tenant', async (_n, groups) => {
    const caller = { claims: { sub: 'u-1', 'cognito:groups': groups, token_use: 'id' } };
    expect((await handler(chatEvent(chat(), caller), lambdaContext)).statusCode).toBe(200);
    const denied = await handler(chatEvent(chat('premium'), caller), lambdaContext);
    expect(errorOf(denied).message).toBe('Tenant "team-b" is not allowed to use model "premium".');
  });

  it('falls back to the bearer key when the request context names no tenant', async () => {
    const unmapped = await handler(chatEvent(chat(), { apiKeyId: 'k-unknown' }), lambdaContext);
    expect(unmapped.statusCode).toBe(401);
    expect(errorOf(unmapped)).toMatchObject({ code: 'missing_api_key', message: expect.stringContaining("(id k-unknown) is not in any tenant's apiKeyIds") });

    const withKey = { apiKeyId: 'k-unknown', claims: { 'cognito:groups': 'staff' }, headers: { authorization: 'Bearer key-c' } };
    expect((await handler(chatEvent(chat(), withKey), lambdaContext)).statusCode).toBe(200);
    expect(errorOf(await handler(chatEvent(chat('premium'), withKey), lambdaContext)).message).toBe('Tenant "team-c" is not allowed to use model "premium".');

    const wrongKey = await handler(chatEvent(chat(), { headers: { authorization: 'Bearer nope' } }), lambdaContext);
    expect(errorOf(wrongKey).code).toBe('invalid_api_key');
  });

  it('refuses claims that name two tenants', async () => {
    const res = await handler(chatEvent(chat(), { claims: { 'cognito:groups': 'team-b-users,team-c-users' } }), lambdaContext);
    expect(res.statusCode).toBe(403);
    expect(errorOf(res)).toMatchObject({ code: 'ambiguous_tenant', message: expect.stringContaining('maps to several tenants: team-b, team-c') });
  });
});

describe('requestIdentity', () => {
  it('reads REST and HTTP API (JWT authorizer) contexts, and nothing outside Lambda', () => {
    expect(requestIdentity({ requestContext: { identity: { apiKeyId: 'k1' } } })).toEqual({ apiKeyId: 'k1' });
    expect(requestIdentity({ requestContext: { authorizer: { jwt: { claims: { groups: ['a', 'b'] }, scopes: null } } } })).toEqual({
      claims: { groups: ['a', 'b'] },
    });
    expect(requestIdentity({ requestContext: { identity: { apiKeyId: null, sourceIp: '203.0.113.9' } } })).toBeUndefined();
    // @hono/node-server's env: the Node request and response, no request context.
    expect(requestIdentity({ incoming: {}, outgoing: {} })).toBeUndefined();
    expect(requestIdentity(undefined)).toBeUndefined();
  });

  it('splits flattened list claims', () => {
    expect(claimValues('a,b')).toEqual(['a,b', 'a', 'b']);
    expect(claimValues('[a b]')).toEqual(['[a b]', 'a', 'b']);
    expect(claimValues(['a', 3, 'b'])).toEqual(['a', 'b']);
    expect(claimValues(undefined)).toEqual([]);
  });
});
