/** Active health checks against real HTTP servers on loopback. */
import { expect } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EndpointProber } from '../../runtime/src/health/prober';
import { systemClock } from '../../runtime/src/core/clock';
import { createUndiciHttp } from '../../runtime/src/providers/undici-http';
import { parseConfig } from '../../runtime/src/config/load';
import { createGateway } from '../../runtime/src/gateway';
import type { GatewayEvent } from '../../runtime/src/observability/events';
import { ManualClock } from '../helpers/manual-clock';
import { until } from '../helpers/until';

const http = createUndiciHttp();
afterAll(() => http.close());

async function server(status: () => number): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const s: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(status()).end('{}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits: () => hits, close: () => new Promise((r) => s.close(() => r())) };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EndpointProber', () => {
  it('marks an endpoint down on a 5xx or a refused connection and up again when it answers', async () => {
    let status = 503;
    const up = await server(() => status);
    const changes: string[] = [];
    const prober = new EndpointProber(
      [{ key: 'p/a/r', url: `${up.url}/v1/models`, kind: 'models' }],
      http,
      systemClock,
      { intervalMs: 1000, downIntervalMs: 20, timeoutMs: 500 },
      (k, down) => changes.push(`${k} ${down ? 'down' : 'up'}`),
    );
    prober.start();
    try {
      for (let i = 0; i < 50 && !prober.isDown('p/a/r'); i++) await wait(20);
      expect(prober.isDown('p/a/r')).toBe(true);
      status = 401; // a live server that wants a key is up
      for (let i = 0; i < 50 && prober.isDown('p/a/r'); i++) await wait(20);
      expect(prober.isDown('p/a/r')).toBe(false);
      expect(changes).toEqual(['p/a/r down', 'p/a/r up']);
    } finally {
      await prober.stop();
      await up.close();
    }
  });

  it('stops probing an endpoint removed while its probe was out', async () => {
    const up = await server(() => 503);
    const prober = new EndpointProber([{ key: 'x', url: up.url, kind: 'models' }], http, systemClock, { intervalMs: 1000, downIntervalMs: 10, timeoutMs: 500 });
    prober.start();
    try {
      for (let i = 0; i < 50 && up.hits() === 0; i++) await wait(5);
      prober.setTargets([]);
      await wait(50);
      const after = up.hits();
      await wait(200);
      expect(up.hits()).toBe(after);
    } finally {
      await prober.stop();
      await up.close();
    }
  });
});

describe("the gateway's health checks", () => {
  it('report a failed endpoint as ejected until its next check, at the interval the gateway was given', async () => {
    const dead = await server(() => 503);
    const clock = new ManualClock(1_000_000);
    const gw = createGateway(
      parseConfig({
        providers: [{ id: 'vllm', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: `${dead.url}/v1` }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'vllm', model: 'm' }] }],
      }),
      'all-in-one',
      { http: createUndiciHttp(), clock, probes: { downIntervalMs: 7_000, intervalMs: 60_000 }, observability: { destination: { write: () => true } } },
    );
    const ejections: GatewayEvent[] = [];
    gw.events.subscribe((e) => {
      if (e.type === 'ejection') ejections.push(e);
    });
    try {
      expect(await until(() => ejections.length > 0)).toBe(true);
      expect(ejections[0]).toMatchObject({ type: 'ejection', route: 'vllm/a/r', until: 1_000_000 + 7_000, reason: expect.stringContaining('503') });
    } finally {
      await gw.close();
      await dead.close();
    }
  });
});
