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

describe('rides by driver', () => {
  it("filters by driverId: only that driver's rides, newest first, with the other filters and a cursor", async () => {
    const riderId = uniqueId('rd');
    await registerRider(stack.services, riderId);
    const [a, b] = await registerDrivers(stack.services, [{ id: uniqueId('rda') }, { id: uniqueId('rdb') }]);
    const base = Date.now() - 7_200_000;
    const plan: Array<[string | null, 'COMPLETED' | 'CANCELLED']> = [
      [a!.id, 'COMPLETED'],
      [b!.id, 'COMPLETED'],
      [a!.id, 'CANCELLED'],
      [null, 'CANCELLED'], // never assigned
      [a!.id, 'COMPLETED'],
    ];
    const made: string[] = [];
    for (const [i, [driverId, status]] of plan.entries()) {
      const id = randomUUID();
      made.push(id);
      await stack.services.db.ride.create({
        data: { id, riderId, driverId, pickupLat: 1, pickupLng: 1, dropoffLat: 1, dropoffLng: 2, carType: 'ECONOMY', paymentMethod: 'CARD', status, requestedAt: new Date(base + i * 60_000), nextCheckAt: null },
      });
    }
    const q = `query($first: Int, $after: String, $filter: RideFilter) { rides(first: $first, after: $after, filter: $filter) { edges { node { id status driver { id } } } pageInfo { hasNextPage endCursor } } }`;
    const ids = async (filter: Record<string, unknown>, first = 10) => {
      const res: any = await gql(q, { first, filter });
      expect(res.errors).toBeUndefined();
      return res.data.rides.edges.map((e: any) => e.node.id);
    };
    expect(await ids({ driverId: a!.id })).toEqual([made[4], made[2], made[0]]);
    expect(await ids({ driverId: b!.id })).toEqual([made[1]]);
    expect(await ids({ driverId: a!.id, status: 'COMPLETED' })).toEqual([made[4], made[0]]);
    expect(await ids({ driverId: a!.id, riderId, from: new Date(base + 60_000).toISOString() })).toEqual([made[4], made[2]]);
    expect(await ids({ driverId: uniqueId('nobody') })).toEqual([]);
    // Every node is that driver's; paging by two goes through all three.
    const first: any = await gql(q, { first: 2, filter: { driverId: a!.id } });
    expect(first.data.rides.edges.map((e: any) => e.node.driver.id)).toEqual([a!.id, a!.id]);
    expect(first.data.rides.pageInfo.hasNextPage).toBe(true);
    const rest: any = await gql(q, { first: 2, after: first.data.rides.pageInfo.endCursor, filter: { driverId: a!.id } });
    expect(rest.data.rides.edges.map((e: any) => e.node.id)).toEqual([made[0]]);
    expect(rest.data.rides.pageInfo.hasNextPage).toBe(false);
    expect((await gql(q, { first: 10, filter: { driverId: a!.id } }, await stack.token('driver', a!.id))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('audit log', () => {
  it('records who changed what, when, before and after, for every admin mutation; admins read it', async () => {
    const who = await stack.token('admin', 'auditor-1');
    const q = `query($t: String) { auditLog(first: 10, target: $t) { edges { node { adminId action target before after at } } } }`;
    const log = async (target: string) => {
      const res = await gql(q, { t: target });
      expect(res.errors).toBeUndefined();
      return res.data!.auditLog.edges.map((e: any) => e.node);
    };
    const started = Date.now();
    const byAuditor = (entries: any[]) => {
      for (const e of entries) {
        expect(e.adminId).toBe('auditor-1');
        expect(new Date(e.at).getTime()).toBeGreaterThanOrEqual(started - 1_000);
      }
    };

    // upsertDriver (create, then change), suspendDriver, reinstateDriver: one driver's entries.
    const driverId = uniqueId('aud');
    const input = { id: driverId, name: 'Old name', carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.5, vehicle: 'Car' };
    const upsert = 'mutation($input: UpsertDriverInput!) { upsertDriver(input: $input) { id name } }';
    expect((await gql(upsert, { input }, who)).errors).toBeUndefined();
    expect((await gql(upsert, { input: { ...input, name: 'New name' } }, who)).errors).toBeUndefined();
    expect((await gql(`mutation { suspendDriver(driverId: "${driverId}", reason: "check") { id } }`, {}, who)).errors).toBeUndefined();
    expect((await gql(`mutation { reinstateDriver(driverId: "${driverId}") { id } }`, {}, who)).errors).toBeUndefined();
    const driverEntries = await log(`driver:${driverId}`);
    expect(driverEntries.map((e: any) => e.action)).toEqual(['reinstateDriver', 'suspendDriver', 'upsertDriver', 'upsertDriver']);
    byAuditor(driverEntries);
    expect(driverEntries.every((e: any) => e.target === `driver:${driverId}`)).toBe(true);
    const [reinstated, suspended, renamed, created] = driverEntries;
    expect(created.before).toBeNull();
    expect(created.after).toMatchObject({ id: driverId, name: 'Old name' });
    expect(renamed.before).toMatchObject({ name: 'Old name' });
    expect(renamed.after).toMatchObject({ name: 'New name' });
    expect(suspended.before).toMatchObject({ name: 'New name', suspendReason: null });
    expect(suspended.after).toMatchObject({ suspendReason: 'check' });
    expect(reinstated.before).toMatchObject({ suspendReason: 'check' });
    expect(reinstated.after).toMatchObject({ suspendReason: null });

    // upsertRider (create, then change).
    const riderId = uniqueId('audr');
    const upsertRider = 'mutation($input: UpsertRiderInput!) { upsertRider(input: $input) { id name } }';
    expect((await gql(upsertRider, { input: { id: riderId, name: 'Ann' } }, who)).errors).toBeUndefined();
    expect((await gql(upsertRider, { input: { id: riderId, name: 'Anna' } }, who)).errors).toBeUndefined();
    const riderEntries = await log(`rider:${riderId}`);
    expect(riderEntries.map((e: any) => e.action)).toEqual(['upsertRider', 'upsertRider']);
    byAuditor(riderEntries);
    expect(riderEntries[1]).toMatchObject({ before: null, after: { id: riderId, name: 'Ann' } });
    expect(riderEntries[0]).toMatchObject({ before: { name: 'Ann' }, after: { name: 'Anna' } });

    // setTariff, changing a value: before and after differ.
    const old = (await gql('{ tariffs { carType currency baseFare perKm perMinute minimumFare } }')).data!.tariffs.find((t: any) => t.carType === 'XL');
    const setXl = (baseFare: number) =>
      gql(`mutation { setTariff(carType: XL, input: { currency: "${old.currency}", baseFare: ${baseFare}, perKm: ${old.perKm}, perMinute: ${old.perMinute}, minimumFare: ${old.minimumFare} }) { baseFare } }`, {}, who);
    try {
      expect((await setXl(old.baseFare + 500)).data?.setTariff.baseFare).toBe(old.baseFare + 500);
      const [tariff] = await log('tariff:XL');
      byAuditor([tariff]);
      expect(tariff).toMatchObject({ action: 'setTariff', target: 'tariff:XL', before: { baseFare: old.baseFare, perKm: old.perKm }, after: { baseFare: old.baseFare + 500, perKm: old.perKm } });
    } finally {
      await setXl(old.baseFare);
    }

    // forceCancelRide (a ride still searching) and forceCompleteRide (a ride on its trip).
    const rider = async () => {
      const id = uniqueId('rider');
      await registerRider(stack.services, id);
      return stack.token('rider', id);
    };
    const pickup = { lat: -37.8136, lng: 144.9631 };
    const [p] = await registerDrivers(stack.services, [{ id: uniqueId('audd') }]);
    const driver = await connectDriver(stack, stack.wsUrl, p!);
    await driver.report(offset(pickup.lat, pickup.lng, 0.2));
    const request = async () => (await http(stack.httpUrl, REQUEST, { input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' } }, await rider())).data!.requestRide;
    const searching = await request();
    await driver.nextEvent('RideOffer'); // offered, not accepted: the ride is searching
    const fc = await gql(`mutation { forceCancelRide(rideId: "${searching.id}", reason: "rider phoned") { status } }`, {}, who);
    expect(fc.errors, JSON.stringify(fc.errors)).toBeUndefined();
    expect(fc.data?.forceCancelRide.status).toBe('CANCELLED');
    const [cancelled] = await log(`ride:${searching.id}`);
    byAuditor([cancelled]);
    expect(cancelled).toMatchObject({ action: 'forceCancelRide', before: { id: searching.id, status: 'SEARCHING', driverId: null }, after: { id: searching.id, status: 'CANCELLED', endReason: expect.stringContaining('rider phoned') } });
    await driver.nextEvent('RideOfferRevoked');

    const onTrip = await request();
    await driver.nextEvent('RideOffer');
    expect(await driver.accept(onTrip.id)).toMatchObject({ __typename: 'RideAssignment' });
    const fd = await gql(`mutation { forceCompleteRide(rideId: "${onTrip.id}", reason: "phone died") { status } }`, {}, who);
    expect(fd.errors, JSON.stringify(fd.errors)).toBeUndefined();
    expect(fd.data?.forceCompleteRide.status).toBe('COMPLETED');
    const [completed] = await log(`ride:${onTrip.id}`);
    byAuditor([completed]);
    expect(completed).toMatchObject({ action: 'forceCompleteRide', before: { status: 'ASSIGNED', driverId: p!.id }, after: { status: 'COMPLETED', driverId: p!.id, endReason: expect.stringContaining('phone died') } });
    await driver.close();

    // A refused change is recorded as refused, and only admins read the log.
    await gql(`mutation { suspendDriver(driverId: "no-such-driver", reason: "x") { id } }`, {}, who);
    expect((await log('driver:no-such-driver'))[0].after).toMatchObject({ failed: expect.any(String) });
    expect((await gql(q, { t: 'tariff:XL' }, await stack.token('rider', 'r'))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
