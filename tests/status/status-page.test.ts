/**
 * The live status page at /status, read in headless Chromium as a person would: the
 * overall state, each route's state in words, the cooldown of a throttled account, the
 * ejected endpoint, quota numbers and the recent failovers; then the ejected endpoint
 * recovers and the open page follows without a reload.
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { GatewayEvent } from '../../runtime/src/observability/events';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { postJson, simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';

const ROUTE_A = 'oa/acct-a/us-east/gpt-x';
const ROUTE_B = 'oa/acct-b/us-east/gpt-x';
const ROUTE_W = 'oa/acct-b/eu-west/gpt-x';
/** A model name that is also markup: the page must show it as text. */
const TRICKY_MODEL = 'mini <i>beta</i>';
const SCREENSHOT = join(tmpdir(), 'ai-gateway-status-page.png');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Asked {
  status: number;
  route: string | null;
}

async function ask(gw: TestGateway, model = 'chat'): Promise<Asked> {
  const res = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'hello' }] });
  await res.arrayBuffer();
  return { status: res.status, route: res.headers.get('x-gateway-route') };
}

/** What a person reads on the page at one instant (the page renders each snapshot at once). */
interface PageView {
  overall: string;
  summary: string;
  totals: string;
  /** Session affinity and prompt-cache totals. */
  sessions: string;
  /** Model header rows' text by model name. */
  models: Record<string, string>;
  /** Each route's cells by column header (lower case). */
  rows: Record<string, Record<string, string>>;
  recent: string[];
  /** The failover settings table: each model's cells. */
  settings: Record<string, string[]>;
  /** Elements that only markup injected from data could have created. */
  injected: number;
  /** Set once after load: still there means the page was never reloaded. */
  marker: boolean;
}

function readPage(page: Page): Promise<PageView> {
  return page.evaluate(() => {
    const text = (el: Element | null) => (el as HTMLElement | null)?.innerText.trim() ?? '';
    const heads = Array.from(document.querySelectorAll('#routes thead th')).map((th) => text(th).toLowerCase());
    const rows: Record<string, Record<string, string>> = {};
    for (const tr of Array.from(document.querySelectorAll('tr.route'))) {
      const cells = Array.from(tr.querySelectorAll('td')).map(text);
      rows[tr.getAttribute('data-route') ?? '?'] = Object.fromEntries(heads.map((h, i) => [h, cells[i] ?? '']));
    }
    const models: Record<string, string> = {};
    for (const body of Array.from(document.querySelectorAll('#routes tbody'))) models[body.getAttribute('data-model') ?? '?'] = text(body.querySelector('tr.model'));
    return {
      overall: text(document.getElementById('overall')),
      summary: text(document.getElementById('summary')),
      totals: text(document.getElementById('totals')),
      sessions: text(document.getElementById('sessions')),
      models,
      rows,
      recent: Array.from(document.querySelectorAll('#recent li')).map(text),
      settings: Object.fromEntries(
        Array.from(document.querySelectorAll('#settings tr')).map((tr) => [tr.getAttribute('data-model') ?? '?', Array.from(tr.querySelectorAll('td')).map(text)]),
      ),
      injected: document.querySelectorAll('i, script:not(:first-of-type), img').length,
      marker: (window as unknown as { marker?: boolean }).marker === true,
    };
  });
}

/** Reads the page until `ready` holds (bounded), and returns that view. */
async function untilPage(page: Page, what: string, ready: (v: PageView) => boolean, timeoutMs = 5_000): Promise<PageView> {
  let view = await readPage(page);
  for (const end = Date.now() + timeoutMs; !ready(view); view = await readPage(page)) {
    if (Date.now() > end) throw new Error(`the status page never showed ${what}; it showed ${JSON.stringify(view, null, 1)}`);
    await sleep(50);
  }
  return view;
}

