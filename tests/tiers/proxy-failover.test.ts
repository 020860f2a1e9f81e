/**
 * The new failover outcomes in the proxy role, as the Lambda proxy runs them (the Hono
 * app, Node's own http): a spoke whose stream is late is hedged on the other spoke, and a
 * single spoke that fails once is retried on a fresh connection instead of failing the
 * request.
 */
import { createApp } from '../../runtime/src/app';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { createGateway, type Gateway } from '../../runtime/src/gateway';
import { createNodeHttp } from '../../runtime/src/providers/node-http';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';

const fakes: FakeOpenAI[] = [];
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

/** A proxy over `spokes` (OpenAI-compatible servers playing spokes), as Lambda runs it. */
function lambdaProxy(spokes: FakeOpenAI[], failover: GatewayConfigInput['failover'] = {}) {
  const config: GatewayConfigInput = {
    spokes: spokes.map((s, i) => ({ id: `spoke-${i + 1}`, url: s.url.replace(/\/v1$/, '') })),
    models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
    failover,
  };
  // Chance fixed: routes in config order, so spoke-1 is always tried first.
  const gw = createGateway(parseConfig(config), 'proxy', {
    http: createNodeHttp(),
    probes: false,
    random: () => 0,
    observability: { destination: { write: () => true }, prometheus: false },
  });
  gateways.push(gw);
  const app = createApp(gw);
  return async (stream: boolean) => {
    await gw.ready;
    const res = await app.fetch(
      new Request('https://gw.example/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }),
      }),
    );
    return { status: res.status, route: res.headers.get('x-gateway-route'), attempts: res.headers.get('x-gateway-attempts'), text: await res.text() };
  };
}

async function spoke(opts: Parameters<typeof startFakeOpenAI>[0] = {}): Promise<FakeOpenAI> {
  const f = await startFakeOpenAI({ reply: 'from a spoke', ...opts });
  fakes.push(f);
  return f;
}

it('a stream late on one spoke is hedged on the other, and the late one is cancelled', async () => {
  const late = await spoke({ latencyMs: 3000 });
  const quick = await spoke();
  const ask = lambdaProxy([late, quick], { hedging: { coldDelayMs: 100 } });
  const started = Date.now();
  const answer = await ask(true);
  expect(answer.status).toBe(200);
  expect(answer.text).toContain('data: [DONE]');
  expect(answer.route).toMatch(/^spokes\/spoke-2\//);
  expect(Date.now() - started).toBeLessThan(2500);
  for (let i = 0; i < 100 && late.inFlight() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(late.inFlight()).toBe(0);
});

it('the only spoke failing once is retried on a fresh connection, not given up', async () => {
  const only = await spoke();
  const ask = lambdaProxy([only]);
  expect((await ask(false)).status).toBe(200); // a pooled connection now exists
  const before = only.connectionsAccepted();
  only.faults.push({ kind: 'status', status: 502 });
  const answer = await ask(false);
  expect(answer).toMatchObject({ status: 200, attempts: '2' });
  expect(only.connectionsAccepted()).toBe(before + 1);
});
