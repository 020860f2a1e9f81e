/**
 * The proxy tier: account failover across spokes. A spoke killed, a spoke out of
 * quota, and a spoke DNS name whose addresses change, each with zero client errors.
 */
import type OpenAI from 'openai';
import { startDns, type TestDns } from '../helpers/dns-server';
import { healthOf, startGateway, jsonOf, type ErrorBody } from '../helpers/gateway';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { parseConfig } from '../../runtime/src/config/load';
import { createGateway } from '../../runtime/src/gateway';
import { startServer, type RunningServer } from '../../runtime/src/entry/server';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';

function spokeConfig(account: string, quota?: number, latencyMs = 2): GatewayConfigInput {
  return {
    providers: [
      {
        id: `sim-${account}`,
        type: 'simulated',
        accounts: [
          {
            id: account,
            limits: quota ? { '*': { rpm: quota } } : {},
            endpoints: [{ region: 'us-east-1', latencyMs, tokensPerSecond: 10_000, ...(quota ? { quota: { rpm: quota } } : {}) }],
          },
        ],
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: `sim-${account}`, model: 'm' }] }],
  };
}

async function spokeAt(account: string, host: string, port: number, quota?: number): Promise<RunningServer> {
  return startServer(createGateway(parseConfig(spokeConfig(account, quota)), 'spoke', { http: createUndiciHttp() }), port, host);
}

const ask = (client: OpenAI) => client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();

describe('proxy -> spokes', () => {
  it('keeps serving with zero errors when a spoke is killed, and stops sending to it', async () => {
    const a = await startGateway(spokeConfig('acct-a'), 'spoke');
    const b = await startGateway(spokeConfig('acct-b'), 'spoke');
    const proxy = await startGateway(
      {
        spokes: [
          { id: 'spoke-a', url: a.url },
          { id: 'spoke-b', url: b.url },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
      },
      'proxy',
      // A killed spoke refuses connections at once; the live one may take a while to answer a probe on a loaded machine.
      { probes: { intervalMs: 200, downIntervalMs: 100, timeoutMs: 3_000 } },
    );
    try {
      const routes: string[] = [];
      let errors = 0;
      const worker = async (n: number) => {
        for (let i = 0; i < n; i++) {
          try {
            const { response } = await ask(proxy.client);
            routes.push(response.headers.get('x-gateway-route')!);
          } catch {
            errors++;
          }
        }
      };
      await Promise.all([worker(10), worker(10), worker(10)]);
      expect(new Set(routes.map((r) => r.split('/')[1]))).toEqual(new Set(['acct-a', 'acct-b']));
      await a.close();
      routes.length = 0;
      await Promise.all([worker(20), worker(20), worker(20)]);
      expect(errors).toBe(0);
      expect(routes.filter((r) => r.includes('acct-a'))).toHaveLength(0);
      const health = await healthOf(proxy.url);
      expect(health.routes.find((r) => r.route.startsWith('spokes/spoke-a/'))?.state).toMatch(/down|ejected/);
    } finally {
      await proxy.close();
      await b.close();
    }
  });

  it('moves on at once when a spoke answers that its account is out of quota', async () => {
    // Spoke A is the faster, so it is preferred until its account's quota is spent.
    const a = await startGateway(spokeConfig('acct-a', 5, 1), 'spoke');
    const b = await startGateway(spokeConfig('acct-b', undefined, 40), 'spoke');
    const proxy = await startGateway(
      {
        spokes: [
          { id: 'spoke-a', url: a.url },
          { id: 'spoke-b', url: b.url },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
      },
      'proxy',
      { probes: false },
    );
    try {
      const byAccount: Record<string, number> = {};
      const attempts: number[] = [];
      for (let i = 0; i < 30; i++) {
        const { response } = await ask(proxy.client);
        const acct = response.headers.get('x-gateway-route')!.split('/')[1];
        byAccount[acct] = (byAccount[acct] ?? 0) + 1;
        attempts.push(Number(response.headers.get('x-gateway-attempts')));
      }
      expect(byAccount['acct-a']).toBe(5); // its quota, never more
      expect(byAccount['acct-b']).toBe(25);
      // One request saw spoke A's 429 and went on to B; after that A was cooling down.
      expect(attempts.filter((n) => n > 1)).toEqual([2]);
      // The spoke said 429 with its reason, and the proxy cooled it down instead of asking again.
      const direct = await fetch(`${a.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(direct.status).toBe(429);
      expect(direct.headers.get('retry-after')).toBeTruthy();
      expect((await jsonOf<ErrorBody>(direct)).error.code).toBe('upstream_quota_exhausted');
    } finally {
      await proxy.close();
      await a.close();
      await b.close();
    }
  });

  describe('a spoke DNS name', () => {
    let dns: TestDns;
    beforeAll(async () => {
      dns = await startDns(1);
    });
    afterAll(() => dns.close());

    it('follows its addresses as they change, each address a route of its own', async () => {
      const first = await spokeAt('acct-x', '127.0.0.2', 0);
      const port = first.port;
      const second = await spokeAt('acct-y', '127.0.0.3', port);
      dns.records.set('spokes.gateway.test', ['127.0.0.2']);
      const proxy = await startGateway(
        {
          spokes: [{ id: 'spoke-a', url: `http://spokes.gateway.test:${port}` }],
          models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
          dns: { servers: [dns.server], minTtlMs: 200 },
        },
        'proxy',
        { probes: false },
      );
      try {
        const { response } = await ask(proxy.client);
        expect(response.headers.get('x-gateway-route')).toMatch(/^sim-acct-x\/acct-x\//);
        expect((await healthOf(proxy.url)).routes.map((r) => r.route)).toEqual(['spokes/spoke-a/127.0.0.2/chat']);

        dns.records.set('spokes.gateway.test', ['127.0.0.3']);
        let moved = false;
        for (let i = 0; i < 50 && !moved; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const { response: r2 } = await ask(proxy.client);
          moved = /^sim-acct-y\//.test(r2.headers.get('x-gateway-route')!);
        }
        expect(moved).toBe(true);

        dns.records.set('spokes.gateway.test', ['127.0.0.2', '127.0.0.3']);
        let both = false;
        for (let i = 0; i < 50 && !both; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const h = await healthOf(proxy.url);
          both = h.routes.length === 2;
        }
        expect(both).toBe(true);
        // With both addresses, a dead one is only a route to leave.
        await first.close();
        for (let i = 0; i < 20; i++) expect((await ask(proxy.client)).response.status).toBe(200);
      } finally {
        await proxy.close();
        await second.close();
        await first.close().catch(() => undefined);
      }
    });
  });
});
