/**
 * Every route down by its health check (a proxy started before its spoke, an on-prem
 * server restarting): the client's 503 says when to retry, the time the next health check
 * will have answered, directly and through a proxy, so clients neither hammer nor wait blind.
 */
import { createServer } from 'node:net';
import { postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

/** A loopback port nothing listens on: connections are refused at once. */
async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

const PROBES = { intervalMs: 60_000, downIntervalMs: 3_000, timeoutMs: 1_000 };
const ask = (url: string) => postJson(`${url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });

describe('every route down by its health check', () => {
  let spoke: TestGateway;
  let proxy: TestGateway;

  beforeAll(async () => {
    const onPrem = { id: 'vllm', type: 'openai-compatible' as const, accounts: [{ id: 'rack', endpoints: [{ region: 'dc1', url: await refusedUrl() }] }] };
    spoke = await startGateway({ providers: [onPrem], models: [{ name: 'chat', targets: [{ provider: 'vllm', model: 'llama' }] }] }, 'spoke', { probes: PROBES });
    // The proxy's spoke answers its health check (it is up); the spoke's one endpoint does not.
    proxy = await startGateway({ spokes: [{ id: 'spoke-a', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] }, 'proxy', {
      probes: false,
    });
    expect(await until(() => spoke.gateway.prober.isDown('vllm/rack/dc1'), 5_000)).toBe(true);
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
  });

  it('answers 503 no_route_available with Retry-After: when the next check will have answered', async () => {
    const res = await ask(spoke.url);
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('no_route_available');
    expect(error.message).toContain('vllm/rack/dc1/llama: down (until ');
    // At most the down interval (3 s), rounded up to whole seconds.
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(3);
  });

  it("passes the spoke's Retry-After on through the proxy", async () => {
    const res = await ask(proxy.url);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(3);
  });
});
