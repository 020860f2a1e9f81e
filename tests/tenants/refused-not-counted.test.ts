/**
 * A request the gateway refuses after the tenant's rpm admitted it, but before any work
 * (its budget is spent, or its capacity class's share of every route is in use), does not
 * use the tenant's requests per minute: in memory and through a real redis-server.
 */
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { systemClock } from '../../runtime/src/core/clock';
import { createQuotaStore } from '../../runtime/src/quota/factory';
import { hashKey } from '../../runtime/src/tenants/auth';
import { tenantQuotaKey } from '../../runtime/src/tenants/limiter';
import { send } from '../capacity/helpers';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { reporting, usage } from '../spend/helpers';
import { waitUntil } from './helpers';

const ask = (maxTokens: number, model = 'chat') => ({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens });

const config = (url: string, redis?: string): GatewayConfigInput => ({
  providers: [
    { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r', url }] }] },
    { id: 'limited', type: 'openai-compatible', accounts: [{ id: 'acct', limits: { '*': { rpm: 10 } }, endpoints: [{ region: 'r', url }] }] },
  ],
  // A cent a token: max_tokens 1000 could cost $10, over the $1 budget; max_tokens 10 fits.
  models: [
    { name: 'chat', targets: [{ provider: 'oa', model: 'm', price: { inputPerMTok: 10_000, outputPerMTok: 10_000 } }] },
    { name: 'shared', targets: [{ provider: 'limited', model: 'm', price: { inputPerMTok: 1, outputPerMTok: 1 } }] },
  ],
  tenants: [
    { id: 'frugal', keys: [hashKey('key-frugal')], limits: { rpm: 2 }, budget: { usdPerDay: 1 } },
    // Batch may use 4 of the shared route's 10 rpm; the tenant's own limit is 6.
    { id: 'nightly', keys: [hashKey('key-batch')], priority: 'batch', limits: { rpm: 6 } },
  ],
  capacity: { criticalReserve: 0.3, batchCeiling: 0.4 },
  ...(redis ? { state: { redis } } : {}),
});

describe.each([
  ['in memory', false],
  ['through Redis', true],
])('refused before any work, %s', (_, withRedis) => {
  let upstream: FakeOpenAI;
  let redis: RedisServer | undefined;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startFakeOpenAI({ ...reporting(usage(5, 1)), latencyMs: 1 });
    redis = withRedis ? await startRedisServer() : undefined;
    const doc = config(upstream.url, redis?.url);
    // A generous Redis deadline: this is about counting, not about a slow Redis.
    const quota = redis ? createQuotaStore(parseConfig(doc), systemClock, { commandTimeoutMs: 2000, startupWaitMs: 5000 }) : undefined;
    gw = await startGateway(doc, 'all-in-one', { probes: false, ...(quota ? { quota } : {}) });
    if (redis) expect(gw.gateway.quota.health?.()).toMatchObject({ backend: 'redis', degraded: false });
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await redis?.close();
  });

  it('budget_exceeded leaves the tenant its requests per minute', async () => {
    for (let i = 0; i < 3; i++) expect(await send(gw.url, 'key-frugal', ask(1000))).toMatchObject({ status: 429, code: 'budget_exceeded' });
    // The window is set right once the store has answered (after the 429 went out).
    await waitUntil('no frugal request counted', () => gw.gateway.quota.peek(tenantQuotaKey('frugal'), { rpm: 2 }).requestsUsed === 0);
    // Both of its 2 rpm are still there for requests the budget takes.
    expect((await send(gw.url, 'key-frugal', ask(10))).status).toBe(200);
    expect((await send(gw.url, 'key-frugal', ask(10))).status).toBe(200);
    expect(await send(gw.url, 'key-frugal', ask(10))).toMatchObject({ status: 429, code: 'tenant_rate_limited' });
  });

  it('capacity_reserved leaves the tenant its requests per minute', async () => {
    for (let i = 0; i < 4; i++) expect((await send(gw.url, 'key-batch', ask(10, 'shared'))).status).toBe(200);
    // Past the batch share, each refusal is the class's; counted, the third would be the tenant's own rpm.
    for (let i = 0; i < 4; i++) expect(await send(gw.url, 'key-batch', ask(10, 'shared'))).toMatchObject({ status: 429, code: 'capacity_reserved' });
    await waitUntil('4 nightly requests counted', () => gw.gateway.quota.peek(tenantQuotaKey('nightly'), { rpm: 6 }).requestsUsed === 4);
  });
});
