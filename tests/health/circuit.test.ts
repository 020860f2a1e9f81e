import { Circuit, DEFAULT_CIRCUIT } from '../../runtime/src/health/circuit';
import { ManualClock } from '../helpers/manual-clock';

describe('Circuit (passive outlier ejection)', () => {
  const clock = new ManualClock(1_000_000);
  const make = () => new Circuit(clock, DEFAULT_CIRCUIT);

  it('ejects after consecutive failures and lets one probe through when the ejection ends', () => {
    const c = make();
    c.onFailure();
    c.onFailure();
    expect(c.state()).toBe('closed');
    c.onFailure();
    expect(c.state()).toBe('open');
    expect(c.tryAcquire()).toBe(false);
    clock.advance(DEFAULT_CIRCUIT.baseEjectionMs);
    expect(c.state()).toBe('half-open');
    expect(c.tryAcquire()).toBe(true);
    expect(c.tryAcquire()).toBe(false); // one probe at a time
    c.onSuccess();
    expect(c.state()).toBe('closed');
    expect(c.tryAcquire()).toBe(true);
  });

  it('grows the ejection time when probes fail, up to the cap', () => {
    const c = make();
    for (let i = 0; i < 3; i++) c.onFailure();
    const lengths: number[] = [];
    for (let i = 0; i < 7; i++) {
      const start = clock.now();
      const until = c.reopensAt();
      lengths.push(until - start);
      clock.set(until);
      expect(c.tryAcquire()).toBe(true);
      c.onFailure();
    }
    expect(lengths).toEqual([1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  });

  it('frees the probe slot when a probe is abandoned or times out', () => {
    const c = make();
    for (let i = 0; i < 3; i++) c.onFailure();
    clock.advance(1000);
    expect(c.tryAcquire()).toBe(true);
    c.onAbandon();
    expect(c.tryAcquire()).toBe(true);
    clock.advance(DEFAULT_CIRCUIT.probeTimeoutMs);
    expect(c.tryAcquire()).toBe(true);
  });

  it('ejects on a high failure rate even without a consecutive streak', () => {
    const c = make();
    for (let i = 0; i < 6; i++) {
      c.onSuccess();
      c.onFailure();
    }
    expect(c.state()).toBe('open');
  });

  it('does not eject on a low failure rate', () => {
    const c = make();
    for (let i = 0; i < 40; i++) {
      if (i % 5 === 0) c.onFailure();
      else c.onSuccess();
    }
    expect(c.state()).toBe('closed');
  });
});
