// A real browser for tests: Debian's chromium driven by playwright-core (playwright's own browser
// downloads are not reachable from CI; .ci/run installs chromium with apt). Pages only reach the
// origins a test allows: every other request is aborted and recorded, so a page that depends on a
// CDN fails the test instead of quietly working online.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots and other files a person may want to look at after a run (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser tests need Chromium at ${CHROMIUM}: apt-get install chromium (bash .ci/run installs it)`);
  }
  // We run as root in CI, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface IsolatedPage {
  page: Page;
  /** Requests to origins that were not allowed (aborted). */
  blocked: string[];
  /** Messages the page logged as errors, and uncaught exceptions. */
  errors: string[];
}

/** A fresh page (own storage) that may only talk to the given origins (`http://host:port`). */
export async function isolatedPage(browser: Browser, allowedOrigins: string[]): Promise<IsolatedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const blocked: string[] = [];
  const errors: string[] = [];
  const allowed = (url: string) => {
    const { protocol, host } = new URL(url);
    // blob: and data: URLs never leave the page.
    return protocol === 'blob:' || protocol === 'data:' || allowedOrigins.some((o) => new URL(o).host === host);
  };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  // WebSockets are not routed by context.route: judge them too.
  await context.routeWebSocket(/.*/, (ws) => {
    if (allowed(ws.url().replace(/^ws/, 'http'))) return ws.connectToServer();
    blocked.push(ws.url());
    return ws.close({ code: 1008, reason: 'blocked by the test' });
  });
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, blocked, errors };
}

/** Saves a full-page screenshot under test-artifacts/ and prints where. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = resolve(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}
