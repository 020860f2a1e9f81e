/**
 * Session affinity through the gateway: a session (x-session-id, else prompt_cache_key)
 * stays on the route that served it (hit), new sessions spread over the routes as load
 * does, and a session moves when its route fails, runs out of quota or is ejected, and
 * stays on the new route after. Four equivalent routes, each its own fake OpenAI server.
 */
import { expect } from '@jest/globals';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

const ACCOUNTS = ['a1', 'a2', 'a3', 'a4'];
const routeOf = (account: string) => `oa/${account}/r/m`;

/** A seeded random source: the spread test is the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

let fakes: FakeOpenAI[];
let gw: TestGateway;

function config(extra: { limits?: Record<string, number>; promptCache?: object } = {}): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'oa',
        type: 'openai-compatible',
        accounts: ACCOUNTS.map((id, i) => ({ id, ...(extra.limits?.[id] ? { limits: { '*': { rpm: extra.limits[id] } } } : {}), endpoints: [{ region: 'r', url: fakes[i].url }] })),
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }], ...(extra.promptCache ? { promptCache: extra.promptCache } : {}) }],
  };
}

interface Answer {
  status: number;
  route: string | null;
  affinity: string | null;
}

async function ask(session?: string, body: Record<string, unknown> = {}): Promise<Answer> {
  const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }], ...body }, session ? { 'x-session-id': session } : {});
  await res.text();
  return { status: res.status, route: res.headers.get('x-gateway-route'), affinity: res.headers.get('x-gateway-affinity') };
}

beforeAll(async () => {
  fakes = await Promise.all(ACCOUNTS.map(() => startFakeOpenAI({ reply: 'ok' })));
});
afterAll(() => Promise.all(fakes.map((f) => f.close())));
afterEach(async () => {
  await gw?.close();
  for (const f of fakes) {
    f.always = undefined;
    f.faults.length = 0;
  }
});

describe('session affinity', () => {
  it('keeps a session on its route: new, then hit, whole answers and streams', async () => {
    gw = await startGateway(config(), 'all-in-one', { random: seeded(1) });
    const first = await ask('conv-1');
    expect(first).toEqual({ status: 200, route: expect.any(String), affinity: 'new' });
    for (let i = 0; i < 8; i++) expect(await ask('conv-1')).toEqual({ status: 200, route: first.route, affinity: 'hit' });
    const stream = await ask('conv-1', { stream: true });
    expect(stream).toEqual({ status: 200, route: first.route, affinity: 'hit' });
    // /status counts them (request events are delivered in batches just after the answers).
    const totals = async () => (await (await fetch(`${gw.url}/status.json`)).json()) as { totals: { sessions: object }; sessions: { backend: string } };
    expect(await until(async () => JSON.stringify((await totals()).totals.sessions) === JSON.stringify({ hit: 9, new: 1, moved: 0 }))).toBe(true);
    expect((await totals()).sessions.backend).toBe('memory');
  });

  it('names a session by prompt_cache_key too; requests without a session get no affinity header', async () => {
    gw = await startGateway(config(), 'all-in-one', { random: seeded(2) });
    const first = await ask(undefined, { prompt_cache_key: 'key-1' });
    expect(first.affinity).toBe('new');
    for (let i = 0; i < 5; i++) expect(await ask(undefined, { prompt_cache_key: 'key-1' })).toEqual({ status: 200, route: first.route, affinity: 'hit' });
    expect((await ask()).affinity).toBeNull();
  });

  it('spreads new sessions over the routes as load does', async () => {
    // Time stands still for routing: every route looks equally fast, so the spread is the selector's alone (seeded).
    const t0 = Date.now();
    gw = await startGateway(config(), 'all-in-one', { random: seeded(3), clock: { now: () => t0 } });
    const count = new Map<string, number>();
    for (let i = 0; i < 80; i++) {
      const a = await ask(`spread-${i}`);
      expect(a.affinity).toBe('new');
      count.set(a.route!, (count.get(a.route!) ?? 0) + 1);
    }
    expect([...count.keys()].sort()).toEqual(ACCOUNTS.map(routeOf));
    // Equal routes: sessions spread about evenly (20 each), none concentrated by affinity.
    for (const n of count.values()) expect(n).toBeGreaterThanOrEqual(12);
  });

  it('moves a session when its route fails, and keeps it on the new route', async () => {
    gw = await startGateway(config(), 'all-in-one', { random: seeded(4) });
    const first = await ask('conv-f');
    fakes[ACCOUNTS.indexOf(first.route!.split('/')[1])].always = { kind: 'status', status: 500 };
    const moved = await ask('conv-f');
    expect(moved.status).toBe(200);
    expect(moved.affinity).toBe('moved');
    expect(moved.route).not.toBe(first.route);
    expect(await ask('conv-f')).toEqual({ status: 200, route: moved.route, affinity: 'hit' });
  });

  it('moves a session when its route has no quota headroom left', async () => {
    gw = await startGateway(config({ limits: { a1: 2, a2: 2, a3: 2, a4: 2 } }), 'all-in-one', { random: seeded(5) });
    const first = await ask('conv-q');
    expect(await ask('conv-q')).toEqual({ status: 200, route: first.route, affinity: 'hit' });
    // Two requests a minute on that route: the third goes elsewhere.
    const moved = await ask('conv-q');
    expect(moved).toEqual({ status: 200, route: expect.any(String), affinity: 'moved' });
    expect(moved.route).not.toBe(first.route);
    expect((await ask('conv-q')).route).toBe(moved.route);
  });

  it('moves a session when its route is ejected', async () => {
    gw = await startGateway(config(), 'all-in-one', { random: seeded(6) });
    const first = await ask('conv-e');
    gw.gateway.stats.get(first.route!).circuit.onFailure(Date.now(), true);
    const moved = await ask('conv-e');
    expect(moved.affinity).toBe('moved');
    expect(moved.route).not.toBe(first.route);
  });

  it('a model may turn affinity off; a too-long session id is a 400 that names the header', async () => {
    gw = await startGateway(config({ promptCache: { affinity: false } }));
    expect((await ask('conv-off')).affinity).toBeNull();
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, { 'x-session-id': 'x'.repeat(300) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('x-session-id');
  });

  it('opt-in: the prefix up to the last cache marker names the session', async () => {
    gw = await startGateway(config({ promptCache: { prefixAffinity: true } }), 'all-in-one', { random: seeded(7) });
    const convo = (question: string) => ({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'A long shared system prompt.', cache_control: { type: 'ephemeral' } }] },
        { role: 'user', content: question },
      ],
    });
    const first = await ask(undefined, convo('one?'));
    expect(first.affinity).toBe('new');
    expect(await ask(undefined, convo('two?'))).toEqual({ status: 200, route: first.route, affinity: 'hit' });
    // No marker, no session.
    expect((await ask(undefined, { messages: [{ role: 'user', content: 'plain' }] })).affinity).toBeNull();
  });
});
