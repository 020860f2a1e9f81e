/**
 * Valid config that silently does nothing: a tenant's capacity class without a `capacity`
 * key (no reserve protects it), route limits keyed by a provider model no target names (a
 * typo: the route runs without limits), capacity classes where no route has limits or a
 * class whose share of a route rounds down to nothing, a tenant that may use no model, a
 * day cap above the month cap. The
 * gateway starts, and says so in warn lines naming the key path, at start and on reload;
 * a config that means what it says logs none.
 */
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { hashKey } from '../../runtime/src/tenants/auth';
import { parseConfig } from '../../runtime/src/config/load';
import { postJson, startGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';

function config(limitsKey: string | undefined, capacity: boolean): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'bedrock-main',
        type: 'simulated',
        accounts: [{ id: 'prod', limits: limitsKey === undefined ? {} : { [limitsKey]: { rpm: 50 } }, endpoints: [{ region: 'us-east-1', latencyMs: 1, tokensPerSecond: 5000 }] }],
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'bedrock-main', model: 'amazon.nova-pro-v1:0' }] }],
    tenants: [
      { id: 'checkout', keys: [hashKey('checkout-key')], priority: 'critical' },
      { id: 'web', keys: [hashKey('web-key')] },
    ],
    ...(capacity ? { capacity: { criticalReserve: 0.2 } } : {}),
  };
}

const warnings = (logs: LineCapture) => logs.records().filter((l) => l.level === 'warn' && String(l.msg).startsWith('config: '));

describe('config that does nothing of what it seems to ask for', () => {
  it('starts, and names each such key in a warn line, at start and on reload', async () => {
    const logs = new LineCapture();
    const gw = await startGateway(config('amazon.nova-pro-v1', false), 'all-in-one', { probes: false, observability: { destination: logs } });
    try {
      // It serves all the same.
      const answer = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer checkout-key' });
      expect(answer.status).toBe(200);
      expect(await until(() => warnings(logs).length >= 2)).toBe(true);
      expect(warnings(logs).map((l) => [l.path, l.msg])).toEqual([
        [
          'tenants.0.priority',
          'config: tenants.0.priority: "critical" has no effect without a top-level capacity key (criticalReserve, batchCeiling): no share of any route is kept from other tenants',
        ],
        [
          'providers.0.accounts.0.limits.amazon.nova-pro-v1',
          'config: providers.0.accounts.0.limits.amazon.nova-pro-v1: no target of provider "bedrock-main" names model "amazon.nova-pro-v1" (targets name: amazon.nova-pro-v1:0): these limits apply to nothing',
        ],
      ]);
      // Without limits the route shows none: the operator's rpm is not in force.
      const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { routes: { headroom?: { rpm?: number } }[] };
      expect(health.routes[0].headroom?.rpm).toBeUndefined();

      // A reload that fixes one and keeps the other says the one left.
      logs.chunks.length = 0;
      await gw.gateway.reload(parseConfig(config('amazon.nova-pro-v1:0', false)));
      expect(await until(() => warnings(logs).length >= 1)).toBe(true);
      expect(warnings(logs).map((l) => l.path)).toEqual(['tenants.0.priority']);
    } finally {
      await gw.close();
    }
  });

  it('capacity classes with no route limited: nothing to reserve, said at start', async () => {
    const logs = new LineCapture();
    const gw = await startGateway(config(undefined, true), 'all-in-one', { probes: false, observability: { destination: logs } });
    try {
      expect(await until(() => warnings(logs).length >= 1)).toBe(true);
      expect(warnings(logs).map((l) => l.msg)).toEqual(['config: capacity: no route has rpm or tpm limits (providers[].accounts[].limits): capacity classes have nothing to reserve']);
    } finally {
      await gw.close();
    }
  });

  it('a class whose share of a route rounds down to nothing: never admitted there, said at start', async () => {
    const doc = config('amazon.nova-pro-v1:0', false);
    doc.capacity = { criticalReserve: 0.2, batchCeiling: 0.01 };
    doc.tenants!.push({ id: 'etl', keys: [hashKey('etl-key')], priority: 'batch' });
    const logs = new LineCapture();
    const gw = await startGateway(doc, 'all-in-one', { probes: false, observability: { destination: logs } });
    try {
      // rpm 50 x 0.01 is half a request: batch gets none of it.
      const refused = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer etl-key' });
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('capacity_reserved');
      expect(await until(() => warnings(logs).length >= 1)).toBe(true);
      expect(warnings(logs).map((l) => l.msg)).toEqual([
        'config: capacity.batchCeiling: batch requests get none of providers.0.accounts.0.limits.amazon.nova-pro-v1:0 (rpm 50 x 0.01 rounds down to 0): they are never admitted on its routes',
      ]);
    } finally {
      await gw.close();
    }
  });

  it('an operator key that is also a tenant key: the tenant reads the operator pages, said at start', async () => {
    const doc = { ...config('amazon.nova-pro-v1:0', true), operators: { keys: [hashKey('web-key')] } };
    const logs = new LineCapture();
    const gw = await startGateway(doc, 'all-in-one', { probes: false, observability: { destination: logs } });
    try {
      expect((await fetch(`${gw.url}/status.json`, { headers: { authorization: 'Bearer web-key' } })).status).toBe(200);
      expect(await until(() => warnings(logs).length >= 1)).toBe(true);
      expect(warnings(logs).map((l) => l.msg)).toEqual(['config: operators.keys.0: also a key of tenant "web": that tenant\'s clients can read the operator pages']);
    } finally {
      await gw.close();
    }
  });

  it('a tenant that may use no model, and a day cap above the month cap, said at start', async () => {
    const doc = config('amazon.nova-pro-v1:0', true);
    doc.tenants![1] = { ...doc.tenants![1], models: [], budget: { usdPerDay: 50, usdPerMonth: 20 } };
    const logs = new LineCapture();
    const gw = await startGateway(doc, 'all-in-one', { probes: false, observability: { destination: logs } });
    try {
      const refused = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer web-key' });
      expect(refused.status).toBe(403);
      expect(await until(() => warnings(logs).length >= 2)).toBe(true);
      expect(warnings(logs).map((l) => l.msg)).toEqual([
        'config: tenants.1.models: is empty: tenant "web" may use no model, so every request it sends is a 403',
        'config: tenants.1.budget.usdPerDay: 50 is more than usdPerMonth 20: the month\'s cap always stops tenant "web" first',
      ]);
    } finally {
      await gw.close();
    }
  });

  it('a config that means what it says logs none', async () => {
    const logs = new LineCapture();
    const gw = await startGateway(config('amazon.nova-pro-v1:0', true), 'all-in-one', { probes: false, observability: { destination: logs } });
    try {
      const answer = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer web-key' });
      expect(answer.status).toBe(200);
      expect(await until(() => logs.requests().length >= 1)).toBe(true);
      expect(warnings(logs)).toEqual([]);
      const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { routes: { headroom?: { rpm?: number } }[] };
      expect(health.routes[0].headroom?.rpm).toBe(50);
    } finally {
      await gw.close();
    }
  });
});
