// Issue 3, acceptances 1, 2 and 4: nearest search against brute force over several shards,
// liveness, moves across regions and shards, sweeping, out-of-order reports and bad input.
import { cellToBoundary, latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haversineKm, regionOf, regionsWithin, REGION_RESOLUTION } from '../src/geo/cells.ts';
import { driverKey, regionKeys, regionRoute } from '../src/redis/keys.ts';
import type { DriverProfile } from '../src/registry/registry.ts';
import { eventually, http } from './helpers/graphql.ts';
import { offset, registerDrivers, report, seededRandom } from './helpers/fixtures.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const TTL_MS = 1_500;
// Search correctness and input checks run with the default liveness window (placing 1,000 drivers
// under load can take longer than a short one); the liveness tests get their own short-TTL stack.
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ env: { SWEEP_INTERVAL_MS: '600000' } });
});
afterAll(() => stack?.stop());

const NEARBY = /* GraphQL */ `
  query Nearby($lat: Float!, $lng: Float!, $radiusKm: Float!, $limit: Int) {
    nearbyDrivers(lat: $lat, lng: $lng, radiusKm: $radiusKm, limit: $limit) { driverId distanceKm position { lat lng } }
  }`;

async function keyCount(): Promise<number> {
  const sizes = await Promise.all(stack.services.router.shards.map((s) => s.redis.dbsize()));
  return sizes.reduce((a, b) => a + b, 0);
}

describe('nearest search over shards (acceptance 1)', () => {
  // A vertex of a region hexagon: three regions meet here, the hardest place for the region cover.
  const home = latLngToCell(12.9716, 77.5946, REGION_RESOLUTION);
  const [borderLat, borderLng] = cellToBoundary(home)[0]!;
  const positions = new Map<string, { lat: number; lng: number }>();
  let admin: string;

  beforeAll(async () => {
    admin = await stack.token('admin', 'ops');
    const random = seededRandom(42);
    const drivers = await registerDrivers(
      stack.services,
      Array.from({ length: 1000 }, () => ({ id: uniqueId('geo') })),
    );
    for (const d of drivers) {
      // Uniform over ±30 km around the border point: many regions.
      const p = offset(borderLat, borderLng, (random() - 0.5) * 60, (random() - 0.5) * 60);
      positions.set(d.id, p);
    }
    await Promise.all(drivers.map((d) => report(stack.services, d, positions.get(d.id)!)));
  });

  const bruteForce = (lat: number, lng: number, radiusKm: number, limit: number) =>
    [...positions]
      .map(([id, p]) => ({ id, km: haversineKm(lat, lng, p.lat, p.lng) }))
      .filter((d) => d.km <= radiusKm)
      .sort((a, b) => a.km - b.km)
      .slice(0, limit);

  it('spreads the drivers over regions owned by at least 2 shards', () => {
    const regions = new Set([...positions.values()].map((p) => regionOf(p.lat, p.lng)));
    const owners = new Set([...regions].map((r) => stack.services.router.owner(regionRoute(r)).name));
    expect(regions.size).toBeGreaterThan(5);
    expect(owners.size).toBeGreaterThanOrEqual(2);
  });

  it('returns exactly the brute-force nearest set, in order, at a point where regions meet', async () => {
    const touched = regionsWithin(borderLat, borderLng, 5);
    expect(touched.length).toBeGreaterThanOrEqual(3);
    for (const [radiusKm, limit] of [[5, 20], [2, 50], [8, 7]] as const) {
      const res = await http(stack.httpUrl, NEARBY, { lat: borderLat, lng: borderLng, radiusKm, limit }, admin);
      expect(res.errors).toBeUndefined();
      const got = res.data!.nearbyDrivers as Array<{ driverId: string; distanceKm: number }>;
      const want = bruteForce(borderLat, borderLng, radiusKm, limit);
      expect(want.length).toBeGreaterThan(0);
      expect(got.map((d) => d.driverId)).toEqual(want.map((d) => d.id));
      got.forEach((d, i) => expect(Math.abs(d.distanceKm - want[i]!.km)).toBeLessThan(0.005));
    }
  });

  it('matches brute force at random points too', async () => {
    const random = seededRandom(7);
    for (let i = 0; i < 25; i++) {
      const p = offset(borderLat, borderLng, (random() - 0.5) * 50, (random() - 0.5) * 50);
      const got = await stack.services.locations.search({ ...p, startRadiusKm: 0.5, maxRadiusKm: 4, limit: 10 });
      expect(got.map((c) => c.driverId)).toEqual(bruteForce(p.lat, p.lng, 4, 10).map((d) => d.id));
    }
  });
});

