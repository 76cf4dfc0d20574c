// Issue 14, acceptance 1: the admin API: drivers and rides as cursor connections with filters,
// one driver's live state from both stores, suspension and reinstatement, and an audit entry
// (who, what, when, before, after) for every admin change.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionOf } from '../src/geo/cells.ts';
import { driverKey, driverRoute } from '../src/redis/keys.ts';
import { connectDriver, REQUEST } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { eventually, http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
let admin: string;
beforeAll(async () => {
  stack = await startStack({ env: { MATCH_BATCH_SIZE: '1', MATCH_ROUND_TIMEOUT_MS: '20000' } });
  admin = await stack.token('admin', 'ops-9');
});
afterAll(() => stack?.stop());

const gql = (query: string, variables: Record<string, unknown> = {}, token = admin) => http(stack.httpUrl, query, variables, token);

describe('drivers', () => {
  const tag = uniqueId('dir');
  const spot = { lat: 35.6895, lng: 139.6917 };
  let ids: string[];
  beforeAll(async () => {
    const specs = Array.from({ length: 7 }, (_, i) => ({ id: `${tag}-${i}`, carType: (i % 2 ? 'XL' : 'ECONOMY') as 'XL' | 'ECONOMY' }));
    const drivers = await registerDrivers(stack.services, specs);
    ids = drivers.map((d) => d.id);
    for (const d of drivers.slice(0, 4)) await report(stack.services, d, offset(spot.lat, spot.lng, 0.1)); // online, in the region
    await stack.services.db.driver.update({ where: { id: ids[6]! }, data: { duty: 'OFFLINE' } });
  });

  const page = `query($first: Int, $after: String, $filter: DriverFilter) {
    drivers(first: $first, after: $after, filter: $filter) { edges { cursor node { id carType status } } pageInfo { hasNextPage endCursor } } }`;
  const mine = (res: any) => { if (!res.data) throw new Error(JSON.stringify(res.errors)); return res.data.drivers.edges.map((e: any) => e.node.id).filter((id: string) => id.startsWith(tag)); };

  it('pages through with a cursor, every driver once', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 1_000; i++) {
      const res: any = await gql(page, { first: 3, after, filter: { carType: 'ECONOMY' } });
      expect(res.errors).toBeUndefined();
      seen.push(...mine(res));
      if (!res.data.drivers.pageInfo.hasNextPage) break;
      after = res.data.drivers.pageInfo.endCursor;
    }
    expect(seen).toEqual([ids[0], ids[2], ids[4], ids[6]]);
  });

  it('filters by standing, region and being online', async () => {
    const region = regionOf(spot.lat, spot.lng);
    expect(mine(await gql(page, { first: 100, filter: { region } }))).toEqual(ids.slice(0, 4));
    expect(mine(await gql(page, { first: 100, filter: { region, carType: 'XL' } }))).toEqual([ids[1], ids[3]]);
    expect(mine(await gql(page, { first: 100, filter: { status: 'OFFLINE' } }))).toEqual([ids[6]]);
    expect(mine(await gql(page, { first: 100, filter: { online: true } }))).toEqual(ids.slice(0, 4));
    expect(mine(await gql(page, { first: 100, filter: { online: false } }))).toEqual(ids.slice(4));
    expect((await gql(page, { first: 5, filter: { region: 'not-a-cell' } })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'region' });
  });

  it('shows one driver in Redis and Postgres side by side, and says when they disagree', async () => {
    const q = `query($id: ID!) { driverState(driverId: $id) { consistent postgres { duty rideId offeredRideId } redis { state region silentForMs } } }`;
    const state = (await gql(q, { id: ids[0] })).data!.driverState;
    expect(state).toMatchObject({ consistent: true, postgres: { duty: 'AVAILABLE', rideId: null }, redis: { state: 'FREE', region: regionOf(spot.lat, spot.lng) } });
    expect(state.redis.silentForMs).toBeGreaterThanOrEqual(0);
    await stack.services.router.owner(driverRoute(ids[0]!)).redis.hset(driverKey(ids[0]!), 'state', 'ON_RIDE', 'ride', randomUUID());
    expect((await gql(q, { id: ids[0] })).data!.driverState.consistent).toBe(false);
    await stack.services.router.owner(driverRoute(ids[0]!)).redis.hset(driverKey(ids[0]!), 'state', 'FREE');
    await stack.services.router.owner(driverRoute(ids[0]!)).redis.hdel(driverKey(ids[0]!), 'ride');
    expect((await gql(q, { id: 'nobody-like-this' })).data!.driverState).toBeNull();
  });
});

