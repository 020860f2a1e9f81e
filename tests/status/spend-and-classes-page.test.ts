/**
 * The status page in headless Chromium with capacity classes and budgets: each route's
 * requests per class (and refusals) under its quota bar, a table of each tenant's use of
 * its own limits and its refusals, and a table of each tenant's spend today and this month
 * against its budget.
 */
import { hashKey } from '../../runtime/src/tenants/auth';
import { send } from '../capacity/helpers';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { reporting, usage } from '../spend/helpers';
import { LOOPBACK_OPERATORS } from '../helpers/operators';

describe('GET /status with classes and budgets, in headless Chromium', () => {
  let browser: TestBrowser;
  let upstream: FakeOpenAI;
  let gw: TestGateway;

  beforeAll(async () => {
    browser = await launchBrowser();
    upstream = await startFakeOpenAI({ ...reporting(usage(5, 50)), latencyMs: 1 });
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'acct', limits: { '*': { rpm: 10 } }, endpoints: [{ region: 'r', url: upstream.url }] }] }],
        // One cent a token: each answer costs 55 cents.
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'm', price: { inputPerMTok: 10_000, outputPerMTok: 10_000 } }] }],
        tenants: [
          { id: 'checkout', keys: [hashKey('key-critical')], priority: 'critical', budget: { usdPerDay: 2, usdPerMonth: 100 } },
          { id: 'nightly', keys: [hashKey('key-batch')], priority: 'batch', limits: { rpm: 20, concurrency: 2 } },
        ],
        capacity: { criticalReserve: 0.3, batchCeiling: 0.4 },
        operators: LOOPBACK_OPERATORS,
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await browser?.close();
  });

  it('shows each class on its route and each tenant’s spend against its budget', async () => {
    for (let i = 0; i < 6; i++) await send(gw.url, 'key-batch', { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 });
    for (let i = 0; i < 2; i++) await send(gw.url, 'key-critical', { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 });
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${gw.url}/status`);
    await page.waitForSelector('tr.route');
    await page.waitForSelector('#spend-rows tr');
    const view = await page.evaluate(() => ({
      classes: document.querySelector<HTMLElement>('tr.route .classes')?.innerText,
      spendShown: !(document.getElementById('spend-section') as HTMLElement).hidden,
      spend: Array.from(document.querySelectorAll('#spend-rows tr')).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td as HTMLElement).innerText)),
      heads: Array.from(document.querySelectorAll('#spend thead th')).map((th) => (th as HTMLElement).innerText),
      source: (document.getElementById('spend-source') as HTMLElement).innerText,
      tenantHeads: Array.from(document.querySelectorAll('#tenants thead th')).map((th) => (th as HTMLElement).innerText),
      tenants: Array.from(document.querySelectorAll('#tenant-rows tr')).map((tr) => ({
        id: tr.getAttribute('data-tenant'),
        refusing: tr.classList.contains('refusing'),
        cells: Array.from(tr.querySelectorAll('td')).map((td) => (td as HTMLElement).innerText.replace(/\s+/g, ' ').trim()),
      })),
    }));
    expect(problems).toEqual([]);
    expect(view.classes).toBe('critical 2 / 10 · standard 0 / 7 · batch 4 / 4 (2 refused)');
    expect(view.spendShown).toBe(true);
    // No shared store here: the page says whose spend it is.
    expect(view.source).toBe('this gateway instance only (no shared store)');
    expect(view.heads.map((h) => h.toLowerCase())).toEqual(['tenant', 'today', 'this month', 'in flight']);
    expect(view.tenantHeads.map((h) => h.toLowerCase())).toEqual(['tenant', 'requests / min', 'tokens / min', 'in flight', 'budget today', 'refused (last minute)']);
    expect(view.tenants[0]).toEqual({ id: 'checkout', refusing: false, cells: ['checkout critical', '–', '–', '–', '$1.10 of $2.00 (55%)', 'none'] });
    // The batch tenant: 4 of its 20 rpm (its 2 refusals by the class share were not counted), 4 x 55 tokens.
    expect(view.tenants[1]).toMatchObject({ id: 'nightly', refusing: true });
    expect(view.tenants[1].cells.slice(0, 5)).toEqual(['nightly batch', '4 / 20', '220 (no limit)', '0 / 2', '$2.20']);
    expect(view.tenants[1].cells[5]).toMatch(/^2 capacity_reserved since start: 2 capacity_reserved; last \d\d:\d\d:\d\d \(capacity_reserved\)$/);
    expect(view.spend).toEqual([
      ['checkout', '$1.10 of $2.00 (55%)', '$1.10 of $100.00 (1%)', '$0.00'],
      ['nightly', '$2.20', '$2.20', '$0.00'],
    ]);
    await context.close();
  });
});