describe('liveness, moves and sweeping (acceptance 2)', () => {
  const center = { lat: 48.8566, lng: 2.3522 };
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { DRIVER_TTL_MS: String(TTL_MS), DRIVER_RECORD_TTL_MS: '3000', SWEEP_INTERVAL_MS: '600000' } });
  });
  afterAll(() => stack?.stop());

  it('never returns a driver silent past the TTL', async () => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('ttl') }]);
    await report(stack.services, d!, center);
    const ids = async () => (await stack.services.locations.search({ ...center, startRadiusKm: 1, maxRadiusKm: 1, limit: 10 })).map((c) => c.driverId);
    expect(await ids()).toContain(d!.id);
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    expect(await ids()).not.toContain(d!.id); // before any sweep ran
  });

  it('returns a driver who moved across regions and shards once, at the new position', async () => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('mover') }]);
    // Walk east until the region's owner changes.
    const from = center;
    const fromRegion = regionOf(from.lat, from.lng);
    const router = stack.services.router;
    let to = from;
    for (let km = 5; km < 400; km += 5) {
      to = offset(center.lat, center.lng, km);
      if (router.owner(regionRoute(regionOf(to.lat, to.lng))) !== router.owner(regionRoute(fromRegion))) break;
    }
    const toRegion = regionOf(to.lat, to.lng);
    expect(router.owner(regionRoute(toRegion))).not.toBe(router.owner(regionRoute(fromRegion)));

    await report(stack.services, d!, from, Date.now() - 100);
    await report(stack.services, d!, to);
    const [geo] = regionKeys(fromRegion);
    expect(await router.owner(regionRoute(fromRegion)).redis.zscore(geo, d!.id)).toBeNull();
    const radiusKm = haversineKm(from.lat, from.lng, to.lat, to.lng) + 1;
    const found = (await stack.services.locations.search({ ...from, startRadiusKm: radiusKm, maxRadiusKm: radiusKm, limit: 100 })).filter(
      (c) => c.driverId === d!.id,
    );
    expect(found).toHaveLength(1);
    expect(found[0]!.lng).toBeCloseTo(to.lng, 4);
  });

  it('a location ping never makes an offered or assigned driver available again', async () => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('busy') }]);
    await report(stack.services, d!, center, Date.now() - 200);
    const states = stack.services.records;
    const state = () => stack.services.router.owner(`driver:${d!.id}`).redis.hget(driverKey(d!.id), 'state');
    await eventually(async () => (await state()) === 'FREE');
    expect(await states.reserve(d!.id, 'ride-x', 60_000)).toBe('reserved');
    await report(stack.services, d!, center, Date.now() - 100);
    expect(await state()).toBe('OFFERED');
    await states.assign(d!.id, 'ride-x');
    await report(stack.services, d!, center);
    expect(await state()).toBe('ON_RIDE');
  });

  it('sweeping leaves no keys for long-gone drivers', async () => {
    const spot = { lat: -33.8688, lng: 151.2093 }; // regions nobody else uses
    const gone = await registerDrivers(stack.services, Array.from({ length: 300 }, () => ({ id: uniqueId('gone') })));
    const random = seededRandom(3);
    await Promise.all(gone.map((d) => report(stack.services, d, offset(spot.lat, spot.lng, random() * 60, random() * 60))));
    // Every region the 60 km square can touch (a circle around its centre that contains it).
    const middle = offset(spot.lat, spot.lng, 30, 30);
    const regions = regionsWithin(middle.lat, middle.lng, 45);
    const regionKeyCount = async () => {
      let n = 0;
      for (const r of regions) for (const shard of stack.services.router.shards) n += await shard.redis.exists(...regionKeys(r));
      return n;
    };
    expect(await regionKeyCount()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    const swept = await stack.services.locations.sweepOnce();
    expect(swept.removed).toBeGreaterThanOrEqual(300);
    expect(await regionKeyCount()).toBe(0);
    // The per-driver records expire on their own (DRIVER_RECORD_TTL_MS).
    await eventually(async () => {
      const left = await Promise.all(gone.map((d) => stack.services.router.owner(`driver:${d.id}`).redis.exists(driverKey(d.id))));
      return left.every((n) => n === 0);
    }, 5_000);
  });
});

