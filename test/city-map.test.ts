// Issue 14, acceptance 3 and 4: the cityMap subscription behind the live map. What a snapshot
// shows at each level (drivers by state, searching rides, offers, assignments; cells; regions),
// its bounds (rate: at most one per interval; size: a cap on items, beyond it aggregated; wide
// views narrowed), and that nothing is computed and no timer runs while nobody watches.
import { latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionOf } from '../src/geo/cells.ts';
import { ACCEPT, REQUEST } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { eventually, http, wsConnect, type Subscription, type WsClient } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const INTERVAL_MS = 300;
const MAX_ITEMS = 10;
let stack: Stack;
let admin: string;
let socket: WsClient;
beforeAll(async () => {
  stack = await startStack({
    env: { CITY_MAP_INTERVAL_MS: String(INTERVAL_MS), CITY_MAP_MAX_ITEMS: String(MAX_ITEMS), MATCH_BATCH_SIZE: '1', MATCH_ROUND_TIMEOUT_MS: '60000' },
  });
  admin = await stack.token('admin', 'ops-map');
  socket = wsConnect(stack.wsUrl, admin);
  await socket.connected;
});
afterAll(async () => {
  await socket?.close();
  await stack?.stop();
});

const MAP = /* GraphQL */ `
  subscription Map($bbox: BoundingBoxInput!, $zoom: Int!) {
    cityMap(bbox: $bbox, zoom: $zoom) {
      at level narrowed liveDrivers bbox { south west north east }
      cells { cell resolution drivers searchingRides }
      drivers { id lat lng state }
      rides { id lat lng round }
      offers { rideId driverId from { lat lng } to { lat lng } }
      assignments { rideId driverId status from { lat lng } to { lat lng } }
    }
  }`;

const around = (p: { lat: number; lng: number }, d = 0.03) => ({ south: p.lat - d, west: p.lng - d, north: p.lat + d, east: p.lng + d });
const watch = (bbox: object, zoom: number, on: WsClient = socket): Subscription<any> => on.subscribe(MAP, { bbox, zoom });
async function first(bbox: object, zoom: number): Promise<any> {
  const sub = watch(bbox, zoom);
  try {
    const r = await sub.next(10_000);
    if (!r.data) throw new Error(JSON.stringify(r.errors));
    return r.data.cityMap;
  } finally {
    sub.stop();
  }
}

async function driversAt(points: Array<{ lat: number; lng: number }>, tag: string) {
  const drivers = await registerDrivers(stack.services, points.map((_, i) => ({ id: `${tag}-${i}` })));
  await Promise.all(drivers.map((d, i) => report(stack.services, d, points[i]!)));
  return drivers;
}

