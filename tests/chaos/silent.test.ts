/**
 * Silent upstreams: one that accepts the request and never answers, and one whose first
 * token comes later than the model's first-byte timeout. Each is given up on at its
 * timeout and the request is answered by another route; a silent route is never retried
 * within the same request.
 */
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import type { Fault } from '../fakes/fault';
import { startGateway, type TestGateway } from '../helpers/gateway';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { ask } from './load';

const A = 'oa/acct-a/east/gpt-x';
const B = 'oa/acct-b/west/gpt-x';
const REPLY = 'Answered by whichever route was not silent.';

function config(a: FakeOpenAI, b?: FakeOpenAI): GatewayConfigInput {
  return {
    // The request's deadline is far: only the per-attempt timeouts can explain a quick answer.
    server: { requestTimeoutMs: 15_000 },
    providers: [
      {
        id: 'oa',
        type: 'openai-compatible',
        accounts: [{ id: 'acct-a', endpoints: [{ region: 'east', url: a.url }] }, ...(b ? [{ id: 'acct-b', endpoints: [{ region: 'west', url: b.url }] }] : [])],
      },
    ],
    models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }], timeouts: { firstByteMs: 300, completeMs: 300 } }],
  };
}

describe('silent upstreams', () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let gw: TestGateway;
  const chats = (f: FakeOpenAI) => f.requests.filter((r) => r.path === '/v1/chat/completions').length;

  beforeAll(async () => {
    a = await startFakeOpenAI({ reply: REPLY });
    b = await startFakeOpenAI({ reply: REPLY });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });
  afterEach(() => {
    a.faults.length = 0;
    a.always = undefined;
  });

  describe('with an equivalent route', () => {
    beforeEach(async () => {
      gw = await startGateway(config(a, b), 'all-in-one', { probes: false });
      // Route A looks faster, so it is the first choice and meets the fault.
      gw.gateway.stats.get(B).completeMs.add(5_000);
      gw.gateway.stats.get(B).firstChunkMs.add(5_000);
    });
    afterEach(() => gw.close());

    const cases: Array<[string, Fault, boolean]> = [
      ['a hung upstream, whole answer', { kind: 'hang' }, false],
      ['a hung upstream, stream', { kind: 'hang' }, true],
      ['a first token later than firstByteMs, stream', { kind: 'delay', ms: 3_000 }, true],
      ['an answer later than completeMs, whole answer', { kind: 'delay', ms: 3_000 }, false],
    ];
    it.each(cases)('%s: answered by the other route, the silent one asked once', async (_name, fault, stream) => {
      a.always = fault;
      const beforeA = chats(a);
      const beforeB = chats(b);
      const o = await ask(gw.client, 0, { stream });
      expect(o).toMatchObject({ ok: true, status: 200, route: B, attempts: 2, text: REPLY });
      expect(chats(a) - beforeA).toBe(1);
      expect(chats(b) - beforeB).toBe(1);
      // The gateway gave up on A: its connection was closed, not left hanging.
      expect(a.inFlight()).toBe(0);
    });
  });

  describe('as the only route', () => {
    beforeEach(async () => {
      gw = await startGateway(config(a), 'all-in-one', { probes: false });
    });
    afterEach(() => gw.close());

    it.each([
      ['whole answer', false],
      ['stream', true],
    ])('%s: a silent route is not retried: 504 upstream_timeout at its timeout, long before the deadline', async (_name, stream) => {
      a.always = { kind: 'hang' };
      const before = chats(a);
      const o = await ask(gw.client, 0, { stream });
      expect(o.ok).toBe(false);
      expect(o.status).toBe(504);
      expect(o.errorCode).toBe('upstream_timeout'); // the attempt's timeout, not deadline_exceeded
      expect(o.error).toContain(`${A}: silent`);
      expect(chats(a) - before).toBe(1);
    });

    it('while a transient failure on the only route does get one quick retry', async () => {
      a.faults.push({ kind: 'status', status: 500 });
      const before = chats(a);
      const o = await ask(gw.client, 0);
      expect(o).toMatchObject({ ok: true, route: A, attempts: 2 });
      expect(chats(a) - before).toBe(2);
    });
  });
});
