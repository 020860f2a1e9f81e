/**
 * The noisy neighbour: tenant A floods far over its 20 requests a minute (200 concurrent
 * requests, then 50 a second, from its own process as from its own machines) while
 * tenant B sends steady traffic. A is refused at its own limit (429, Retry-After, its
 * own code); B sees no error, and its median latency stays within noise of what it was
 * without the flood.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashKey } from '../../runtime/src/tenants/auth';
import { tenantQuotaKey } from '../../runtime/src/tenants/limiter';
import { simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';
import { chatAs, median } from './helpers';

const STEADY = 40;
const BURST = 200;
/** After the burst: A's steady rate, requests per second (its limit is 20 a minute). */
const RATE = 50;

interface FloodSummary {
  sent: number;
  statuses: Record<string, number>;
  codes: Record<string, number>;
  retryAfter: Array<string | null>;
  messages: string[];
}

/** Starts the flood in its own process; `stop()` ends it after the current burst and returns its summary. */
function startFlood(url: string, key: string) {
  const child = spawn(process.execPath, [join(__dirname, 'flood-client.js'), url, key, String(BURST), String(RATE), '30'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    async stop(): Promise<FloodSummary> {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`flood client exited with ${code}: ${err}`);
      return JSON.parse(out) as FloodSummary;
    },
  };
}

describe('noisy neighbour', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({
      ...simulatedConfig(),
      tenants: [
        { id: 'team-a', keys: [hashKey('key-a')], limits: { rpm: 20 } },
        { id: 'team-b', keys: [hashKey('key-b')], limits: { rpm: 10_000, tpm: 10_000_000, concurrency: 5 } },
      ],
    });
  });
  afterAll(() => gw.close());

  /** B's steady traffic: one request after the other; its latencies and statuses. */
  async function steadyB(): Promise<{ ms: number[]; statuses: number[] }> {
    const ms: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < STEADY; i++) {
      const t0 = performance.now();
      const res = await chatAs(gw.url, 'key-b');
      await res.arrayBuffer();
      ms.push(performance.now() - t0);
      statuses.push(res.status);
    }
    return { ms, statuses };
  }

  it('throttles A at its own limit while B is served as before', async () => {
    // Warm up connections and code paths so the baseline is not the first request's cost.
    for (let i = 0; i < 5; i++) await (await chatAs(gw.url, 'key-b')).arrayBuffer();
    const baseline = await steadyB();
    expect(baseline.statuses.every((s) => s === 200)).toBe(true);

    const flood = startFlood(gw.url, 'key-a');
    // B's traffic starts as soon as A's burst arrives.
    for (let i = 0; i < 500 && gw.gateway.quota.peek(tenantQuotaKey('team-a'), { rpm: 20 }).requestsUsed === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const during = await steadyB();
    const a = await flood.stop();

    expect(during.statuses.every((s) => s === 200)).toBe(true);
    // Generous bound: loopback, a simulated upstream of a few ms, and a busy test machine.
    expect(median(during.ms)).toBeLessThanOrEqual(2 * median(baseline.ms) + 25);

    expect(a.sent).toBeGreaterThan(BURST);
    expect(a.statuses).toEqual({ 200: 20, 429: a.sent - 20 });
    expect(a.codes).toEqual({ 'rate_limit_error tenant_rate_limited': a.sent - 20 });
    expect(a.retryAfter.every((s) => s !== null && /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 60)).toBe(true);
    expect(a.messages[0]).toMatch(/^Tenant "team-a" is over its limit of 20 requests per minute\. Retry after \d+ s\.$/);

    // Each tenant's window holds only its own requests: A's refusals took nothing from B.
    expect(gw.gateway.quota.peek(tenantQuotaKey('team-a'), { rpm: 20 }).requestsUsed).toBe(20);
    expect(gw.gateway.quota.peek(tenantQuotaKey('team-b'), { rpm: 10_000 }).requestsUsed).toBe(5 + 2 * STEADY);
  });
});
