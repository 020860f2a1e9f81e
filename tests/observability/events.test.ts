/**
 * The event bus on the Node server hands request events to the observers (log lines,
 * EMF, metrics, the status page) in batches after the answers went out; whatever reads
 * what the observers keep, and closing the gateway, gets every answered request first.
 */
import { EventBus, type GatewayEvent, type RequestEvent } from '../../runtime/src/observability/events';
import { startFakeOpenAI } from '../fakes/openai';
import { startGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from './capture';

const request = (requestId: string): RequestEvent => ({
  type: 'request',
  requestId,
  role: 'all-in-one',
  model: 'm',
  stream: false,
  status: 200,
  attempts: [],
  continuations: 0,
  latencyMs: 1,
});
const idOf = (e: GatewayEvent) => (e.type === 'request' ? e.requestId : e.type);

function observed(bus: EventBus): string[] {
  const seen: string[] = [];
  bus.subscribe((e) => seen.push(idOf(e)));
  return seen;
}

describe('request events after the answer', () => {
  it('reach the observers together, within the batch time, in the order they came', async () => {
    const bus = new EventBus({ deferAfterReply: true, batchMs: 30 });
    const seen = observed(bus);
    for (const id of ['r1', 'r2', 'r3']) bus.emitAfterReply(request(id));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]); // not between one answer and the next request
    expect(await until(() => seen.length === 3, 1_000)).toBe(true);
    expect(seen).toEqual(['r1', 'r2', 'r3']);
  });

  it('go first when an event is emitted at once, so observers see them in order', () => {
    const bus = new EventBus({ deferAfterReply: true, batchMs: 60_000 });
    const seen = observed(bus);
    bus.emitAfterReply(request('r1'));
    bus.emit({ type: 'ejection', route: 'p/a/r/m', until: 0, reason: 'down' });
    expect(seen).toEqual(['r1', 'ejection']);
  });

  it('are all handed over by flush(), and a full batch does not wait for its time', async () => {
    const bus = new EventBus({ deferAfterReply: true, batchMs: 60_000 });
    const seen = observed(bus);
    bus.emitAfterReply(request('r1'));
    bus.flush();
    expect(seen).toEqual(['r1']);
    bus.flush(); // nothing waiting: nothing twice
    expect(seen).toEqual(['r1']);
    for (let i = 0; i < 256; i++) bus.emitAfterReply(request(`b${i}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(257);
  });

  it('are handed over at once, what waits first, once the gateway is closing', () => {
    const bus = new EventBus({ deferAfterReply: true, batchMs: 60_000 });
    const seen = observed(bus);
    bus.emitAfterReply(request('r1'));
    bus.deliverAtOnce();
    expect(seen).toEqual(['r1']);
    bus.emitAfterReply(request('cut-off-by-the-shutdown'));
    expect(seen).toEqual(['r1', 'cut-off-by-the-shutdown']);
  });

  it('are handed over at once where the process may freeze after the answer (Lambda)', () => {
    const bus = new EventBus({ deferAfterReply: false });
    const seen = observed(bus);
    bus.emitAfterReply(request('r1'));
    expect(seen).toEqual(['r1']);
  });

  it('through the gateway: the last request is logged when the gateway closes right after it', async () => {
    const fake = await startFakeOpenAI({ reply: 'ok' });
    const out = new LineCapture();
    const tg = await startGateway(
      {
        providers: [{ id: 'p', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: fake.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'p', model: 'm' }] }],
      },
      'all-in-one',
      { probes: false, observability: { destination: out } },
    );
    try {
      await tg.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    } finally {
      await tg.close();
      await fake.close();
    }
    expect(out.requests()).toEqual([expect.objectContaining({ model: 'chat', status: 200 })]);
  });
});
