/**
 * The public failover catalogue (failoverbench's S01-S16), played through a real gateway
 * against our own fault wall (tests/fakes/fault-wall.ts, raw TCP on loopback) with the
 * real OpenAI SDK. Each scenario has one model: the faulty primary and a healthy
 * fallback (`fb-ok`; S14: `fb-ok-noprefill`). Every scenario must reach its ideal
 * outcome (the complete canonical answer; S13: a clean error) with the catalogue's
 * checks clean: attempts the wall saw on the primary and the fallback, gaps between
 * attempts, wall-clock bounds, the reported model, usage, and a healthy call after.
 *
 * Time scale: the catalogue's timings (20 s slow first token, 30 s stall, 120 s silence,
 * 60 s outage, 15 ms between tokens) run at SCALE (1/10 of real time), and so do the
 * gateway's timeouts, circuit ejections and budget windows, and every bound that is
 * about those timings. Retry-After is 2 s in the header (whole seconds), so the checks
 * about it (S01) and about back-off (S02) keep their real values.
 */
import type OpenAI from 'openai';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import { CANONICAL_ANSWER, scaledTimings, startFaultWall, type FaultWall } from '../fakes/fault-wall';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { sleep } from '../helpers/until';

const SCALE = 0.1;
/** A duration of the catalogue's full profile, in scaled milliseconds. */
const scaled = (seconds: number) => seconds * 1000 * SCALE;
const PROMPT = 'Explain in exactly sixty words why a gateway earns trust only when the provider behind it misbehaves.';
const WALL = 'wall';

const SCENARIOS = {
  S01: 'fb-s01-429-retry-after',
  S02: 'fb-s02-429-persistent',
  S03: 'fb-s03-500-then-200',
  S04: 'fb-s04-503-persistent',
  S05: 'fb-s05-reset',
  S06: 'fb-s06-no-response',
  S07: 'fb-s07-slow-ttft',
  S08: 'fb-s08-stream-cut',
  S09: 'fb-s09-stream-stall',
  S10: 'fb-s10-malformed-chunk',
  S11: 'fb-s11-no-done',
  S12: 'fb-s12-context-length',
  S13: 'fb-s13-content-filter',
  S14: 'fb-s14-stream-cut',
  S15: 'fb-s15-flap',
  S16: 'fb-s16-503-persistent',
} as const;
type Id = keyof typeof SCENARIOS;
const fallbackOf = (id: Id) => (id === 'S14' ? 'fb-ok-noprefill' : 'fb-ok');

/** The gateway as any user would run it, its timeouts at the test's scale (completeMs: the catalogue's 30 s request timeout). */
function config(wall: FaultWall): GatewayConfigInput {
  const timeouts = { connectMs: 3000, firstByteMs: scaled(20), idleMs: scaled(20), completeMs: scaled(30) };
  const model = (name: string, fallback?: string) => ({
    name,
    targets: [{ provider: WALL, model: name }, ...(fallback ? [{ provider: WALL, model: fallback }] : [])],
    timeouts,
  });
  return {
    server: { requestTimeoutMs: scaled(120) },
    providers: [{ id: WALL, type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'local', url: wall.url }] }] }],
    // The defaults, at scale: adaptive floor 1 s, cold hedge delay 5 s.
    failover: { adaptiveTimeouts: { minMs: scaled(1) }, hedging: { coldDelayMs: scaled(5) } },
    models: [model('fb-ok'), ...(Object.keys(SCENARIOS) as Id[]).map((id) => model(SCENARIOS[id], fallbackOf(id)))],
  };
}

interface Result {
  ok: boolean;
  content: string;
  model?: string;
  usage?: OpenAI.CompletionUsage | null;
  error?: { status?: number; code?: string | null; message: string };
  ms: number;
}

const normalise = (s: string) => s.replace(/\s+/g, ' ').trim();

async function call(client: OpenAI, model: string, stream: boolean): Promise<Result> {
  const started = Date.now();
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: PROMPT }];
  try {
    if (!stream) {
      const c = await client.chat.completions.create({ model, messages });
      return { ok: true, content: c.choices[0]?.message.content ?? '', model: c.model, usage: c.usage, ms: Date.now() - started };
    }
    const chunks = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
    let content = '';
    let answered: string | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of chunks) {
      content += chunk.choices[0]?.delta.content ?? '';
      answered = chunk.model;
      if (chunk.usage) usage = chunk.usage;
    }
    return { ok: true, content, model: answered, usage, ms: Date.now() - started };
  } catch (err) {
    const e = err as { status?: number; code?: string | null; message?: string };
    return { ok: false, content: '', error: { status: e.status, code: e.code, message: String(e.message) }, ms: Date.now() - started };
  }
}

