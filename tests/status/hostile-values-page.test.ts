/**
 * Text a provider writes reaches the status page (a route's last failure, the recent
 * events): markup in it is shown as text, and no script of it runs.
 */
import type { Page } from 'playwright-core';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway';

const HOSTILE = `overloaded <img src=x onerror="window.pwned=1"><script>window.pwned=2</script></td></tr><b id="x">`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The page's last-failure cell and recent events, once `ready`; and whether anything injected exists or ran. */
async function untilShown(page: Page, ready: (failure: string) => boolean) {
  for (const end = Date.now() + 5_000; ; await sleep(50)) {
    const view = await page.evaluate(() => ({
      failure: document.querySelector<HTMLElement>('tr.route td.fail')?.innerText.trim() ?? '',
      recent: Array.from(document.querySelectorAll<HTMLElement>('#recent li')).map((li) => li.innerText),
      injected: document.querySelectorAll('img, b#x, script:not(:first-of-type)').length,
      pwned: (window as unknown as { pwned?: number }).pwned,
    }));
    if (ready(view.failure)) return view;
    if (Date.now() > end) throw new Error(`the status page never showed the failure; it showed ${JSON.stringify(view)}`);
  }
}

describe('GET /status in headless Chromium: hostile provider text', () => {
  let browser: TestBrowser;
  let fake: FakeOpenAI;
  let gw: TestGateway;
  beforeAll(async () => {
    [browser, fake] = await Promise.all([launchBrowser(), startFakeOpenAI()]);
    gw = await startGateway(
      {
        providers: [{ id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: fake.url }] }] }],
        models: [{ name: 'chat', targets: [{ provider: 'oa', model: 'gpt-x' }] }],
      },
      'all-in-one',
      { probes: false },
    );
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await browser?.close();
  });

  it('shows markup from a provider error message as text, and runs none of it', async () => {
    fake.always = { kind: 'status', status: 500, message: HOSTILE };
    for (let i = 0; i < 6; i++) await (await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).arrayBuffer();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gw.url}/status`);
    const view = await untilShown(page, (failure) => failure.includes('onerror'));
    expect(view.failure).toContain('<img src=x onerror="window.pwned=1">');
    expect(view.recent.join('\n')).toContain('<script>window.pwned=2</script>');
    expect(view.injected).toBe(0);
    expect(view.pwned).toBeUndefined();
    await context.close();
  });
});