describe('what a snapshot shows', () => {
  it('details: drivers by state, the searching ride, the offer and the assignment as lines', async () => {
    const tag = uniqueId('mapd');
    const spot = { lat: 48.8566, lng: 2.3522 }; // Paris
    const [offered, onTrip, free] = await driversAt([spot, offset(spot.lat, spot.lng, 3), offset(spot.lat, spot.lng, -4.5)], tag);
    await registerRider(stack.services, `${tag}-r1`);
    await registerRider(stack.services, `${tag}-r2`);
    const ask = async (rider: string, pickup: { lat: number; lng: number }) =>
      (await http(stack.httpUrl, REQUEST, { input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 1), carType: 'ECONOMY', paymentMethod: 'CARD' } }, await stack.token('rider', rider))).data!.requestRide;
    const searching = await ask(`${tag}-r1`, spot);
    const assigned = await ask(`${tag}-r2`, offset(spot.lat, spot.lng, 3));
    const accepted = await http(stack.httpUrl, ACCEPT, { rideId: assigned.id }, await stack.token('driver', onTrip!.id));
    expect(accepted.data?.acceptRide.__typename).toBe('RideAssignment');

    const s = await first(around(spot, 0.08), 15);
    expect(s.level).toBe('DETAIL');
    expect(Object.fromEntries(s.drivers.map((d: any) => [d.id, d.state]))).toEqual({ [offered!.id]: 'OFFERED', [onTrip!.id]: 'ON_TRIP', [free!.id]: 'FREE' });
    expect(s.drivers.find((d: any) => d.id === free!.id)).toMatchObject({ lat: expect.closeTo(offset(spot.lat, spot.lng, -4.5).lat, 4), lng: expect.closeTo(offset(spot.lat, spot.lng, -4.5).lng, 4) });
    expect(s.rides).toEqual([{ id: searching.id, lat: spot.lat, lng: spot.lng, round: 1 }]);
    expect(s.offers).toEqual([{ rideId: searching.id, driverId: offered!.id, from: { lat: expect.closeTo(spot.lat, 4), lng: expect.closeTo(spot.lng, 4) }, to: spot }]);
    expect(s.assignments).toMatchObject([{ rideId: assigned.id, driverId: onTrip!.id, status: 'ASSIGNED', to: offset(spot.lat, spot.lng, 3) }]);
    expect(s.cells).toEqual([]);
  });

  it('aggregates per res-7 cell below the detail zoom, and per region further out', async () => {
    const tag = uniqueId('mapc');
    const spot = { lat: -1.2921, lng: 36.8219 }; // Nairobi
    const points = [spot, spot, offset(spot.lat, spot.lng, 4), offset(spot.lat, spot.lng, 4, 4)];
    await driversAt(points, tag);
    const cells = await first(around(spot, 0.1), 12);
    expect(cells.level).toBe('CELL');
    expect(cells.drivers).toEqual([]);
    const expected = new Map<string, number>();
    for (const p of points) expected.set(latLngToCell(p.lat, p.lng, 7), (expected.get(latLngToCell(p.lat, p.lng, 7)) ?? 0) + 1);
    expect(new Map(cells.cells.map((c: any) => [c.cell, c.drivers]))).toEqual(expected);
    expect(cells.cells.every((c: any) => c.resolution === 7)).toBe(true);

    const regions = await first(around(spot, 0.3), 9);
    expect(regions.level).toBe('REGION');
    const byRegion = new Map<string, number>();
    for (const p of points) byRegion.set(regionOf(p.lat, p.lng), (byRegion.get(regionOf(p.lat, p.lng)) ?? 0) + 1);
    expect(new Map(regions.cells.map((c: any) => [c.cell, c.drivers]))).toEqual(byRegion);
    expect(regions.liveDrivers).toBe(points.length);
  });

  it('is for admins, on a sane view', async () => {
    const driver = wsConnect(stack.wsUrl, await stack.token('driver', 'nobody'));
    await driver.connected;
    expect((await watch(around({ lat: 0, lng: 0 }), 12, driver).next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await driver.close();
    const bad = await watch({ south: 10, west: 0, north: 5, east: 1 }, 12).next();
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'bbox' });
    expect((await watch(around({ lat: 0, lng: 0 }), 40).next()).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'zoom' });
  });
});

