// GraphiQL as a person uses it. It comes entirely from this server (a page that may reach no other
// host renders and works), a token typed into the Headers tab runs queries and subscriptions as
// that identity (over HTTP, and over graphql-ws in each operation's extensions.headers), a
// subscription refused shows why, and the Docs pane shows the schema's descriptions.
import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST, waitForFeed } from './helpers/actors.ts';
import { isolatedPage, launchBrowser, screenshot, type IsolatedPage } from './helpers/browser.ts';
import { registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { openGraphiQL } from './helpers/graphiql-page.ts';
import { eventually, http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const ASSET = /"(\/graphiql\/assets\/[^"]+)"/g;
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const page = () => fetch(stack.httpUrl, { headers: { accept: 'text/html' } });

describe('GraphiQL is served by this server alone', () => {
  it('the page links only our own asset files, which are exactly the package files', async () => {
    const html = await (await page()).text();
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    const urls = [...new Set([...html.matchAll(ASSET)].map((m) => m[1]!))];
    // @graphql-yoga/render-graphiql ships each file as a string (the favicon as a data: URL).
    const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
    const favicon = Buffer.from(bundle.favicon.split(',')[1]!, 'base64');
    const packaged = [bundle.js, bundle.css, bundle.editorWorkerService, bundle.jsonWorker, bundle.graphqlWorker, favicon].map(sha256);
    const served: string[] = [];
    for (const path of urls) {
      const res = await fetch(new URL(path, stack.httpUrl), { headers: { 'accept-encoding': 'identity' } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control'), path).toContain('immutable');
      served.push(sha256(new Uint8Array(await res.arrayBuffer())));
    }
    expect(served.sort()).toEqual(packaged.sort());
  });

  it('gzips an asset for a client that accepts it', async () => {
    const [path] = [...(await (await page()).text()).matchAll(ASSET)].map((m) => m[1]!).filter((p) => p.endsWith('graphiql.js'));
    const plain = await fetch(new URL(path!, stack.httpUrl), { headers: { 'accept-encoding': 'identity' } });
    const gzipped = await fetch(new URL(path!, stack.httpUrl), { headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(gzipped.headers.get('content-length'))).toBeLessThan(Number(plain.headers.get('content-length')) / 2);
    expect(await gzipped.text()).toBe(await plain.text()); // fetch decompresses
  });

  it('answers 404 for other files, and serves nothing when GraphiQL is off', async () => {
    const [path] = [...(await (await page()).text()).matchAll(ASSET)].map((m) => m[1]!);
    expect((await fetch(new URL(path!.replace(/[^/]+$/, 'package.json'), stack.httpUrl))).status).toBe(404);
    const off = await stack.startInstance({ GRAPHIQL: 'false' });
    expect((await fetch(new URL(path!, off.httpUrl))).status).toBe(404);
    expect(await (await fetch(off.httpUrl, { headers: { accept: 'text/html' } })).text()).not.toContain('GraphiQL');
    await off.stop();
  });
});

describe('GraphiQL in a browser that may reach no other host', () => {
  const isolated = () => isolatedPage(browser, [new URL(stack.httpUrl).origin]);
  /** Nothing was asked of another host, and the page logged no error (but the 401 a bad token earns). */
  const expectSelfContained = ({ blocked, errors }: IsolatedPage) => {
    expect(blocked, 'requests to other hosts').toEqual([]);
    expect(errors.filter((e) => !/status of 401/.test(e)), 'errors in the page').toEqual([]);
  };

  it('a token typed into the Headers tab runs a query and the driverOffers subscription as that driver', async () => {
    const [driver] = await registerDrivers(stack.services, [{ id: uniqueId('d') }]);
    const riderId = uniqueId('r');
    await registerRider(stack.services, riderId);
    const pickup = { lat: 12.9716, lng: 77.5946 };
    await report(stack.services, driver!, pickup);
    const token = await stack.token('driver', driver!.id);

    const tab = await isolated();
    const { page } = tab;
    const graphiql = await openGraphiQL(page, stack.httpUrl);
    await graphiql.typeHeaders(`{"Authorization":"Bearer ${token}"}`);

    // A query goes over HTTP with the header.
    await graphiql.typeQuery('{ me { __typename ... on Driver { id } } }');
    await graphiql.run();
    await graphiql.resultShows(['"Driver"', driver!.id]);

    // A subscription goes over graphql-ws: the socket is anonymous, the operation carries the token.
    await graphiql.typeQuery('subscription { driverOffers { __typename ... on RideOffer { ride { id } } } }');
    await graphiql.run();
    await waitForFeed(stack, driver!.id);
    // The browser reports a sent frame asynchronously: the server may have the feed first.
    const subscribe = await eventually(() => graphiql.frames.find((f) => f.sent && f.message.type === 'subscribe') ?? Promise.reject(new Error('no subscribe frame seen yet')));
    const init = graphiql.frames.find((f) => f.sent && f.message.type === 'connection_init');
    expect(init, 'connection_init precedes the subscribe').toBeDefined();
    expect(init?.message.payload ?? {}).not.toHaveProperty('Authorization');
    expect(subscribe?.message.payload.extensions?.headers).toEqual({ Authorization: `Bearer ${token}` });
    expect(await page.locator('.graphiql-response .graphiql-spinner').count(), 'waiting for the first event').toBe(1);

    const requested = await http(
      stack.httpUrl,
      REQUEST,
      { input: { pickup, dropoff: { lat: 12.93, lng: 77.62 }, carType: 'ECONOMY', paymentMethod: 'CARD' } },
      await stack.token('rider', riderId),
    );
    const rideId = requested.data?.requestRide.id;
    expect(rideId, JSON.stringify(requested)).toBeTruthy();
    await graphiql.resultShows(['"RideOffer"', rideId]);
    await screenshot(page, 'graphiql-driver-offer');
    expectSelfContained(tab);
  });

  it('without a token, a subscription shows why in the result pane (no endless spinner)', async () => {
    const tab = await isolated();
    const { page } = tab;
    const graphiql = await openGraphiQL(page, stack.httpUrl);
    await graphiql.typeQuery('subscription { driverOffers { __typename } }');
    await graphiql.run();
    await graphiql.resultShows(['UNAUTHENTICATED', 'sign in: send Authorization: Bearer <token>']);
    expect(await page.locator('.graphiql-response .graphiql-spinner').count()).toBe(0);
    expectSelfContained(tab);
  });

  it('a bad token in the Headers tab fails a subscription with a readable error too', async () => {
    const tab = await isolated();
    const { page } = tab;
    const graphiql = await openGraphiQL(page, stack.httpUrl);
    await graphiql.typeHeaders('{"Authorization":"Bearer not-a-token"}');
    await graphiql.typeQuery('subscription { driverOffers { __typename } }');
    await graphiql.run();
    await graphiql.resultShows(['UNAUTHENTICATED', 'invalid token']);
    expect(await page.locator('.graphiql-response .graphiql-spinner').count()).toBe(0);
    expectSelfContained(tab);
  });

  it("the Docs pane shows the schema's descriptions", async () => {
    const tab = await isolated();
    const { page } = tab;
    await openGraphiQL(page, stack.httpUrl);
    await page.getByLabel('Show Documentation Explorer').click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Subscription', { exact: true }).click();
    await docs.getByText('driverOffers', { exact: true }).click();
    await docs.getByText("Driver: the caller's own offers feed", { exact: false }).waitFor();
    await docs.getByText('DriverOfferEvent', { exact: true }).first().click();
    await docs.getByText('What a driver hears', { exact: false }).waitFor();
    await screenshot(page, 'graphiql-docs');
    expectSelfContained(tab);
  });
});