let browser: TestBrowser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('GET /status in headless Chromium, all-in-one', () => {
  let a: FakeOpenAI;
  let b: FakeOpenAI;
  let w: FakeOpenAI;
  let gw: TestGateway;

  beforeAll(async () => {
    [a, b, w] = await Promise.all([startFakeOpenAI({ latencyMs: 5 }), startFakeOpenAI({ latencyMs: 5 }), startFakeOpenAI({ latencyMs: 5 })]);
    gw = await startGateway(
      {
        providers: [
          {
            id: 'oa',
            type: 'openai-compatible',
            accounts: [
              { id: 'acct-a', limits: { 'gpt-x': { rpm: 120, tpm: 200_000 } }, endpoints: [{ region: 'us-east', url: a.url }] },
              {
                id: 'acct-b',
                limits: { '*': { rpm: 600, tpm: 1_000_000 } },
                endpoints: [
                  { region: 'eu-west', url: w.url },
                  { region: 'us-east', url: b.url },
                ],
              },
            ],
          },
        ],
        models: [
          { name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] },
          { name: TRICKY_MODEL, targets: [{ provider: 'oa', model: 'gpt-x-mini' }] },
        ],
      },
      'all-in-one',
      // Chance fixed: routes are tried in config order (A, then eu-west, then us-east), so
      // every request meets A's throttling and eu-west's failures before us-east answers.
      { probes: false, random: () => 0 },
    );
  });

  afterAll(async () => {
    await gw?.close();
    await Promise.all([a, b, w].map((f) => f?.close()));
  });

  it('shows health, cooldowns, ejections, quotas and failovers, and follows changes live', async () => {
    const asked: Asked[] = [];
    for (let i = 0; i < 12; i++) asked.push(await ask(gw));
    for (let i = 0; i < 3; i++) asked.push(await ask(gw, TRICKY_MODEL));

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A CSP violation or script error shows here; the browser's own favicon request does not count.
      if (m.type() === 'error' && !/favicon/.test(m.location().url)) problems.push(`console: ${m.text()}`);
    });
    const res = await page.goto(`${gw.url}/status`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'sha256-/);

    const healthy = await untilPage(page, 'six routes', (v) => Object.keys(v.rows).length === 6);
    expect(healthy.overall).toBe('OK');
    expect(healthy.summary).toBe('6 routes: 6 healthy');
    expect(healthy.models).toEqual({ chat: 'chat OK 3 of 3 routes serving', [TRICKY_MODEL]: `${TRICKY_MODEL} OK 3 of 3 routes serving` });
    expect(healthy.injected).toBe(0); // the model name was shown as text, not parsed
    expect(healthy.sessions).toMatch(/^no sessions yet \(memory\) · prompt cache: 0% of \d+ input tokens read, 0 written$/);
    expect(healthy.recent).toEqual(['Nothing yet: no failover, ejection or cooldown since start.']);
    await page.evaluate(() => ((window as unknown as { marker: boolean }).marker = true));

    // Account A throttles with a long Retry-After; the eu-west endpoint fails until ejected.
    const seen = new Set<string>();
    const unsubscribe = gw.gateway.events.subscribe((e: GatewayEvent) => {
      if (e.type === 'ejection' || e.type === 'cooldown') seen.add(`${e.type} ${e.route}`);
    });
    a.always = { kind: 'status', status: 429, headers: { 'retry-after': '30' } };
    w.always = { kind: 'status', status: 500 };
    for (let n = 0; n < 40 && !(seen.has(`cooldown ${ROUTE_A}`) && seen.has(`ejection ${ROUTE_W}`)); n++) {
      asked.push(...(await Promise.all([ask(gw), ask(gw), ask(gw)])));
    }
    unsubscribe();
    expect([...seen]).toEqual(expect.arrayContaining([`cooldown ${ROUTE_A}`, `ejection ${ROUTE_W}`]));

    // Light traffic meanwhile: each probe of the ejected endpoint fails and keeps it out.
    let keep = true;
    const keeper = (async () => {
      while (keep) {
        asked.push(await ask(gw));
        await sleep(150);
      }
    })();
    let degraded: PageView;
    try {
      degraded = await untilPage(
        page,
        'A cooling down and eu-west ejected',
        (v) => /cooldown$/.test(v.rows[ROUTE_A]?.state ?? '') && /ejected$/.test(v.rows[ROUTE_W]?.state ?? '') && v.recent.some((t) => /failover/.test(t)),
      );
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      keep = false;
      await keeper;
    }
    expect(degraded.overall).toBe('DEGRADED');
    expect(degraded.summary).toBe('6 routes: 4 healthy · 1 cooldown · 1 ejected');
    expect(degraded.models.chat).toBe('chat DEGRADED 1 of 3 routes serving');
    expect(degraded.models[TRICKY_MODEL]).toBe(`${TRICKY_MODEL} OK 3 of 3 routes serving`);

    const rowA = degraded.rows[ROUTE_A];
    expect(rowA).toMatchObject({ provider: 'oa openai-compatible', account: 'acct-a', region: 'us-east', 'upstream model': 'gpt-x' });
    expect(rowA.state).toBe('❄ cooldown');
    // Retry-After 30 s: a person sees about half a minute left, and when it ends.
    expect(rowA.until).toMatch(/^ends in (2\d|30) s \(\d\d:\d\d:\d\d\)$/);
    expect(rowA['requests / min']).toMatch(/^\d+ \/ 120$/);
    expect(rowA['tokens / min']).toMatch(/^\d+ \/ 200k$/);
    expect(rowA['last failure']).toMatch(/^\d\d:\d\d:\d\d throttled/);

    const rowW = degraded.rows[ROUTE_W];
    expect(rowW.state).toBe('✖ ejected');
    expect(rowW.until).toMatch(/^retry in \d+ s \(\d\d:\d\d:\d\d\)$/);
    expect(rowW['last failure']).toMatch(/transient: upstream error \(500/);

    const rowB = degraded.rows[ROUTE_B];
    expect(rowB.state).toBe('✔ healthy');
    expect(rowB.until).toBe('–');
    expect(rowB.latency).toMatch(/^\d+ ms$/);
    // Whole answers only so far: no stream observed, the fixed first-chunk timeout, the cold hedge delay.
    expect(rowB['first chunk']).toBe('no data timeout 20 s hedge after 5 s');
    expect(degraded.settings.chat).toEqual(['chat', 'on', 'up to 5 s', '20 s, learnt 3 × p99 ≥ 1 s', '90 s', '5% of streams, after p95 (5 s until learnt)']);
    expect(rowB['in flight']).toMatch(/^\d+$/);
    expect(rowB['requests / min']).toMatch(/^\d+ \/ 600$/);
    expect(degraded.rows[`oa/acct-a/us-east/gpt-x-mini`]['requests / min']).toMatch(/^\d+ \(no limit\)$/);

    expect(degraded.recent).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`failover\\s+chat: .*${esc(ROUTE_A)} \\(throttled 429\\).* → served by ${esc(ROUTE_B)}`)),
        expect.stringMatching(new RegExp(`failover\\s+chat: .*${esc(ROUTE_W)} \\(transient 500\\).* → served by ${esc(ROUTE_B)}`)),
        expect.stringMatching(new RegExp(`ejection\\s+${esc(ROUTE_W)} until \\d\\d:\\d\\d:\\d\\d transient`)),
        expect.stringMatching(new RegExp(`cooldown\\s+${esc(ROUTE_A)} until \\d\\d:\\d\\d:\\d\\d throttled`)),
      ]),
    );
    expect(degraded.totals).toMatch(/^\d+ requests · 0 failed · \d+ failovers? · \d+ ejections? · \d+ cooldowns?$/);

    const png = await readFile(SCREENSHOT);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.length).toBeGreaterThan(10_000);

    // The endpoint recovers: once its ejection is over a request goes there and succeeds.
    w.always = undefined;
    let recovered = false;
    for (let n = 0; n < 120 && !recovered; n++) {
      const r = await ask(gw);
      asked.push(r);
      recovered = r.route === ROUTE_W;
      if (!recovered) await sleep(100);
    }
    expect(recovered).toBe(true);
    // Quota numbers are those of /healthz once traffic has stopped.
    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as { routes: Array<{ route: string; headroom: { requestsUsed: number } }> };
    const usedB = health.routes.find((r) => r.route === ROUTE_B)!.headroom.requestsUsed;
    expect(usedB).toBeGreaterThan(0);

    const after = await untilPage(page, 'eu-west healthy again', (v) => v.rows[ROUTE_W]?.state === '✔ healthy' && v.rows[ROUTE_B]?.['requests / min'] === `${usedB} / 600`);
    expect(after.summary).toBe('6 routes: 5 healthy · 1 cooldown');
    expect(after.overall).toBe('DEGRADED'); // A still cools down
    expect(after.models.chat).toBe('chat DEGRADED 2 of 3 routes serving');
    expect(after.totals).not.toBe(degraded.totals);

    // All of it live: the page was never reloaded, and it broke no rule of its own CSP.
    expect(after.marker).toBe(true);
    expect(problems).toEqual([]);
    // Failover hid every failure from the clients.
    expect(asked.filter((r) => r.status !== 200)).toEqual([]);
    await context.close();
  });
});

