/**
 * W3C trace context: the client's `traceparent`/`tracestate` reach the provider
 * unchanged, and the request's log line carries the trace id so a trace and a log line
 * can be joined.
 */
import { traceIdOf } from '../../runtime/src/observability/trace';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from './capture';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

describe('trace context through the gateway', () => {
  let fake: FakeOpenAI;
  let tg: TestGateway;
  const logs = new LineCapture();

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    tg = await startGateway(
      {
        providers: [{ id: 'p', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: fake.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'p', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false, observability: { destination: logs } },
    );
  });
  afterAll(async () => {
    await tg?.close();
    await fake?.close();
  });

  const ask = (headers: Record<string, string>, stream = false) => postJson(`${tg.url}/v1/chat/completions`, { model: 'chat', stream, messages: [{ role: 'user', content: 'hi' }] }, headers);

  it('passes traceparent and tracestate to the provider unchanged, streamed or not', async () => {
    for (const stream of [false, true]) {
      const res = await ask({ traceparent: TRACEPARENT, tracestate: TRACESTATE }, stream);
      expect(res.status).toBe(200);
      await res.text();
      const sent = fake.requests.at(-1)!;
      expect(sent.headers.traceparent).toBe(TRACEPARENT);
      expect(sent.headers.tracestate).toBe(TRACESTATE);
    }
  });

  it('writes the trace id into the request log line, and none for a request without one', async () => {
    const traced = await ask({ traceparent: TRACEPARENT });
    const plain = await ask({});
    await Promise.all([traced.text(), plain.text()]);
    const line = (res: Response) => logs.requests().find((l) => l.requestId === res.headers.get('x-request-id'));
    await until(() => line(traced) !== undefined && line(plain) !== undefined);
    expect(line(traced)).toMatchObject({ traceId: TRACE_ID });
    expect(line(plain)).toBeDefined();
    expect(line(plain)).not.toHaveProperty('traceId');
  });
});

describe('traceIdOf', () => {
  it('reads the trace id of a valid traceparent', () => {
    expect(traceIdOf(TRACEPARENT)).toBe(TRACE_ID);
    // A later version may append fields.
    expect(traceIdOf(`01-${TRACE_ID}-00f067aa0ba902b7-01-extra`)).toBe(TRACE_ID);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-00f067aa0ba902b7-01`],
    ['version 00 with extra fields', `00-${TRACE_ID}-00f067aa0ba902b7-01-extra`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-00f067aa0ba902b7-01`],
    ['garbage', 'not-a-traceparent'],
  ])('ignores %s', (_, value) => {
    expect(traceIdOf(value)).toBeUndefined();
  });
});