describe('suspension', () => {
  it('revokes live offers, tells the driver, keeps it out of matching until reinstated', async () => {
    const pickup = { lat: 34.6937, lng: 135.5023 };
    const [p] = await registerDrivers(stack.services, [{ id: uniqueId('susp') }]);
    const driver = await connectDriver(stack, stack.wsUrl, p!);
    await driver.report(offset(pickup.lat, pickup.lng, 0.2));
    const riderToken = async () => {
      const id = uniqueId('rider');
      await registerRider(stack.services, id);
      return stack.token('rider', id);
    };
    const input = { input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' } };
    const first = (await http(stack.httpUrl, REQUEST, input, await riderToken())).data!.requestRide;
    await driver.nextEvent('RideOffer');

    const suspended = await gql(`mutation($id: ID!) { suspendDriver(driverId: $id, reason: "documents expired") { id status suspendReason } }`, { id: p!.id });
    expect(suspended.data?.suspendDriver).toEqual({ id: p!.id, status: 'OFFLINE', suspendReason: 'documents expired' });
    expect(await driver.nextEvent('RideOfferRevoked')).toMatchObject({ rideId: first.id, reason: 'EXPIRED' });
    const notices = () => driver.offers.received.map((r) => r.data?.driverOffers).filter((e) => e?.__typename === 'DriverAccountNotice');
    await eventually(() => notices().length === 1);
    const driverToken = await stack.token('driver', p!.id);
    expect((await http(stack.httpUrl, 'mutation { setDriverStatus(status: AVAILABLE) { status } }', {}, driverToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await driver.report(offset(pickup.lat, pickup.lng, 0.2));
    const second = (await http(stack.httpUrl, REQUEST, input, await riderToken())).data!.requestRide;
    expect(await stack.services.db.rideOffer.count({ where: { rideId: second.id, driverId: p!.id } })).toBe(0);

    await gql(`mutation($id: ID!) { reinstateDriver(driverId: $id) { id suspendReason } }`, { id: p!.id });
    await eventually(() => notices().length === 2);
    expect(notices()).toEqual([
      { __typename: 'DriverAccountNotice', status: 'SUSPENDED', detail: 'documents expired' },
      { __typename: 'DriverAccountNotice', status: 'ACTIVE', detail: null },
    ]);
    expect((await http(stack.httpUrl, 'mutation { setDriverStatus(status: AVAILABLE) { status } }', {}, driverToken)).data?.setDriverStatus.status).toBe('AVAILABLE');
    await driver.report(offset(pickup.lat, pickup.lng, 0.2));
    const third = (await http(stack.httpUrl, REQUEST, input, await riderToken())).data!.requestRide;
    expect(await stack.services.db.rideOffer.count({ where: { rideId: third.id, driverId: p!.id } })).toBe(1);
    await driver.close();
  });
});

describe('rides', () => {
  it('lists rides newest first with filters and a cursor', async () => {
    const riderId = uniqueId('rl');
    await registerRider(stack.services, riderId);
    const base = Date.now() - 3_600_000;
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = randomUUID();
      made.push(id);
      await stack.services.db.ride.create({
        data: { id, riderId, pickupLat: 1, pickupLng: 1, dropoffLat: 1, dropoffLng: 2, carType: 'ECONOMY', paymentMethod: 'CARD', status: i % 2 ? 'COMPLETED' : 'CANCELLED', requestedAt: new Date(base + i * 60_000), nextCheckAt: null },
      });
    }
    const q = `query($first: Int, $after: String, $filter: RideFilter) { rides(first: $first, after: $after, filter: $filter) { edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await gql(q, { first: 2, after, filter: { riderId } });
      all.push(...res.data.rides.edges.map((e: any) => e.node.id));
      if (!res.data.rides.pageInfo.hasNextPage) break;
      after = res.data.rides.pageInfo.endCursor;
    }
    expect(all).toEqual([...made].reverse());
    const completed = (await gql(q, { first: 10, filter: { riderId, status: 'COMPLETED' } })).data!.rides.edges.map((e: any) => e.node.id);
    expect(completed).toEqual([made[3], made[1]]);
    const window = (await gql(q, { first: 10, filter: { riderId, from: new Date(base + 60_000).toISOString(), to: new Date(base + 180_000).toISOString() } })).data!.rides.edges.map((e: any) => e.node.id);
    expect(window).toEqual([made[2], made[1]]);
    expect((await gql(q, { first: 10, filter: { riderId } }, await stack.token('rider', riderId))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('audit log', () => {
  it('records who changed what, when, before and after, for every admin mutation; admins read it', async () => {
    const who = await stack.token('admin', 'auditor-1');
    const driverId = uniqueId('aud');
    const input = { id: driverId, name: 'Old name', carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.5, vehicle: 'Car' };
    const upsert = 'mutation($input: UpsertDriverInput!) { upsertDriver(input: $input) { id name } }';
    await gql(upsert, { input }, who);
    await gql(upsert, { input: { ...input, name: 'New name' } }, who);
    await gql(`mutation { suspendDriver(driverId: "${driverId}", reason: "check") { id } }`, {}, who);
    await gql('mutation { setTariff(carType: XL, input: { currency: "INR", baseFare: 7000, perKm: 2000, perMinute: 250, minimumFare: 10000 }) { carType } }', {}, who);
    const q = `query($t: String) { auditLog(first: 10, target: $t) { edges { node { adminId action target before after at } } } }`;
    const entries = (await gql(q, { t: `driver:${driverId}` })).data!.auditLog.edges.map((e: any) => e.node);
    expect(entries.map((e: any) => e.action)).toEqual(['suspendDriver', 'upsertDriver', 'upsertDriver']);
    expect(entries.every((e: any) => e.adminId === 'auditor-1')).toBe(true);
    expect(entries[2].before).toBeNull();
    expect(entries[1].before.name).toBe('Old name');
    expect(entries[1].after.name).toBe('New name');
    expect(entries[0].after.suspendReason).toBe('check');
    const tariff = (await gql(q, { t: 'tariff:XL' })).data!.auditLog.edges[0].node;
    expect(tariff).toMatchObject({ action: 'setTariff', before: { baseFare: 7000 }, after: { baseFare: 7000 } });
    // A refused change is recorded as refused, and only admins read the log.
    await gql(`mutation { suspendDriver(driverId: "no-such-driver", reason: "x") { id } }`, {}, who);
    expect((await gql(q, { t: 'driver:no-such-driver' })).data!.auditLog.edges[0].node.after).toMatchObject({ failed: expect.any(String) });
    expect((await gql(q, { t: 'tariff:XL' }, await stack.token('rider', 'r'))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
