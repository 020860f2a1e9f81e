/**
 * Large embeddings requests as provider batches: the order of the inputs kept across
 * batches, the concurrency bound, a failed batch retried alone on an equivalent route
 * (429, 5xx, reset), batches waiting out a short 429 on a model's only route, a batch
 * that finally fails failing the whole request with the others cancelled (never a
 * partial answer), and many requests against tight rpm with no client error while
 * capacity exists.
 */
import { expect } from '@jest/globals';
import type { Fault } from '../fakes/fault';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { fakeVector } from '../fakes/vectors';
import { healthOf, jsonOf, postJson, startGateway, type ErrorBody, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';

const MODEL = 'text-embedding-3-small';
const inputs = (n: number) => Array.from({ length: n }, (_, i) => `passage ${i} of the handbook`);

interface Answer {
  data: Array<{ index: number; embedding: number[] }>;
  usage: { prompt_tokens: number };
}

/** One provider, two accounts (equivalent routes) on `fake`, batches of `size`. */
function config(fake: FakeOpenAI, batch: { size: number; concurrency?: number }, accounts = ['a', 'b']) {
  return {
    providers: [{ id: 'oa', type: 'openai-compatible' as const, accounts: accounts.map((id) => ({ id, endpoints: [{ region: 'local', url: fake.url }] })) }],
    models: [{ name: 'embed', api: 'embeddings' as const, targets: [{ provider: 'oa', model: MODEL }], batch }],
  };
}

const sentInputs = (fake: FakeOpenAI) => fake.requests.filter((r) => r.path === '/v1/embeddings').map((r) => (r.body as { input: string[] }).input);

describe('embeddings batches', () => {
  let fake: FakeOpenAI;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await fake.close();
  });

  it('keeps the input order across batches and runs at most `concurrency` at once', async () => {
    let most = 0;
    fake.options.latencyMs = 150;
    fake.options.onEmbeddingsRequest = (inFlight) => (most = Math.max(most, inFlight));
    gw = await startGateway(config(fake, { size: 4, concurrency: 2 }), 'all-in-one', { probes: false });
    const input = inputs(22);
    const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input, encoding_format: 'float' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-batches')).toBe('6');
    const answer = await jsonOf<Answer>(res);
    expect(answer.data.map((d) => d.index)).toEqual(input.map((_, i) => i));
    input.forEach((text, i) => expect(answer.data[i].embedding.map(Math.fround)).toEqual(fakeVector(`${MODEL}\n${text}`, 1536)));
    expect(answer.usage.prompt_tokens).toBe(input.reduce((n, t) => n + Math.ceil(t.length / 4), 0));
    // Six calls of at most four inputs, each input sent once, two in flight at a time.
    const sent = sentInputs(fake);
    expect(sent.map((s) => s.length).sort()).toEqual([2, 4, 4, 4, 4, 4]);
    expect(sent.flat().sort()).toEqual([...input].sort());
    expect(most).toBe(2);
  });

  it.each<[string, Fault]>([
    ['429', { kind: 'status', status: 429, headers: { 'retry-after': '30' } }],
    ['500', { kind: 'status', status: 500 }],
    ['a connection reset', { kind: 'reset' }],
  ])('a batch that meets %s moves alone to the equivalent route; the others are untouched', async (_name, fault) => {
    gw = await startGateway(config(fake, { size: 3, concurrency: 1 }), 'all-in-one', { probes: false });
    fake.faults.push(fault);
    const input = inputs(12);
    const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gateway-batches')).toBe('4');
    // Four batches, one of them twice: five provider calls in all.
    expect(res.headers.get('x-gateway-attempts')).toBe('5');
    const sent = sentInputs(fake).map((batch) => batch.join('|'));
    expect(sent).toHaveLength(5);
    expect(sent[1]).toBe(sent[0]); // the failed first batch, again, on the other account
    expect(new Set(sent).size).toBe(4);
    // Both accounts served: the failed one for nothing, the other for the retry.
    expect(res.headers.get('x-gateway-route')).toMatch(/^oa\/[ab]\/local\/text-embedding-3-small/);
    const answer = await jsonOf<Answer>(res);
    expect(answer.data).toHaveLength(12);
  });

  it("a short 429 on the model's only route: every batch in flight waits as the provider asked, and the request is answered", async () => {
    gw = await startGateway(config(fake, { size: 1, concurrency: 4 }, ['a']), 'all-in-one', { probes: false });
    fake.options.latencyMs = 50;
    for (let i = 0; i < 4; i++) fake.faults.push({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const input = inputs(8);
    const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input, encoding_format: 'float' });
    expect(res.status).toBe(200);
    const answer = await jsonOf<Answer>(res);
    input.forEach((text, i) => expect(answer.data[i].embedding.map(Math.fround)).toEqual(fakeVector(`${MODEL}\n${text}`, 1536)));
    // The four batches that met the 429 were sent once more each, after the wait; the others once.
    const sent = sentInputs(fake).flat();
    expect(sent).toHaveLength(12);
    expect(new Set(sent)).toEqual(new Set(input));
    expect(res.headers.get('x-gateway-attempts')).toBe('12');
  });

  it('a batch that finally fails fails the whole request, and the batches still running are cancelled', async () => {
    // One route: the first call hangs, the other fails twice (its quick retry too).
    gw = await startGateway(config(fake, { size: 2, concurrency: 2 }, ['a']), 'all-in-one', { probes: false });
    fake.faults.push({ kind: 'hang' }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'embed', input: inputs(10) });
    expect(res.status).toBe(502);
    const body = await jsonOf<ErrorBody & { data?: unknown }>(res);
    expect(body.data).toBeUndefined();
    expect(body.error).toMatchObject({ type: 'api_error', code: 'upstream_unavailable' });
    // The hanging call was given up at once, and no further batch was started.
    expect(await until(() => fake.clientAborts() === 1)).toBe(true);
    expect(sentInputs(fake)).toHaveLength(3);
  });

  it('many concurrent requests against tight rpm: every one answered while the accounts have capacity', async () => {
    // Two accounts of 30 requests a minute each, simulated with their own quota (429 past it).
    const sim = await startGateway(
      {
        providers: [
          {
            id: 'sim',
            type: 'simulated',
            accounts: ['a', 'b'].map((id) => ({ id, limits: { '*': { rpm: 30 } }, endpoints: [{ region: 'local', latencyMs: 5, quota: { rpm: 30 } }] })),
          },
        ],
        models: [{ name: 'embed', api: 'embeddings', targets: [{ provider: 'sim', model: 'sim-embed' }], batch: { size: 2 } }],
      },
      'all-in-one',
      { probes: false },
    );
    gw = sim;
    // 25 requests of 4 inputs: 50 provider calls, more than one account takes, against 60 of capacity.
    const statuses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => postJson(`${sim.url}/v1/embeddings`, { model: 'embed', input: inputs(4).map((t) => `${i} ${t}`) }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const routes = (await healthOf(sim.url)).routes;
    expect(routes.reduce((n, r) => n + r.headroom.requestsUsed, 0)).toBe(50);
    for (const r of routes) expect(r.headroom.requestsUsed).toBeLessThanOrEqual(30);
  });
});