describe('GET /status in headless Chromium, proxy role', () => {
  it('lists each spoke by id and address, and shows a dead spoke as down with its health check', async () => {
    const spokeA = await startGateway(simulatedConfig(), 'spoke');
    const spokeB = await startGateway(simulatedConfig(), 'spoke');
    let spokeAClosed = false;
    const proxy = await startGateway(
      {
        spokes: [
          { id: 'spoke-a', url: spokeA.url },
          { id: 'spoke-b', url: spokeB.url },
        ],
        models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
      },
      'proxy',
      { probes: { intervalMs: 200, downIntervalMs: 100, timeoutMs: 500 } },
    );
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${proxy.url}/status`);
      const routeA = `spokes/spoke-a/127.0.0.1/chat`;
      const up = await untilPage(page, 'both spokes', (v) => Object.keys(v.rows).length === 2);
      expect(up.overall).toBe('OK');
      expect(up.rows[routeA]).toMatchObject({ provider: 'spoke', spoke: 'spoke-a', address: '127.0.0.1', state: '✔ healthy' });

      await spokeA.close();
      spokeAClosed = true;
      const down = await untilPage(page, 'spoke-a down', (v) => v.rows[routeA]?.state === '▼ down');
      expect(down.overall).toBe('DEGRADED');
      expect(down.summary).toBe('2 routes: 1 healthy · 1 down');
      // Refused once it is gone; reset when a probe was connecting as it closed.
      expect(down.rows[routeA]['last failure']).toMatch(/^health check: GET http:\/\/127\.0\.0\.1:\d+\/healthz: (ECONNREFUSED|ECONNRESET)/);
    } finally {
      await context.close();
      await proxy.close();
      if (!spokeAClosed) await spokeA.close();
      await spokeB.close();
    }
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
