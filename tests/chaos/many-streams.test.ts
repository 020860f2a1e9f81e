/**
 * Long streams each hold an upstream connection for their whole life: 300 of them open at
 * once to a single provider endpoint all start, none waits behind a per-origin cap.
 */
import { Agent, request } from 'undici';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';

const STREAMS = 300;

describe('many concurrent streams to one endpoint', () => {
  let up: FakeOpenAI;
  let gw: TestGateway;
  const client = new Agent({ connections: STREAMS + 10 });
  beforeAll(async () => {
    // 10 chunks 1 s apart: every stream stays open for ~10 s, longer than a loaded machine
    // (other suites, other people's tests) takes to start all of them.
    up = await startFakeOpenAI({ chunks: 10, chunkDelayMs: 1000, recordRequests: false });
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: up.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await client.close();
    await gw.close();
    await up.close();
  });

  it(`all ${STREAMS} start at once and end whole`, async () => {
    const firstEvents: number[] = [];
    const ends: number[] = [];
    const started = performance.now();
    const one = async () => {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        dispatcher: client,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      let text = '';
      for await (const part of res.body) {
        if (text === '') firstEvents.push(performance.now() - started);
        text += part;
      }
      ends.push(performance.now() - started);
      return { status: res.statusCode, done: text.trimEnd().endsWith('data: [DONE]') };
    };
    const results = await Promise.all(Array.from({ length: STREAMS }, one));
    expect(results.filter((r) => r.status === 200 && r.done)).toHaveLength(STREAMS);
    // Every stream had its first event before the first one ended: none waited for a connection.
    expect(firstEvents).toHaveLength(STREAMS);
    expect(Math.max(...firstEvents)).toBeLessThan(Math.min(...ends));
  }, 60_000);
});
