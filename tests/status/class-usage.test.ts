/** Each capacity class's use per route (/status): routes that are gone leave nothing behind. */
import { EventBus, type RequestEvent } from '../../runtime/src/observability/events';
import { ClassUsage } from '../../runtime/src/status/class-usage';
import { ManualClock } from '../helpers/manual-clock';

function served(route: string): RequestEvent {
  return {
    type: 'request',
    requestId: 'r',
    role: 'all-in-one',
    priority: 'batch',
    model: 'chat',
    stream: false,
    status: 200,
    route,
    attempts: [{ route, outcome: 'ok', ms: 1 }],
    continuations: 0,
    latencyMs: 1,
  };
}

describe('ClassUsage', () => {
  it('drops the windows of routes without use for a minute (spoke addresses that came and went)', () => {
    const clock = new ManualClock(1_000_000);
    const events = new EventBus();
    const usage = new ClassUsage(events, () => clock.now());
    for (let i = 0; i < 5_000; i++) events.emit(served(`spokes/s1/10.0.${i >> 8}.${i & 255}/chat`));
    expect(usage.size).toBe(5_000);
    clock.advance(30_000);
    events.emit(served('spokes/s1/10.1.0.1/chat'));
    clock.advance(31_000);
    events.emit(served('spokes/s1/10.1.0.2/chat'));
    // The route used 31 s ago still shows its use; those of a minute ago are gone.
    expect(usage.size).toBe(2);
    expect(usage.of('spokes/s1/10.1.0.1/chat').batch.admitted).toBe(1);
    usage.close();
  });
});