describe('out-of-order and bad input (acceptance 4)', () => {
  const spot = { lat: 40.7128, lng: -74.006 };
  let driver: DriverProfile;
  let token: string;
  const UPDATE = /* GraphQL */ `
    mutation Update($input: LocationInput!) {
      updateDriverLocation(input: $input) { driverId cell region acceptedAt outOfOrder searchable }
    }`;

  beforeAll(async () => {
    [driver] = (await registerDrivers(stack.services, [{ id: uniqueId('ooo') }])) as [DriverProfile];
    token = await stack.token('driver', driver.id);
  });

  it('ignores an update older than the last accepted one', async () => {
    const t = Date.now();
    const newer = offset(spot.lat, spot.lng, 1);
    const first = await http(stack.httpUrl, UPDATE, { input: { ...newer, recordedAt: new Date(t).toISOString() } }, token);
    expect(first.data?.updateDriverLocation).toMatchObject({ driverId: driver.id, outOfOrder: false, searchable: true });
    const late = await http(stack.httpUrl, UPDATE, { input: { ...spot, recordedAt: new Date(t - 500).toISOString() } }, token);
    expect(late.data?.updateDriverLocation.outOfOrder).toBe(true);
    const [found] = await stack.services.locations.search({ ...spot, startRadiusKm: 3, maxRadiusKm: 3, limit: 1 });
    expect(found?.driverId).toBe(driver.id);
    expect(found!.lng).toBeCloseTo(newer.lng, 4);
  });

  it('answers each bad input with a typed error naming the field, writing nothing', async () => {
    const now = Date.now();
    const ok = { ...spot, recordedAt: new Date(now).toISOString() };
    const table: Array<[Record<string, unknown>, string, string]> = [
      [{ ...ok, lat: 85.1 }, 'INVALID_LOCATION', 'lat'],
      [{ ...ok, lat: -90 }, 'INVALID_LOCATION', 'lat'],
      [{ ...ok, lng: 180.5 }, 'INVALID_LOCATION', 'lng'],
      [{ ...ok, lng: -181 }, 'INVALID_LOCATION', 'lng'],
      [{ ...ok, heading: 360 }, 'INVALID_LOCATION', 'heading'],
      [{ ...ok, heading: -1 }, 'INVALID_LOCATION', 'heading'],
      [{ ...ok, speedKmh: -3 }, 'INVALID_LOCATION', 'speedKmh'],
      [{ ...ok, speedKmh: 1000 }, 'INVALID_LOCATION', 'speedKmh'],
      [{ ...ok, accuracyM: 0 }, 'INVALID_LOCATION', 'accuracyM'],
      [{ ...ok, accuracyM: -5 }, 'INVALID_LOCATION', 'accuracyM'],
      [{ ...ok, recordedAt: new Date(now + 60_000).toISOString() }, 'INVALID_LOCATION', 'recordedAt'],
      [{ ...ok, recordedAt: new Date(now - 3_600_000).toISOString() }, 'INVALID_LOCATION', 'recordedAt'],
    ];
    const before = await keyCount();
    for (const [input, code, field] of table) {
      const res = await http(stack.httpUrl, UPDATE, { input }, token);
      expect(res.data?.updateDriverLocation ?? null, JSON.stringify(input)).toBeNull();
      expect(res.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code, field });
    }
    const malformed = await http(stack.httpUrl, UPDATE, { input: { ...ok, recordedAt: 'yesterday' } }, token);
    expect(malformed.errors?.[0]?.message).toMatch(/recordedAt.*DateTime must be an ISO-8601/);
    expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await keyCount()).toBe(before);
  });

  it('refuses riders and unregistered drivers', async () => {
    const input = { ...spot, recordedAt: new Date().toISOString() };
    const rider = await http(stack.httpUrl, UPDATE, { input }, await stack.token('rider', 'r-1'));
    expect(rider.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ghost = await http(stack.httpUrl, UPDATE, { input }, await stack.token('driver', uniqueId('ghost')));
    expect(ghost.errors?.[0]?.extensions?.code).toBe('NOT_REGISTERED');
  });
});