describe('bounds', () => {
  it('sends at most one snapshot per interval', async () => {
    const bbox = around({ lat: 35.6895, lng: 139.6917 });
    const sub = watch(bbox, 14);
    const startedAt = Date.now();
    await new Promise((r) => setTimeout(r, 2_000));
    sub.stop();
    const elapsed = Date.now() - startedAt;
    const times = sub.received.map((r) => Date.parse(r.data!.cityMap.at));
    expect(times.length).toBeGreaterThanOrEqual(3); // it does stream
    expect(times.length).toBeLessThanOrEqual(Math.floor(elapsed / INTERVAL_MS) + 1);
    // `at` is stamped after the reads, whose time varies a little: allow 50 ms of it.
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(INTERVAL_MS - 50);
  });

  it('defaults to one per second', async () => {
    const instance = await stack.startInstance({ CITY_MAP_INTERVAL_MS: '' });
    expect(instance.services.config.cityMap.intervalMs).toBe(1_000);
    const other = wsConnect(instance.wsUrl, admin);
    await other.connected;
    const sub = watch(around({ lat: 35.6895, lng: 139.6917 }), 14, other);
    await new Promise((r) => setTimeout(r, 2_500));
    sub.stop();
    expect(sub.received.length).toBeGreaterThanOrEqual(2);
    expect(sub.received.length).toBeLessThanOrEqual(3);
    await other.close();
  });

  it('caps the items of a snapshot: past the cap, cells; past it again, regions', async () => {
    const tag = uniqueId('mapcap');
    const spot = { lat: -12.0464, lng: -77.0428 }; // Lima
    // Twelve drivers within 100 m: twelve items are over the cap, one or two cells are not.
    await driversAt(Array.from({ length: MAX_ITEMS + 2 }, (_, i) => offset(spot.lat, spot.lng, i * 0.008)), `${tag}-a`);
    const crowded = await first(around(spot, 0.01), 16);
    expect(crowded.level).toBe('CELL');
    expect(crowded.drivers).toEqual([]);
    expect(crowded.cells.reduce((n: number, c: any) => n + c.drivers, 0)).toBe(MAX_ITEMS + 2);

    // Twelve drivers 4 km apart, each in a cell of its own: twelve cells are over the cap too.
    const far = { lat: -33.8688, lng: 151.2093 }; // Sydney
    const spread = Array.from({ length: MAX_ITEMS + 2 }, (_, i) => offset(far.lat, far.lng, (i % 4) * 4, Math.floor(i / 4) * 4));
    expect(new Set(spread.map((p) => latLngToCell(p.lat, p.lng, 7))).size).toBe(MAX_ITEMS + 2);
    await driversAt(spread, `${tag}-b`);
    const wide = await first({ south: far.lat - 0.02, west: far.lng - 0.02, north: far.lat + 0.1, east: far.lng + 0.15 }, 12);
    expect(wide.level).toBe('REGION');
    expect(wide.cells.length).toBeLessThanOrEqual(MAX_ITEMS);
    expect(wide.cells.reduce((n: number, c: any) => n + c.drivers, 0)).toBe(MAX_ITEMS + 2);
  });

  it('shows regions without reading positions when a view holds more than CITY_MAP_MAX_POSITIONS drivers', async () => {
    const instance = await stack.startInstance({ CITY_MAP_MAX_POSITIONS: '100', CITY_MAP_MAX_ITEMS: '1000' });
    const other = wsConnect(instance.wsUrl, admin);
    await other.connected;
    const spot = { lat: 19.4326, lng: -99.1332 }; // Mexico City
    await driversAt(Array.from({ length: 101 }, (_, i) => offset(spot.lat, spot.lng, (i % 10) * 0.1, Math.floor(i / 10) * 0.1)), uniqueId('mappos'));
    const sub = watch(around(spot, 0.02), 16, other);
    const s = (await sub.next(10_000)).data!.cityMap;
    sub.stop();
    expect(s.level).toBe('REGION');
    expect(s.liveDrivers).toBe(101);
    await other.close();
  });

  it('narrows a view wider than CITY_MAP_MAX_REGIONS around its centre', async () => {
    const s = await first({ south: -80, west: -170, north: 80, east: 170 }, 3);
    expect(s.narrowed).toBe(true);
    expect(s.level).toBe('REGION');
    expect(s.bbox.north - s.bbox.south).toBeLessThan(10);
    expect((s.bbox.north + s.bbox.south) / 2).toBeCloseTo(0, 6);
  });
});

describe('while nobody watches', () => {
  it('computes nothing and runs no timer; a subscription starts one and its end stops it', async () => {
    const map = stack.services.cityMap;
    await eventually(() => map.stats().watchers === 0 && map.stats().timers === 0);
    const before = map.stats().snapshots;
    // The hot paths at work: pings and a ride with its offer.
    const tag = uniqueId('mapidle');
    const spot = { lat: 52.52, lng: 13.405 }; // Berlin
    const [driver] = await driversAt([spot], tag);
    await registerRider(stack.services, `${tag}-r`);
    await http(stack.httpUrl, REQUEST, { input: { pickup: spot, dropoff: offset(spot.lat, spot.lng, 1), carType: 'ECONOMY', paymentMethod: 'CARD' } }, await stack.token('rider', `${tag}-r`));
    for (let i = 1; i <= 5; i++) await report(stack.services, driver!, offset(spot.lat, spot.lng, i * 0.01), Date.now() + i);
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect(map.stats()).toEqual({ watchers: 0, timers: 0, snapshots: before });

    const sub = watch(around(spot), 15);
    await sub.next(10_000);
    await sub.next(10_000);
    expect(map.stats().watchers).toBe(1);
    sub.stop();
    await eventually(() => map.stats().watchers === 0 && map.stats().timers === 0);
    const after = map.stats().snapshots;
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    expect(map.stats()).toEqual({ watchers: 0, timers: 0, snapshots: after });

    // A socket that goes away without completing its subscription ends it too.
    const gone = wsConnect(stack.wsUrl, admin);
    await gone.connected;
    await watch(around(spot), 15, gone).next(10_000);
    expect(map.stats().watchers).toBe(1);
    await gone.close();
    await eventually(() => map.stats().watchers === 0 && map.stats().timers === 0);
  });
});
