/**
 * A gateway that runs for weeks sees millions of values its clients choose: model names
 * (typos too), session ids, prompt_cache_keys, request ids, user ids, keys that are
 * wrong. None of them may add a metric series, a /status line or a quota window.
 */
import { parseConfig } from '../../runtime/src/config/load';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import { hashKey } from '../../runtime/src/tenants/auth';
import { startGateway, simulatedConfig, type TestGateway } from '../helpers/gateway';
import { LOOPBACK_OPERATORS } from '../helpers/operators';

const REQUESTS = 4_000;
const WORKERS = 32;

/** Each request names values of its own; `i` makes them distinct. */
function request(url: string, i: number): Promise<Response> {
  const kind = i % 4;
  const key = kind === 3 ? `wrong-key-${i}` : 'key-ok';
  const body = {
    model: kind === 0 ? `typo-model-${i}` : 'chat',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 2,
    user: `user-${i}`,
    safety_identifier: `safe-${i}`,
    metadata: { order: `order-${i}` },
    ...(kind === 2 ? { prompt_cache_key: `cache-${i}` } : {}),
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-request-id': `req-${i}` };
  if (kind === 1) headers['x-session-id'] = `session-${i}`;
  // Typos reach every api: chat, Anthropic Messages, embeddings.
  const path = kind === 0 ? ['chat/completions', 'messages', 'embeddings'][(i >> 2) % 3] : 'chat/completions';
  const sent =
    path === 'embeddings'
      ? { model: body.model, input: `text ${i}`, user: body.user }
      : path === 'messages'
        ? { model: body.model, max_tokens: 2, messages: body.messages, metadata: { user_id: body.user } }
        : body;
  return fetch(`${url}/v1/${path}`, { method: 'POST', headers, body: JSON.stringify(sent) });
}

/** Sends requests `from`..`to` (exclusive) over a few connections; answers' statuses by count. */
async function drive(url: string, from: number, to: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = from;
  const worker = async () => {
    while (next < to) {
      const res = await request(url, next++);
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  return statuses;
}

/** The gateway's own series on /metrics (name and labels), process metrics left out. */
async function series(url: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('process_') && !l.startsWith('nodejs_'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')))
    .sort();
}

describe('a long-running gateway under client-chosen values', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    const base = simulatedConfig({ latencyMs: 0 });
    gw = await startGateway(
      {
        ...base,
        models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'sim-model' }], promptCache: { sessionTtlMs: 60_000 } }],
        tenants: [{ id: 'team', keys: [hashKey('key-ok')], limits: { rpm: 1_000_000 } }],
        operators: LOOPBACK_OPERATORS,
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw?.close();
  });

  it(`keeps its metric series, /status lists and quota windows the same size over ${REQUESTS} requests of distinct values`, async () => {
    // Every kind of request once, so that every series it can make exists.
    const warm = await drive(gw.url, 0, 400);
    expect([...warm.keys()].sort()).toEqual([200, 401, 404]);
    const before = await series(gw.url);
    const quota = gw.gateway.quota;
    expect(quota).toBeInstanceOf(MemoryQuotaStore);
    const windows = (quota as MemoryQuotaStore).size;

    const statuses = await drive(gw.url, 400, 400 + REQUESTS);
    expect(statuses.get(200)).toBe(REQUESTS / 2);

    expect(await series(gw.url)).toEqual(before);
    expect((quota as MemoryQuotaStore).size).toBe(windows);
    const status = (await (await fetch(`${gw.url}/status.json`)).json()) as { recent: unknown[]; tenants: Array<{ tenant: string }> };
    expect(status.recent.length).toBeLessThanOrEqual(50);
    expect(status.tenants.map((t) => t.tenant)).toEqual(['team']);
  }, 120_000);
});

describe('metric series of routes that are gone', () => {
  let gw: TestGateway;
  afterAll(async () => {
    await gw?.close();
  });

  /** The routes /metrics has series of. */
  const routesOnMetrics = async () => new Set((await series(gw.url)).flatMap((s) => /route="([^"]+)"/.exec(s)?.[1] ?? []));

  it('end when the route leaves the route table (a spoke address gone, an endpoint moved by a reload)', async () => {
    const config = (region: string) => ({ ...simulatedConfig({ region, latencyMs: 0 }), operators: LOOPBACK_OPERATORS });
    gw = await startGateway(config('old-address'), 'all-in-one', { probes: false });
    const ask = () => gw.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    await ask();
    expect(await routesOnMetrics()).toEqual(new Set(['sim/acct-1/old-address/sim-model']));

    for (let i = 0; i < 20; i++) {
      await gw.gateway.reload(parseConfig(config(`address-${i}`)));
      await ask();
    }
    expect(await routesOnMetrics()).toEqual(new Set(['sim/acct-1/address-19/sim-model']));
  });
});