describe('the public failover catalogue, S01-S16, each at its ideal outcome', () => {
  let wall: FaultWall;
  let gw: TestGateway;

  beforeAll(async () => {
    wall = await startFaultWall(scaledTimings(SCALE));
    gw = await startGateway(config(wall), 'all-in-one', {
      circuit: { baseEjectionMs: scaled(1), maxEjectionMs: scaled(10), probeTimeoutMs: scaled(30) },
      retryBudget: { ratio: 0.2, minPerWindow: 20, windowMs: scaled(10) },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await wall?.close();
  });

  const primary = (id: Id) => wall.attempts(SCENARIOS[id]);
  const fallback = (id: Id) => wall.attempts(fallbackOf(id));

  /** The complete canonical answer, reported as the model that gave it, with usage. */
  function rescued(r: Result, by?: string): void {
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(normalise(r.content)).toBe(normalise(CANONICAL_ANSWER)); // never a truncated answer presented as success
    if (by) expect(r.model).toBe(by);
    expect(r.usage?.total_tokens).toBeGreaterThan(0);
  }

  /** A healthy fb-ok call through the same gateway succeeds after the scenario. */
  async function aliveAfter(): Promise<void> {
    const r = await call(gw.client, 'fb-ok', true);
    rescued(r, 'fb-ok');
    expect(r.ms).toBeLessThan(scaled(10));
  }

  /** One scenario as the catalogue plays it: the wall's log reset, one call. */
  async function play(id: Id, stream: boolean): Promise<Result> {
    wall.reset();
    return call(gw.client, SCENARIOS[id], stream);
  }

  /** Primary attempts within `windowMs` of the first. */
  const within = (id: Id, windowMs: number) => primary(id).filter((e) => e.t - primary(id)[0].t <= windowMs).length;

  describe.each([
    ['stream', true],
    ['whole answer', false],
  ])('%s', (_mode, stream) => {
    it('S01 429 with Retry-After: 2 s: waited out, the primary retried once after it, no hammering', async () => {
      const r = await play('S01', stream);
      rescued(r, SCENARIOS.S01);
      expect(primary('S01')).toHaveLength(2);
      expect(primary('S01')[1].t - primary('S01')[0].t).toBeGreaterThanOrEqual(1800);
      expect(within('S01', 1500)).toBeLessThanOrEqual(2);
      expect(fallback('S01')).toHaveLength(0);
      expect(r.ms).toBeLessThan(20_000);
      await aliveAfter();
    });

    it('S03 500 once: the same route again on a fresh connection, and the primary answers', async () => {
      const r = await play('S03', stream);
      rescued(r, SCENARIOS.S03);
      const [first, second] = primary('S03');
      expect(primary('S03')).toHaveLength(2);
      expect(second.connection).not.toBe(first.connection);
      expect(fallback('S03')).toHaveLength(0);
      expect(r.ms).toBeLessThan(scaled(20));
      await aliveAfter();
    });

    it('S04 503 persistent: one retry, then the fallback, within the budget', async () => {
      const r = await play('S04', stream);
      rescued(r, 'fb-ok');
      expect(primary('S04').length).toBeLessThanOrEqual(6);
      expect(fallback('S04')).toHaveLength(1);
      expect(r.ms).toBeLessThan(scaled(40));
      await aliveAfter();
    });

    it('S05 TCP reset before headers: retried on a fresh connection, the primary answers', async () => {
      const r = await play('S05', stream);
      rescued(r, SCENARIOS.S05);
      expect(primary('S05')).toHaveLength(2);
      expect(fallback('S05')).toHaveLength(0);
      expect(r.ms).toBeLessThan(scaled(20));
      await aliveAfter();
    });

    it('S06 no response at all: the silent route is not retried and the call ends inside the budget', async () => {
      const r = await play('S06', stream);
      rescued(r, 'fb-ok');
      expect(primary('S06')).toHaveLength(1);
      expect(r.ms).toBeLessThan(scaled(100));
      // A stream is hedged after the cold hedge delay; a whole answer waits for its timeout.
      if (stream) expect(r.ms).toBeLessThan(scaled(5) + 1000);
      await aliveAfter();
    });

    it('S12 context length exceeded: no second try of the model, the fallback (window unknown) answers', async () => {
      const r = await play('S12', stream);
      rescued(r, 'fb-ok');
      expect(primary('S12')).toHaveLength(1);
      expect(r.ms).toBeLessThan(scaled(20));
      await aliveAfter();
    });

    it('S13 content filter: a clean error with the provider reason, no retry, no fallback', async () => {
      const r = await play('S13', stream);
      expect(r.ok).toBe(false);
      expect(r.error).toMatchObject({ status: 400, code: 'content_policy_violation' });
      expect(r.error?.message).toContain('safety system');
      expect(primary('S13')).toHaveLength(1);
      expect(fallback('S13')).toHaveLength(0);
      expect(r.ms).toBeLessThan(scaled(20));
      await aliveAfter();
    });

    it('S16 fail-over accounting: the fallback model named, usage present, bounded attempts', async () => {
      const r = await play('S16', stream);
      rescued(r, 'fb-ok');
      expect(r.usage?.completion_tokens).toBeGreaterThan(0);
      expect(primary('S16').length).toBeLessThanOrEqual(6);
      await aliveAfter();
    });
  });

  it('S02 429 without Retry-After, persistent: no hammering, the fallback answers at once', async () => {
    const r = await play('S02', true);
    rescued(r, 'fb-ok');
    expect(within('S02', 3000)).toBeLessThanOrEqual(4);
    expect(primary('S02').length).toBeLessThanOrEqual(6);
    expect(r.ms).toBeLessThan(scaled(40));
    await aliveAfter();
  });

  it('S07 slow first token: hedged on the fallback well before the fixed first-byte timeout', async () => {
    const r = await play('S07', true);
    rescued(r, 'fb-ok');
    expect(r.ms).toBeLessThan(scaled(15)); // the catalogue's ttft_limit
    expect(primary('S07')).toHaveLength(1);
    await aliveAfter();
  });

  it('S08 stream cut mid-answer: continued on the fallback, the whole answer once', async () => {
    const r = await play('S08', true);
    rescued(r);
    expect(fallback('S08')).toHaveLength(1);
    expect(r.ms).toBeLessThan(scaled(40));
    await aliveAfter();
  });

  it('S09 stream stalls: detected within the idle timeout, continued, healthy after', async () => {
    const r = await play('S09', true);
    rescued(r);
    expect(r.ms).toBeLessThan(scaled(45));
    await aliveAfter();
  });

  it('S10 malformed chunk: dropped, the answer complete from the primary', async () => {
    const r = await play('S10', true);
    rescued(r, SCENARIOS.S10);
    expect(primary('S10')).toHaveLength(1);
    expect(fallback('S10')).toHaveLength(0);
    await aliveAfter();
  });

  it('S11 stream without [DONE]: finished promptly, usage reported', async () => {
    const r = await play('S11', true);
    rescued(r, SCENARIOS.S11);
    expect(r.ms).toBeLessThan(scaled(8));
    expect(fallback('S11')).toHaveLength(0);
    await aliveAfter();
  });

  it('S14 the fallback rejects prefill: continued without prefill, never the prefill 400 as the answer', async () => {
    const r = await play('S14', true);
    rescued(r);
    expect(fallback('S14').every((e) => e.lastRole !== 'assistant')).toBe(true);
    expect(r.ms).toBeLessThan(scaled(40));
    await aliveAfter();
  });

  it('S15 primary down for a while, then healthy: served by the fallback meanwhile, back on the primary soon after', async () => {
    wall.reset();
    const startedAt = Date.now();
    const count = 20;
    const interval = scaled(4);
    const results: Array<{ at: number; r: Result }> = [];
    for (let i = 0; i < count; i++) {
      const wait = i * interval - (Date.now() - startedAt);
      if (wait > 0) await sleep(wait);
      results.push({ at: Date.now() - startedAt, r: await call(gw.client, SCENARIOS.S15, true) });
    }
    for (const { r } of results) {
      rescued(r);
      expect(r.ms).toBeLessThan(scaled(30));
    }
    const down = wall.timings.flapDownMs;
    // Served during the outage (by the fallback), and the primary again within 30 s (scaled) of its recovery.
    expect(results.filter(({ at }) => at < down - interval).every(({ r }) => r.model === 'fb-ok')).toBe(true);
    const back = results.find(({ at, r }) => at >= down && r.model === SCENARIOS.S15);
    expect(back).toBeDefined();
    expect(back!.at - down).toBeLessThanOrEqual(scaled(30));
    expect(results.at(-1)!.r.model).toBe(SCENARIOS.S15);
    // Probe discipline: while ejected, about one primary attempt per request at most.
    const during = primary('S15').filter((e) => e.t < down).length;
    expect(during).toBeLessThanOrEqual(Math.ceil(down / interval) + 2);
    await aliveAfter();
  });
});
