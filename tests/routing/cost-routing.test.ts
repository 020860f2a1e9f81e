/**
 * `routing: cost`: the cheapest target for this request that is healthy and has headroom
 * (for the request's class) first, the next when it saturates. The seed's cost balance: an
 * on-prem model priced 0 takes traffic until its own limits, then Bedrock, then the
 * third-party API, with no client error on the way.
 */
import { ModelPricing } from '../../runtime/src/config/pricing';
import { parseConfig } from '../../runtime/src/config/load';
import { buildRouteTable } from '../../runtime/src/routing/route-table';
import { costOrdered } from '../../runtime/src/routing/cost-order';
import { hashKey } from '../../runtime/src/tenants/auth';
import { send } from '../capacity/helpers';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const ONPREM = { inputPerMTok: 0, outputPerMTok: 0 };
const BEDROCK = { inputPerMTok: 0.8, outputPerMTok: 3.2, cachedInputPerMTok: 0.2 };
const THIRD_PARTY = { inputPerMTok: 2.5, outputPerMTok: 10 };

describe('cost order for one request', () => {
  const config = parseConfig({
    providers: ['a', 'b', 'c'].map((id) => ({ id, type: 'simulated', accounts: [{ id: 'x', endpoints: [{ region: 'r' }] }] })),
    models: [
      {
        name: 'chat',
        routing: 'cost',
        targets: [
          { provider: 'a', model: 'long-prompts', price: { inputPerMTok: 1, outputPerMTok: 20 } },
          { provider: 'b', model: 'long-answers', price: { inputPerMTok: 5, outputPerMTok: 4 } },
          { provider: 'c', model: 'same-as-b', price: { inputPerMTok: 5, outputPerMTok: 4 } },
        ],
      },
    ],
  });
  const routes = buildRouteTable(config.models, config.providers).get('chat')!;
  const pricing = new ModelPricing(config.models[0]);
  const order = (input: number, output: number) => costOrdered(routes, pricing, input, output).groups.map((g) => g[0].provider.id);

  it('weighs the request’s input and expected output at each target’s price; equal prices keep config order', () => {
    // 10k in, 100 out: a costs 0.012, b and c 0.0504.
    expect(order(10_000, 100)).toEqual(['a', 'b', 'c']);
    // 100 in, 4k out: a costs 0.0801, b and c 0.0165.
    expect(order(100, 4_000)).toEqual(['b', 'c', 'a']);
    // Already cheapest first: the table's own routes, nothing made.
    expect(costOrdered(routes, pricing, 10_000, 100)).toBe(routes);
  });
});

/** One openai-compatible provider `id` with one account at `url`, `rpm` when given. */
const provider = (id: string, url: string, rpm?: number) => ({
  id,
  type: 'openai-compatible' as const,
  accounts: [{ id: 'acct', ...(rpm ? { limits: { '*': { rpm } } } : {}), endpoints: [{ region: 'r', url }] }],
});

describe('routing: cost end to end', () => {
  let onprem: FakeOpenAI;
  let bedrock: FakeOpenAI;
  let thirdParty: FakeOpenAI;
  let gw: TestGateway;
  const served = (f: FakeOpenAI) => f.requests.filter((r) => r.path === '/v1/chat/completions').length;

  beforeAll(async () => {
    [onprem, bedrock, thirdParty] = await Promise.all([startFakeOpenAI({ latencyMs: 2 }), startFakeOpenAI({ latencyMs: 2 }), startFakeOpenAI({ latencyMs: 2 })]);
    gw = await startGateway(
      {
        providers: [provider('onprem', onprem.url, 10), provider('bedrock', bedrock.url, 20), provider('openai', thirdParty.url)],
        models: [
          {
            name: 'chat',
            routing: 'cost',
            // Listed most expensive first: the order comes from the prices.
            targets: [
              { provider: 'openai', model: 'gpt-4o', price: THIRD_PARTY },
              { provider: 'bedrock', model: 'amazon.nova-pro-v1:0', price: BEDROCK },
              { provider: 'onprem', model: 'llama-3.1-8b', price: ONPREM },
            ],
          },
        ],
        tenants: [
          { id: 'app', keys: [hashKey('key-app')] },
          { id: 'etl', keys: [hashKey('key-etl')], priority: 'batch' },
        ],
        capacity: { criticalReserve: 0, batchCeiling: 0.5 },
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all([onprem.close(), bedrock.close(), thirdParty.close()]);
  });
  beforeEach(() => {
    for (const f of [onprem, bedrock, thirdParty]) f.requests.length = 0;
  });

  it('fills on-prem to its limit, then Bedrock, then the third-party API, with zero client errors', async () => {
    // A batch tenant first: on-prem's 10 rpm keeps half for others, so 5 there, then Bedrock.
    const batch = await Promise.all(Array.from({ length: 8 }, () => send(gw.url, 'key-etl')));
    expect(batch.map((o) => o.status)).toEqual(Array(8).fill(200));
    expect([served(onprem), served(bedrock), served(thirdParty)]).toEqual([5, 3, 0]);
    // Standard traffic at 8 at a time: on-prem's other 5, Bedrock's other 17, then the rest.
    const results: number[] = [];
    for (let wave = 0; wave < 5; wave++) results.push(...(await Promise.all(Array.from({ length: 8 }, () => send(gw.url, 'key-app')))).map((o) => o.status));
    expect(results).toEqual(Array(40).fill(200));
    expect([served(onprem), served(bedrock), served(thirdParty)]).toEqual([10, 20, 18]);
  });

  it('moves to the next price while the cheapest is throttled, with no client error', async () => {
    const fresh = await startGateway(
      {
        providers: [provider('onprem', onprem.url), provider('bedrock', bedrock.url)],
        models: [
          {
            name: 'chat',
            routing: 'cost',
            targets: [
              { provider: 'bedrock', model: 'nova', price: BEDROCK },
              { provider: 'onprem', model: 'llama', price: ONPREM },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false },
    );
    try {
      onprem.faults.push({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
      const ask = () => fresh.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
      const first = await ask().withResponse();
      expect(first.response.headers.get('x-gateway-route')).toBe('bedrock/acct/r/nova');
      // On-prem cools down: Bedrock serves without trying it.
      for (let i = 0; i < 3; i++) expect((await ask().withResponse()).response.headers.get('x-gateway-route')).toBe('bedrock/acct/r/nova');
      expect(served(onprem)).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
