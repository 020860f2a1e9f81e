/**
 * Proxy and spoke count spend the same way and charge a request once: the spoke knows the
 * route and its price, computes the cost of what it served and reports it (a header on JSON
 * answers, the final usage chunk on streams); the proxy charges the tenant with it and the
 * spoke counts it in none of its spend totals. A proxy whose upstream reports no cost prices
 * the route it named, else its model's highest price.
 */
import OpenAI from 'openai';
import { createApp } from '../../runtime/src/app';
import { parseConfig } from '../../runtime/src/config/load';
import { createGateway } from '../../runtime/src/gateway';
import { createNodeHttp } from '../../runtime/src/providers/node-http';
import { hashKey } from '../../runtime/src/tenants/auth';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture, parsePrometheus, sumOf } from '../observability/capture';
import { CHEAP, DEAR, perMTok, PRICED_CHAT, reporting, usage } from './helpers';
import { LOOPBACK_OPERATORS } from '../helpers/operators';

const MESSAGES = [{ role: 'user' as const, content: 'Hello there.' }];
const COST = 300 * perMTok(1) + 50 * perMTok(2);

describe('proxy and spoke charge a request once', () => {
  let upstream: FakeOpenAI;
  let spoke: TestGateway;
  let proxy: TestGateway;
  const spokeLogs = new LineCapture();
  const proxyLogs = new LineCapture();
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startFakeOpenAI(reporting(usage(300, 50)));
    spoke = await startGateway(
      {
        providers: [{ id: 'cheap', type: 'openai-compatible', accounts: [{ id: 'x', endpoints: [{ region: 'r', url: upstream.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'cheap', model: 'small', price: CHEAP }] }],
        observability: { emf: true },
      },
      'spoke',
      { probes: false, observability: { destination: spokeLogs } },
    );
    proxy = await startGateway(
      {
        spokes: [{ id: 'spoke-1', url: spoke.url }],
        // The spokes' targets and prices, as the proxy knows them (its bound when a spoke says nothing).
        models: [PRICED_CHAT],
        tenants: [{ id: 'team', keys: [hashKey('key-team')] }],
        operators: LOOPBACK_OPERATORS,
      },
      'proxy',
      { probes: false, observability: { destination: proxyLogs } },
    );
    client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'key-team', maxRetries: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await spoke.close();
    await upstream.close();
  });

  it('JSON: the spoke reports the cost in a header, the proxy charges the tenant with it', async () => {
    const { response } = await client.chat.completions.create({ model: 'chat', messages: MESSAGES }).withResponse();
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(COST, 12);
    await until(() => proxyLogs.requests().length >= 1 && spokeLogs.requests().length >= 1);
    expect(proxyLogs.requests()[0].costUsd).toBeCloseTo(COST, 12);
    expect(proxyLogs.requests()[0].costCountedBy).toBeUndefined();
    // The spoke's line says what it served cost, and who counts it.
    expect(spokeLogs.requests()[0]).toMatchObject({ costCountedBy: 'proxy', route: 'cheap/x/r/small' });
    expect(spokeLogs.requests()[0].costUsd).toBeCloseTo(COST, 12);
  });

  it('streams: the cost rides in the final usage chunk and never reaches the client', async () => {
    for (const includeUsage of [true, false]) {
      const before = proxyLogs.requests().length;
      const stream = await client.chat.completions.create({ model: 'chat', messages: MESSAGES, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      const last = chunks.at(-1)!;
      if (includeUsage) expect(last.usage).toEqual(usage(300, 50));
      else expect(chunks.every((c) => !c.usage)).toBe(true);
      await until(() => proxyLogs.requests().length > before);
      expect(proxyLogs.requests()[before].costUsd).toBeCloseTo(COST, 12);
    }
  });

  it('counts the spend once: in the proxy’s totals, in none of the spoke’s', async () => {
    const charged = proxyLogs.requests().reduce((sum, l) => sum + (l.costUsd as number), 0);
    expect(charged).toBeCloseTo(3 * COST, 12);
    const proxyMetrics = parsePrometheus(await (await fetch(`${proxy.url}/metrics`)).text());
    expect(sumOf(proxyMetrics, 'gateway_cost_usd_total', { tenant: 'team', model: 'chat' })).toBeCloseTo(3 * COST, 12);
    const spokeMetrics = parsePrometheus(await (await fetch(`${spoke.url}/metrics`)).text());
    expect(spokeMetrics.filter((s) => s.name === 'gateway_cost_usd_total')).toEqual([]);
    expect(spokeLogs.emf().some((r) => 'CostUsd' in r)).toBe(false);
    const status = (await (await fetch(`${proxy.url}/status.json`)).json()) as { spend: { tenant: string; today: { usd: number } }[] };
    expect(status.spend[0].tenant).toBe('team');
    expect(status.spend[0].today.usd).toBeCloseTo(3 * COST, 9);
    expect(((await (await fetch(`${spoke.url}/status.json`)).json()) as { spend: unknown[] }).spend).toEqual([]);
  });

  it('without a report, prices the route a spoke named, else its model’s highest price', async () => {
    const named = await startFakeOpenAI({ ...reporting(usage(300, 50)), headers: { 'x-gateway-route': 'cheap/x/r/small' } });
    const silent = await startFakeOpenAI(reporting(usage(300, 50)));
    const logs = new LineCapture();
    const gw = await startGateway(
      {
        spokes: [{ id: 'old-spoke', url: named.origin }],
        models: [PRICED_CHAT],
      },
      'proxy',
      { probes: false, observability: { destination: logs } },
    );
    try {
      await gw.client.chat.completions.create({ model: 'chat', messages: MESSAGES });
      await gw.gateway.reload({ ...gw.gateway.config, spokes: [{ id: 'older-spoke', url: silent.origin }] });
      await gw.client.chat.completions.create({ model: 'chat', messages: MESSAGES });
      await until(() => logs.requests().length >= 2);
      expect(logs.requests()[0].costUsd).toBeCloseTo(COST, 12);
      expect(logs.requests()[1].costUsd).toBeCloseTo(300 * perMTok(10) + 50 * perMTok(30), 12);
    } finally {
      await gw.close();
      await named.close();
      await silent.close();
    }
  });
  it('a proxy with guardrails (it checks the request and sends it re-encoded) still reads the stream’s cost and keeps it from the client', async () => {
    const logs = new LineCapture();
    // The proxy's bound is the dear price: only the spoke's report gives the cheap route's cost.
    const guarded = await startGateway(
      {
        spokes: [{ id: 'spoke-1', url: spoke.url }],
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat', price: DEAR }] }],
        tenants: [{ id: 'team', keys: [hashKey('key-team')] }],
        guardrails: [{ id: 'no-secrets', local: { deny: ['secret project'] } }],
      },
      'proxy',
      { probes: false, observability: { destination: logs } },
    );
    try {
      const guardedClient = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'key-team', maxRetries: 0 });
      const stream = await guardedClient.chat.completions.create({ model: 'chat', messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.at(-1)!.usage).toEqual(usage(300, 50));
      await until(() => logs.requests().length >= 1);
      expect(logs.requests()[0]).toMatchObject({ tenant: 'team', status: 200 });
      expect(logs.requests()[0].costUsd).toBeCloseTo(COST, 12);
    } finally {
      await guarded.close();
    }
  });

  it('as Lambda runs the proxy (the Hono app, Node’s own http): charged once, the cost kept from the client', async () => {
    const logs = new LineCapture();
    const config = parseConfig({
      spokes: [{ id: 'spoke-1', url: spoke.url }],
      models: [PRICED_CHAT],
      tenants: [{ id: 'team', keys: [hashKey('key-team')], budget: { usdPerDay: 1 } }],
    });
    const gw = createGateway(config, 'proxy', { http: createNodeHttp(), probes: false, observability: { destination: logs, prometheus: false } });
    const app = createApp(gw);
    const ask = async (stream: boolean) => {
      const res = await app.fetch(
        new Request('https://gw.example/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer key-team' },
          body: JSON.stringify({ model: 'chat', stream, stream_options: stream ? { include_usage: true } : undefined, messages: MESSAGES }),
        }),
      );
      return { status: res.status, cost: res.headers.get('x-gateway-cost-usd'), text: await res.text() };
    };
    try {
      await gw.ready;
      const json = await ask(false);
      expect(json.status).toBe(200);
      expect(Number(json.cost)).toBeCloseTo(COST, 12);
      const stream = await ask(true);
      expect(stream.status).toBe(200);
      expect(stream.text).toContain('"usage":{');
      expect(stream.text).not.toContain('cost_usd');
      await until(() => logs.requests().length >= 2);
      for (const line of logs.requests()) {
        expect(line).toMatchObject({ tenant: 'team', status: 200 });
        expect(line.costUsd).toBeCloseTo(COST, 12);
      }
    } finally {
      await gw.close();
    }
  });
});
