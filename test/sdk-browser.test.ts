// The SDK as a web app uses it: src/sdk/client.ts bundled for the browser (esbuild), loaded by a
// page on another origin (a second local HTTP server), running a query, mutations and a
// subscription against the API over HTTP (CORS) and graphql-ws (the upgrade's Origin check). The
// API allows that origin through CORS_ORIGINS; an instance that does not, refuses the same page.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForFeed } from './helpers/actors.ts';
import { isolatedPage, launchBrowser, type IsolatedPage } from './helpers/browser.ts';
import { registerDrivers, registerRider } from './helpers/fixtures.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let site: Server;
let siteOrigin: string;
let stack: Stack;
let browser: Browser;

/** The SDK as one browser script: `Ridematch.createRidematchClient`. */
async function bundleSdk(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../src/sdk/client.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'Ridematch',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

beforeAll(async () => {
  const sdk = await bundleSdk();
  site = createServer((req, res) => {
    if (req.url === '/sdk.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdk);
    if (req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>A rider app</title><script src="/sdk.js"></script>');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  [stack, browser] = await Promise.all([startStack({ env: { CORS_ORIGINS: siteOrigin } }), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await new Promise((resolve) => site?.close(resolve));
});

/** The app's page: may reach its own origin and the API, nothing else. */
async function appPage(apiUrl: string): Promise<IsolatedPage> {
  const isolated = await isolatedPage(browser, [siteOrigin, new URL(apiUrl).origin]);
  await isolated.page.goto(siteOrigin);
  return isolated;
}

it('a page on another origin runs a query, mutations and a subscription through the bundled SDK', async () => {
  const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('d') }]);
  const riderId = uniqueId('r');
  await registerRider(stack.services, riderId);
  const pickup = { lat: 40.4168, lng: -3.7038 };
  const { page, blocked, errors } = await appPage(stack.httpUrl);

  // The driver's client sends queries and mutations over HTTP (CORS), its feed over graphql-ws.
  const driverSide = await page.evaluate(
    async ({ url, token, at }) => {
      const app = globalThis as any;
      app.driver = app.Ridematch.createRidematchClient({ url, token, transport: 'http' });
      app.offers = [];
      const me = await app.driver.me();
      const ack = await app.driver.updateDriverLocation({ ...at, recordedAt: new Date().toISOString() });
      app.driver.driverOffers({ next: (e: unknown) => app.offers.push(e), error: (e: unknown) => app.offers.push({ error: String(e) }) });
      return { me, ack };
    },
    { url: stack.httpUrl, token: await stack.token('driver', driver!.id), at: pickup },
  );
  expect(driverSide.me).toMatchObject({ __typename: 'Driver', id: driver!.id });
  expect(driverSide.ack).toMatchObject({ driverId: driver!.id, searchable: true, outOfOrder: false });
  await waitForFeed(stack, driver!.id);

  // The rider's client sends everything over graphql-ws (the SDK's default).
  const ride = await page.evaluate(
    async ({ url, token, at }) => {
      const rider = (globalThis as any).Ridematch.createRidematchClient({ url, token });
      return rider.requestRide({ pickup: at, dropoff: { lat: at.lat + 0.02, lng: at.lng }, carType: 'ECONOMY', paymentMethod: 'CASH' });
    },
    { url: stack.httpUrl, token: await stack.token('rider', riderId), at: pickup },
  );
  expect(ride).toMatchObject({ status: 'SEARCHING' });

  await page.waitForFunction(() => (globalThis as any).offers.length > 0, undefined, { timeout: 10_000 });
  const offers = await page.evaluate(() => (globalThis as any).offers);
  expect(offers[0]).toMatchObject({ __typename: 'RideOffer', ride: { id: ride.id } });
  const accepted = await page.evaluate((rideId) => (globalThis as any).driver.acceptRide(rideId), ride.id);
  expect(accepted).toMatchObject({ __typename: 'RideAssignment', ride: { id: ride.id, status: 'ASSIGNED' } });
  expect(await stack.services.db.ride.findUnique({ where: { id: ride.id } })).toMatchObject({ status: 'ASSIGNED', driverId: driver!.id });

  expect(blocked, 'requests to other hosts').toEqual([]);
  expect(errors, 'errors in the page').toEqual([]);
});

it('the same page is refused by an instance that does not allow its origin (HTTP and WebSocket)', async () => {
  const elsewhere = await stack.startInstance({ CORS_ORIGINS: 'https://app.ridematch.test' });
  try {
    const { page } = await appPage(elsewhere.httpUrl);
    const token = await stack.token('admin', 'ops-1');
    const outcome = await page.evaluate(
      async ({ url, token }) => {
        const { createRidematchClient } = (globalThis as any).Ridematch;
        const overHttp = await createRidematchClient({ url, token, transport: 'http' }).me().then(() => 'answered', (e: Error) => e.name);
        const overWs = await new Promise((resolve) => {
          const client = createRidematchClient({ url, token, retryAttempts: 0 });
          client.socket.on('closed', (e: { code: number }) => resolve(`closed ${e.code}`));
          client.me().then(() => resolve('answered'), () => {});
        });
        return { overHttp, overWs };
      },
      { url: elsewhere.httpUrl, token },
    );
    // A CORS refusal reaches a page as a failed fetch; a refused upgrade as an abnormal close.
    expect(outcome).toEqual({ overHttp: 'TypeError', overWs: 'closed 1006' });
  } finally {
    await elsewhere.stop();
  }
});
