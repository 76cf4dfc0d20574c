// Issue 14, acceptance 3: the live map page in a real browser (Debian's chromium driven by
// playwright-core) while the simulator moves a small city: no data without an admin token, then
// drivers and rides appear and move, and nothing is loaded from anywhere else. Saves a screenshot
// (test-artifacts/map.png, or MAP_SCREENSHOT; docs/map.png was taken this way).
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Simulation } from '../src/sim/simulation.ts';
import { isolatedPage, launchBrowser, screenshot, type IsolatedPage } from './helpers/browser.ts';
import { startStack, TEST_SECRET, uniqueId, type Stack } from './helpers/stack.ts';

const CITY = { minLat: 12.95, minLng: 77.59, maxLat: 12.97, maxLng: 77.61 };

let stack: Stack;
let sim: Simulation;
let browser: Browser;
let isolated: IsolatedPage;
let page: Page;
let base: string;
beforeAll(async () => {
  stack = await startStack({ env: { MATCH_ROUND_TIMEOUT_MS: '8000' } });
  base = stack.httpUrl.replace(/\/graphql$/, '');
  sim = new Simulation({
    url: stack.httpUrl,
    jwtSecret: TEST_SECRET,
    drivers: 30,
    riders: 8,
    rideRatePerSecond: 1,
    bbox: CITY,
    reportIntervalMs: 500,
    acceptProbability: 0.6,
    answerDelayMs: [1_500, 3_500],
    tripMs: [8_000, 14_000],
    idPrefix: `${uniqueId('map')}-`,
  });
  await sim.register(() => {});
  await sim.start();
  browser = await launchBrowser();
  // Only our own server: a page that needed a CDN or tiles would fail here.
  isolated = await isolatedPage(browser, [base]);
  page = isolated.page;
  await page.setViewportSize({ width: 1280, height: 800 });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await stack?.stop();
});

type Seen = { snapshots: number; error: string | null; last: any };
/** What web/map/main.ts keeps on the page's window. */
declare global {
  interface Window { cityMap: Seen }
}
const seen = () => page.evaluate(() => window.cityMap);

it('shows nothing without an admin token, then the live city, and it moves', async () => {
  await page.goto(`${base}/map?lat=12.96&lng=77.60&zoom=14`);
  await page.waitForTimeout(1_500);
  expect((await seen()).snapshots).toBe(0);
  expect(await page.textContent('#status')).toBe('Not connected.');

  // A rider's token opens the socket but gets no snapshot.
  await page.fill('#token', await stack.token('rider', 'someone'));
  await page.click('#login button');
  await page.waitForFunction(() => window.cityMap.error !== null, null, { timeout: 15_000 });
  expect((await seen()).error).toMatch(/admin/);
  expect((await seen()).snapshots).toBe(0);

  await page.fill('#token', await stack.token('admin', 'ops-browser'));
  await page.click('#login button');
  await page.waitForFunction(() => (window.cityMap.last?.drivers.length ?? 0) >= 25, null, { timeout: 30_000 });
  const first: Seen = await seen();
  expect(first.last.level).toBe('DETAIL');

  // Rides: searching ones, offers out, or drivers on their way.
  await page.waitForFunction(() => {
    const s = window.cityMap.last;
    return !!s && s.rides.length + s.offers.length + s.assignments.length > 0;
  }, null, { timeout: 30_000 });

  // Moving: the same drivers somewhere else a few seconds later.
  await page.waitForFunction((n) => window.cityMap.snapshots >= n + 3, first.snapshots, { timeout: 15_000 });
  const later: Seen = await seen();
  const before = new Map<string, any>(first.last.drivers.map((d: any) => [d.id, d]));
  const moved = later.last.drivers.filter((d: any) => before.has(d.id) && (before.get(d.id).lat !== d.lat || before.get(d.id).lng !== d.lng));
  expect(moved.length).toBeGreaterThan(10);
  expect(await page.textContent('#status')).toMatch(/\d+ drivers \(\d+ free, \d+ offered, \d+ on a trip\)/);

  expect(isolated.blocked).toEqual([]);
  expect(isolated.errors).toEqual([]);
  const file = process.env.MAP_SCREENSHOT ? (await page.screenshot({ path: process.env.MAP_SCREENSHOT }), process.env.MAP_SCREENSHOT) : await screenshot(page, 'map');
  expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
}, 120_000);
