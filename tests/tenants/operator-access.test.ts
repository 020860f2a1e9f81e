/**
 * The operator pages (/metrics, /status, /status.json, /status/events) once the gateway
 * has tenants: an operator key (hashed in config like tenant keys: bearer, x-api-key or a
 * Basic password, which a browser asks for and then sends with the page's own requests)
 * or a configured source network; else 401/403 in the OpenAI error shape. /healthz stays
 * open for load balancers. On the Node server, and in Lambda where the source is API
 * Gateway's sourceIp.
 */
import { createApp } from '../../runtime/src/app';
import { parseConfig } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { createGateway } from '../../runtime/src/gateway';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { hashKey } from '../../runtime/src/tenants/auth';
import { ConfigError } from '../../runtime/src/config/parse';
import { launchBrowser } from '../helpers/browser';
import { simulatedConfig, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';

const OPERATOR = 'operator-key-1';
const TENANT = 'tenant-key-1';
const PAGES = ['/metrics', '/status', '/status.json'];

const doc = (operators?: GatewayConfigInput['operators'], tenants = true): GatewayConfigInput => ({
  ...simulatedConfig(),
  ...(tenants ? { tenants: [{ id: 'team', keys: [hashKey(TENANT)] }] } : {}),
  ...(operators ? { operators } : {}),
});

const get = (gw: TestGateway, path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('on the Node server', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('an open gateway (no tenants, no operators) serves them to anyone', async () => {
    gw = await startGateway(doc(undefined, false), 'all-in-one', { probes: false });
    for (const path of PAGES) expect((await get(gw, path)).status).toBe(200);
  });

  it('with tenants: only an operator key opens them, as bearer, x-api-key or Basic password; /healthz stays open', async () => {
    gw = await startGateway(doc({ keys: [hashKey(OPERATOR)] }), 'all-in-one', { probes: false });
    for (const path of PAGES) {
      const none = await get(gw, path);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="ai-gateway operator"/);
      expect(((await none.json()) as ErrorBody).error).toMatchObject({ type: 'authentication_error', code: 'operator_key_required' });
      // A tenant's key is not an operator's.
      const tenant = await get(gw, path, { authorization: `Bearer ${TENANT}` });
      expect(tenant.status).toBe(401);
      expect(((await tenant.json()) as ErrorBody).error.code).toBe('invalid_operator_key');
      const ways: Array<Record<string, string>> = [{ authorization: `Bearer ${OPERATOR}` }, { 'x-api-key': OPERATOR }, { authorization: basic('anyone', OPERATOR) }];
      for (const headers of ways) {
        const ok = await get(gw, path, headers);
        expect(ok.status).toBe(200);
        await ok.arrayBuffer();
      }
    }
    const events = new AbortController();
    const stream = await fetch(`${gw.url}/status/events`, { headers: { authorization: `Bearer ${OPERATOR}` }, signal: events.signal });
    expect(stream.status).toBe(200);
    events.abort();
    expect((await get(gw, '/status/events')).status).toBe(401);
    expect((await get(gw, '/healthz')).status).toBe(200);
  });

  it('from a configured network no key is needed; outside it, 403 when there are no keys to try', async () => {
    gw = await startGateway(doc({ networks: ['127.0.0.0/8', '::1'] }), 'all-in-one', { probes: false });
    for (const path of PAGES) expect((await get(gw, path)).status).toBe(200);
    await gw.close();
    gw = await startGateway(doc({ networks: ['10.0.0.0/8'] }), 'all-in-one', { probes: false });
    const refused = await get(gw, '/metrics');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as ErrorBody).error).toMatchObject({ type: 'permission_error', code: 'operator_network_required' });
  });

  it('a browser asked for the key shows the live status page (its own requests carry the key)', async () => {
    gw = await startGateway(doc({ keys: [hashKey(OPERATOR)] }), 'all-in-one', { probes: false });
    const browser = await launchBrowser();
    try {
      const stranger = await browser.browser.newContext();
      expect((await stranger.request.get(`${gw.url}/status`)).status()).toBe(401);
      const operator = await browser.browser.newContext({ httpCredentials: { username: 'ops', password: OPERATOR } });
      const page = await operator.newPage();
      const seen: string[] = [];
      page.on('response', (r) => seen.push(`${new URL(r.url()).pathname} ${r.status()}`));
      expect((await page.goto(`${gw.url}/status`))?.status()).toBe(200);
      // The page's data came through its own (authenticated) requests.
      await page.waitForFunction(() => document.body.innerText.includes('acct-1'), undefined, { timeout: 10_000 });
      const data = seen.filter((s) => /\/status(\.json|\/events) /.test(s));
      expect(data.length).toBeGreaterThan(0);
      expect(data.every((s) => s.endsWith(' 200'))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});

describe('in Lambda (the Hono app with API Gateway request context)', () => {
  const lambdaGet = async (operators: GatewayConfigInput['operators'], sourceIp: string, headers: Record<string, string> = {}) => {
    const gw = createGateway(parseConfig(doc(operators)), 'all-in-one', {
      http: createUndiciHttp(),
      probes: false,
      observability: { destination: { write: () => true }, prometheus: false },
    });
    try {
      const env = { requestContext: { requestId: 'r-1', identity: { sourceIp } } };
      return await createApp(gw).fetch(new Request('https://gw.example/status.json', { headers }), env);
    } finally {
      await gw.close();
    }
  };

  it("decides by API Gateway's sourceIp, and a key works as on the Node server", async () => {
    const operators = { keys: [hashKey(OPERATOR)], networks: ['10.0.0.0/8'] };
    expect((await lambdaGet(operators, '10.1.2.3')).status).toBe(200);
    expect((await lambdaGet(operators, '203.0.113.9')).status).toBe(401);
    expect((await lambdaGet(operators, '203.0.113.9', { authorization: `Bearer ${OPERATOR}` })).status).toBe(200);
  });
});

it('config: a network that is not one names its path', () => {
  expect(() => parseConfig(doc({ networks: ['10.0.0.0/33'] }))).toThrow(ConfigError);
  expect(() => parseConfig(doc({ networks: ['10.0.0.0/33'] }))).toThrow(/operators\.networks\.0/);
  expect(() => parseConfig(doc({ keys: ['plain-text-key'] }))).toThrow(/operators\.keys\.0/);
});
