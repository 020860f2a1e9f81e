/**
 * Headless Chromium for page tests: Debian's `chromium` package driven by playwright-core
 * (no browser download). A missing browser fails the test with what to install: `npm test`
 * finds or installs it first (scripts/test-deps.js) and passes it as CHROMIUM_PATH, so a
 * skip would only hide a broken setup.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface TestBrowser {
  readonly browser: Browser;
  /** A fresh context (cookies, cache) with a fixed viewport, closed with the browser. */
  newContext(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}: npm test installs it (scripts/test-deps.js), or apt-get install -y chromium, or set CHROMIUM_PATH.`);
  }
  let browser: Browser;
  try {
    // playwright gives each launch a new, empty profile in a temp dir and removes it on close.
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, timeout: 20_000 });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM_PATH} did not start: ${(err as Error).message}`, { cause: err });
  }
  return {
    browser,
    newContext: (viewport = { width: 1440, height: 900 }) => browser.newContext({ viewport }),
    close: () => browser.close(),
  };
}
