// Issue 13: the rider's journey through the API against real Redis and Postgres: fare estimates
// with surge, quotes honoured by requestRide, scheduled rides, the trip's steps, the driver's
// position pushed to the rider alone, and the fare charged from the distance driven.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haversineKm } from '../src/geo/cells.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { surgeCellOf } from '../src/pricing/surge.ts';
import { connectDriver } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { eventually, http, wsConnect } from './helpers/graphql.ts';
import { spawnServer } from './helpers/process.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const DETOUR = 1.3;
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      FARE_DETOUR_FACTOR: String(DETOUR),
      AVERAGE_SPEED_KMH: '30',
      SURGE_SMOOTHING_MS: '0',
      // These tests change supply and demand between estimates: every estimate recomputes.
      SURGE_RECOMPUTE_MS: '0',
      SCHEDULE_MIN_LEAD_MS: '2000',
      SCHEDULE_HORIZON_MS: '3600000',
      SCHEDULE_DISPATCH_LEAD_MS: '1000',
      POSITION_PUSH_INTERVAL_MS: '1000',
      MATCH_BATCH_SIZE: '1',
      MATCH_ROUND_TIMEOUT_MS: '20000',
    },
  });
});
afterAll(() => stack?.stop());

const ESTIMATE = `mutation($input: EstimateRideInput!) { estimateRide(input: $input) {
  id carType distanceKm durationMin baseFare distanceFare timeFare surgeMultiplier total currency expiresAt } }`;
const REQUEST = `mutation($input: RequestRideInput!) { requestRide(input: $input) {
  id status scheduledAt quote { estimateId total currency surgeMultiplier } } }`;
const rideFields = 'id status arrivedAt startedAt endedAt fare { total currency travelledKm tripMinutes } quote { total surgeMultiplier }';

async function newRider() {
  const id = uniqueId('rider');
  await registerRider(stack.services, id);
  return { id, token: await stack.token('rider', id) };
}
const trip = (pickup: { lat: number; lng: number }, km = 3) => ({ pickup, dropoff: offset(pickup.lat, pickup.lng, km), carType: 'ECONOMY' });
const estimate = async (token: string, input: Record<string, unknown>) => (await http(stack.httpUrl, ESTIMATE, { input }, token));

/** The ride's rideUpdates (status, driver position, ETA) as its rider and an operator follow them. */
async function followedByRiderAndAdmin(riderToken: string, rideId: string) {
  const riderWs = wsConnect(stack.wsUrl, riderToken);
  const adminWs = wsConnect(stack.wsUrl, await stack.token('admin', 'ops'));
  await Promise.all([riderWs.connected, adminWs.connected]);
  const q = 'subscription($id: ID!) { rideUpdates(rideId: $id) { status driverPosition { lat lng } etaMinutes } }';
  return { riderWs, adminWs, riderUpdates: riderWs.subscribe<any>(q, { id: rideId }), adminUpdates: adminWs.subscribe<any>(q, { id: rideId }) };
}

/** Demand for surge: n ride requests just made at a pickup, each by a rider of its own (already ended). */
async function recentRequests(pickup: { lat: number; lng: number }, n: number): Promise<void> {
  const pickupCell = surgeCellOf(pickup.lat, pickup.lng);
  for (let i = 0; i < n; i++) {
    const riderId = uniqueId('demand');
    await registerRider(stack.services, riderId);
    await stack.services.db.ride.create({
      data: { id: randomUUID(), riderId, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: 0, dropoffLng: 0, carType: 'ECONOMY', paymentMethod: 'CARD', status: 'CANCELLED', pickupCell },
    });
  }
}

describe('estimateRide', () => {
  it('prices tariff + distance (straight line × detour) + time, in minor units, at surge 1 with drivers about', async () => {
    const pickup = { lat: 48.2082, lng: 16.3738 };
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('sup') }]);
    const driver = await connectDriver(stack, stack.wsUrl, d!);
    await driver.report(offset(pickup.lat, pickup.lng, 0.3));
    const { token } = await newRider();
    const input = trip(pickup);
    const e = (await estimate(token, input)).data!.estimateRide;
    const km = Math.round(haversineKm(pickup.lat, pickup.lng, input.dropoff.lat, input.dropoff.lng) * DETOUR * 100) / 100;
    expect(e.distanceKm).toBeCloseTo(km, 2);
    expect(e.durationMin).toBeCloseTo((km / 30) * 60, 1);
    expect(e).toMatchObject({ carType: 'ECONOMY', currency: 'INR', baseFare: 4000, surgeMultiplier: 1 });
    expect(e.distanceFare).toBe(Math.round(1200 * e.distanceKm));
    expect(e.timeFare).toBe(Math.round(150 * e.durationMin));
    expect(e.total).toBe(Math.max(6000, e.baseFare + e.distanceFare + e.timeFare));
    expect(Number.isInteger(e.total)).toBe(true);
    expect(new Date(e.expiresAt).getTime()).toBeGreaterThan(Date.now());
    await driver.close();
  });

  it('surges where demand exceeds supply: smoothed, stepped to 0.1 and capped at 3', async () => {
    const pickup = { lat: 45.4642, lng: 9.19 };
    const cell = surgeCellOf(pickup.lat, pickup.lng);
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('one') }]);
    const driver = await connectDriver(stack, stack.wsUrl, d!);
    await driver.report(offset(pickup.lat, pickup.lng, 0.2));
    const { token } = await newRider();
    const demand = (n: number) => recentRequests(pickup, n);
    // 1 driver, 4 recent requests: 1 + 0.5 × (4/1 − 1) = 2.5.
    await demand(4);
    expect((await estimate(token, trip(pickup))).data!.estimateRide.surgeMultiplier).toBe(2.5);
    // 1 driver, 7 requests: 1 + 0.5 × 6 = 4, capped at 3.
    await demand(3);
    const capped = (await estimate(token, trip(pickup))).data!.estimateRide;
    expect(capped.surgeMultiplier).toBe(3);
    expect(capped.total).toBe(Math.max(6000, Math.round((capped.baseFare + capped.distanceFare + capped.timeFare) * 3)));
    // The admin reads the cell's surge and what it came from.
    const admin = await stack.token('admin', 'ops');
    const cells = (await http(stack.httpUrl, `{ surgeCells(lat: ${pickup.lat}, lng: ${pickup.lng}) { cell carType multiplier supply demand } }`, {}, admin)).data!.surgeCells;
    expect(cells).toContainEqual({ cell, carType: 'ECONOMY', multiplier: 3, supply: 1, demand: 7 });
    await driver.close();
  });

  it('steps the raw multiplier to the nearest 0.1 (not only values that are already multiples of it)', async () => {
    const pickup = { lat: 47.3769, lng: 8.5417 };
    const cell = surgeCellOf(pickup.lat, pickup.lng);
    // Three free drivers in the ring, none on a trip or holding an offer.
    const drivers = await registerDrivers(stack.services, [0, 1, 2].map(() => ({ id: uniqueId('step') })));
    for (const [i, d] of drivers.entries()) await report(stack.services, d, offset(pickup.lat, pickup.lng, 0.1 + i * 0.1));
    const { token } = await newRider();
    const demand = (n: number) => recentRequests(pickup, n);
    const reading = async () => (await estimate(token, trip(pickup))).data!.estimateRide.surgeMultiplier;
    // 3 drivers, 4 requests: raw 1 + 0.5 × (4/3 − 1) = 1.1667 → 1.2 (rounded up to the step).
    await demand(4);
    expect(await reading()).toBe(1.2);
    // 3 drivers, 5 requests: raw 1 + 0.5 × (5/3 − 1) = 1.3333 → 1.3 (rounded down: nearest, not up).
    await demand(1);
    expect(await reading()).toBe(1.3);
    // The admin's view is stepped the same way (from the stored, unstepped value).
    const admin = await stack.token('admin', 'ops');
    const cells = (await http(stack.httpUrl, `{ surgeCells(lat: ${pickup.lat}, lng: ${pickup.lng}) { cell carType multiplier supply demand } }`, {}, admin)).data!.surgeCells;
    expect(cells).toContainEqual({ cell, carType: 'ECONOMY', multiplier: 1.3, supply: 3, demand: 5 });
  });

  it('counts supply only as far as the demand needs: a first search of 64 drivers, a wider one when the demand is above the free ones', async () => {
    const pickup = { lat: 38.7223, lng: -9.1393 };
    const drivers = await registerDrivers(stack.services, Array.from({ length: 70 }, () => ({ id: uniqueId('many') })));
    for (const [i, d] of drivers.entries()) await report(stack.services, d, offset(pickup.lat, pickup.lng, 0.05 + i * 0.004));
    // The 10 nearest are on trips (rides picked up elsewhere, so they are not this cell's demand).
    for (const d of drivers.slice(0, 10)) {
      const riderId = uniqueId('trip');
      await registerRider(stack.services, riderId);
      await stack.services.db.ride.create({
        data: { id: randomUUID(), riderId, driverId: d.id, pickupLat: 0, pickupLng: 0, dropoffLat: 0, dropoffLng: 0, carType: 'ECONOMY', paymentMethod: 'CARD', status: 'IN_PROGRESS', pickupCell: surgeCellOf(0, 0) },
      });
    }
    // No demand: the first search's 64 drivers (54 of them free) already say the price is 1.
    expect(await stack.services.surge.at(pickup.lat, pickup.lng, 'ECONOMY')).toMatchObject({ multiplier: 1, supply: 54, demand: 0 });
    // 58 requests outnumber those 54 free: the count reads on, to all 70 (60 free), so the price stays 1.
    await recentRequests(pickup, 58);
    expect(await stack.services.surge.at(pickup.lat, pickup.lng, 'ECONOMY')).toMatchObject({ multiplier: 1, supply: 60, demand: 58 });
    // 80 requests: 60 free drivers, raw 1 + 0.5 × (80/60 − 1) = 1.17 → 1.2.
    await recentRequests(pickup, 22);
    expect(await stack.services.surge.at(pickup.lat, pickup.lng, 'ECONOMY')).toMatchObject({ multiplier: 1.2, supply: 60, demand: 80 });
  });

  it('smooths: with a time constant the multiplier moves part of the way at a time', async () => {
    const own = await startStack({ env: { SURGE_SMOOTHING_MS: '3600000', SURGE_RECOMPUTE_MS: '0' } });
    try {
      const pickup = { lat: 50.1109, lng: 8.6821 };
      const riderId = uniqueId('rider');
      await registerRider(own.services, riderId);
      // No driver at all and demand: the raw value is the cap; an hour-long constant barely moves it.
      await own.services.db.ride.create({ data: { id: randomUUID(), riderId, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: 0, dropoffLng: 0, carType: 'ECONOMY', paymentMethod: 'CARD', status: 'CANCELLED', pickupCell: surgeCellOf(pickup.lat, pickup.lng) } });
      await own.services.db.ride.create({ data: { id: randomUUID(), riderId, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: 0, dropoffLng: 0, carType: 'ECONOMY', paymentMethod: 'CARD', status: 'CANCELLED', pickupCell: surgeCellOf(pickup.lat, pickup.lng) } });
      const first = await own.services.surge.at(pickup.lat, pickup.lng, 'ECONOMY');
      expect(first.multiplier).toBe(1.5); // the first reading is taken as is: 1 + 0.5 × (2 − 1)
      await own.services.db.rideOffer.deleteMany({});
      for (let i = 0; i < 6; i++) await own.services.db.ride.create({ data: { id: randomUUID(), riderId, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: 0, dropoffLng: 0, carType: 'ECONOMY', paymentMethod: 'CARD', status: 'CANCELLED', pickupCell: surgeCellOf(pickup.lat, pickup.lng) } });
      const second = await own.services.surge.at(pickup.lat, pickup.lng, 'ECONOMY');
      expect(second.multiplier).toBe(1.5); // raw is 3 now, but a second of an hour moves it by ~0
    } finally {
      await own.stop();
    }
  });

  it("computes a cell's surge once per SURGE_RECOMPUTE_MS, however many estimates ask (each costs a wide search and a Postgres count)", async () => {
    const own = await startStack({ env: { SURGE_SMOOTHING_MS: '0', SURGE_RECOMPUTE_MS: '600000' } });
    try {
      const pickup = { lat: 53.5511, lng: 9.9937 };
      const cell = surgeCellOf(pickup.lat, pickup.lng);
      const riderId = uniqueId('rider');
      await registerRider(own.services, riderId);
      const token = await own.token('rider', riderId);
      const demand = (n: number) =>
        own.services.db.ride.createMany({
          data: Array.from({ length: n }, () => ({ id: randomUUID(), riderId, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: 0, dropoffLng: 0, carType: 'ECONOMY' as const, paymentMethod: 'CARD' as const, status: 'CANCELLED' as const, pickupCell: cell })),
        });
      await demand(2);
      // Twenty at once: one computation, one answer (no driver, 2 requests: 1 + 0.5 × (2 − 1)).
      const burst = await Promise.all(Array.from({ length: 20 }, () => http(own.httpUrl, ESTIMATE, { input: trip(pickup) }, token)));
      expect(new Set(burst.map((r) => r.data?.estimateRide.surgeMultiplier))).toEqual(new Set([1.5]));
      // More demand within the interval: the estimate still quotes the value computed before.
      await demand(6);
      expect((await http(own.httpUrl, ESTIMATE, { input: trip(pickup) }, token)).data!.estimateRide.surgeMultiplier).toBe(1.5);
      const admin = await own.token('admin', 'ops');
      const cells = (await http(own.httpUrl, `{ surgeCells(lat: ${pickup.lat}, lng: ${pickup.lng}) { cell carType supply demand } }`, {}, admin)).data!.surgeCells;
      expect(cells).toContainEqual({ cell, carType: 'ECONOMY', supply: 0, demand: 2 });
    } finally {
      await own.stop();
    }
  });

  it('refuses bad input with typed errors, creating nothing', async () => {
    const { id, token } = await newRider();
    const pickup = { lat: 40.7128, lng: -74.006 };
    const cases: Array<[Record<string, unknown>, string, string?]> = [
      [{ ...trip(pickup), carType: 'SPACESHIP' }, 'BAD_USER_INPUT'],
      [{ ...trip(pickup), dropoff: pickup }, 'BAD_USER_INPUT', 'dropoff'],
      [{ ...trip(pickup), pickup: { lat: 91, lng: 0 } }, 'BAD_USER_INPUT', 'pickup.lat'],
    ];
    for (const [input, code, field] of cases) {
      const res = await estimate(token, input);
      expect(res.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code, ...(field ? { field } : {}) });
    }
    expect(await stack.services.db.fareEstimate.count({ where: { riderId: id } })).toBe(0);
    // Drivers do not estimate; anonymous callers neither.
    expect((await estimate(await stack.token('driver', 'x'), trip(pickup))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('requestRide and its quote', () => {
  const pickup = { lat: 52.3676, lng: 4.9041 };

  it('honours the estimate while valid, even after the tariff changed; without one it prices now', async () => {
    const { token } = await newRider();
    const e = (await estimate(token, trip(pickup))).data!.estimateRide;
    const admin = await stack.token('admin', 'ops');
    const raise = await http(stack.httpUrl, 'mutation { setTariff(carType: ECONOMY, input: { currency: "INR", baseFare: 9000, perKm: 1200, perMinute: 150, minimumFare: 6000 }) { baseFare } }', {}, admin);
    expect(raise.data?.setTariff.baseFare).toBe(9000);
    try {
      const quoted = (await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD', estimateId: e.id } }, token)).data!.requestRide;
      expect(quoted.quote).toEqual({ estimateId: e.id, total: e.total, currency: 'INR', surgeMultiplier: e.surgeMultiplier });
      const other = await newRider();
      const fresh = (await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD' } }, other.token)).data!.requestRide;
      expect(fresh.quote.estimateId).toBeNull();
      expect(fresh.quote.total).toBe(e.total + 5000); // the new base fare
    } finally {
      await http(stack.httpUrl, 'mutation { setTariff(carType: ECONOMY, input: { currency: "INR", baseFare: 4000, perKm: 1200, perMinute: 150, minimumFare: 6000 }) { baseFare } }', {}, admin);
    }
  });

  it('refuses an expired, foreign or mismatched estimate with a typed error, creating nothing', async () => {
    const me = await newRider();
    const someoneElse = await newRider();
    const mine = (await estimate(me.token, trip(pickup))).data!.estimateRide;
    const theirs = (await estimate(someoneElse.token, trip(pickup))).data!.estimateRide;
    const expired = (await estimate(me.token, trip(pickup))).data!.estimateRide;
    await stack.services.db.fareEstimate.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ ...trip(pickup), estimateId: expired.id }, 'ESTIMATE_EXPIRED', 'estimateId'],
      [{ ...trip(pickup), estimateId: theirs.id }, 'FORBIDDEN', 'estimateId'],
      [{ ...trip(pickup), estimateId: mine.id, pickup: offset(pickup.lat, pickup.lng, 0, 1) }, 'ESTIMATE_MISMATCH', 'pickup'],
      [{ ...trip(pickup), estimateId: mine.id, dropoff: offset(pickup.lat, pickup.lng, 5) }, 'ESTIMATE_MISMATCH', 'dropoff'],
      [{ ...trip(pickup), estimateId: mine.id, carType: 'XL' }, 'ESTIMATE_MISMATCH', 'carType'],
      [{ ...trip(pickup), estimateId: randomUUID() }, 'NOT_FOUND', ''],
    ];
    for (const [input, code, field] of cases) {
      const res = await http(stack.httpUrl, REQUEST, { input: { ...input, paymentMethod: 'CARD' } }, me.token);
      expect(res.errors?.[0]?.extensions, code).toMatchObject({ code, ...(field ? { field } : {}) });
    }
    expect(await stack.services.db.ride.count({ where: { riderId: me.id } })).toBe(0);
    // Within the tolerance (50 m off) the estimate still holds.
    const near = await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), pickup: offset(pickup.lat, pickup.lng, 0.05), paymentMethod: 'CARD', estimateId: mine.id } }, me.token);
    expect(near.data?.requestRide.quote.estimateId).toBe(mine.id);
  });
});

describe('scheduled rides', () => {
  const pickup = { lat: 41.9028, lng: 12.4964 };
  const UPDATES = 'subscription($id: ID!) { rideUpdates(rideId: $id) { status ride { id dispatchedAt } } }';

  it('refuses a time in the past, too soon or beyond the horizon', async () => {
    const { id, token } = await newRider();
    for (const ms of [-60_000, 500, 2 * 3_600_000]) {
      const res = await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD', scheduledAt: new Date(Date.now() + ms).toISOString() } }, token);
      expect(res.errors?.[0]?.extensions, String(ms)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scheduledAt' });
    }
    expect(await stack.services.db.ride.count({ where: { riderId: id } })).toBe(0);
  });

  it('books a ride, dispatches it before its time through the durable timer, and tells the rider', async () => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('sch') }]);
    const driver = await connectDriver(stack, stack.wsUrl, d!);
    await driver.report(offset(pickup.lat, pickup.lng, 0.2));
    const { token } = await newRider();
    const at = new Date(Date.now() + 3_000);
    const booked = await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD', scheduledAt: at.toISOString() } }, token);
    expect(booked.data?.requestRide).toMatchObject({ status: 'SCHEDULED', scheduledAt: at.toISOString() });
    const rideId = booked.data!.requestRide.id;
    // One live ride per rider, a booked one included.
    const second = await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD' } }, token);
    expect(second.errors?.[0]?.extensions).toMatchObject({ code: 'ACTIVE_RIDE_EXISTS', rideId });
    const rider = wsConnect(stack.wsUrl, token);
    await rider.connected;
    const updates = rider.subscribe<any>(UPDATES, { id: rideId });
    expect((await updates.next()).data?.rideUpdates.status).toBe('SCHEDULED');
    expect(driver.offers.received.filter((r) => r.data?.driverOffers?.__typename === 'RideOffer')).toHaveLength(0);
    // Dispatch starts a second before the pickup time: the rider sees it, the driver gets the offer.
    const dispatched = (await updates.next(5_000)).data?.rideUpdates;
    expect(dispatched.status).toBe('SEARCHING');
    expect(new Date(dispatched.ride.dispatchedAt).getTime()).toBeLessThan(at.getTime());
    expect((await driver.nextEvent('RideOffer', 5_000)).ride.id).toBe(rideId);
    expect(await driver.accept(rideId)).toMatchObject({ __typename: 'RideAssignment' });
    await eventually(() => updates.received.some((r) => r.data?.rideUpdates.status === 'ASSIGNED'));
    await Promise.all([driver.close(), rider.close()]);
  });

  it('can be cancelled before dispatch: nobody is offered it', async () => {
    const { token } = await newRider();
    const booked = (await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD', scheduledAt: new Date(Date.now() + 60_000).toISOString() } }, token)).data!.requestRide;
    const cancelled = await http(stack.httpUrl, `mutation { cancelRide(rideId: "${booked.id}") { status nextRound: round } }`, {}, token);
    expect(cancelled.data?.cancelRide.status).toBe('CANCELLED');
    const row = await stack.services.db.ride.findUniqueOrThrow({ where: { id: booked.id } });
    expect(row.nextCheckAt).toBeNull();
  });

  it('is dispatched by another instance when the one that booked it died (SIGKILL)', async () => {
    const port = await freePort();
    const doomed = spawnServer({ ...stack.env, PORT: String(port), LOG_LEVEL: 'info', SCHEDULE_MIN_LEAD_MS: '2000', SCHEDULE_DISPATCH_LEAD_MS: '1000' });
    try {
      await doomed.waitFor(/Ridematch is up/);
      const { token } = await newRider();
      const at = new Date(Date.now() + 4_000);
      const booked = (await http(`http://127.0.0.1:${port}/graphql`, REQUEST, { input: { ...trip(pickup), paymentMethod: 'CARD', scheduledAt: at.toISOString() } }, token)).data!.requestRide;
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      await eventually(async () => (await stack.services.db.ride.findUniqueOrThrow({ where: { id: booked.id } })).status !== 'SCHEDULED', 8_000);
      const history = await stack.services.db.rideHistory.findMany({ where: { rideId: booked.id }, orderBy: { id: 'asc' } });
      expect(history.map((h) => h.type).slice(0, 2)).toEqual(['REQUESTED', 'DISPATCH_STARTED']);
    } finally {
      doomed.child.kill('SIGKILL');
    }
  });
});

describe('the trip', () => {
  const STEP = (name: string) => `mutation($id: ID!) { ${name}(rideId: $id) { ${rideFields} } }`;

  async function assignedRide(pickup: { lat: number; lng: number }, km = 3) {
    const [p] = await registerDrivers(stack.services, [{ id: uniqueId('trip') }]);
    const driver = await connectDriver(stack, stack.wsUrl, p!);
    await driver.report(offset(pickup.lat, pickup.lng, 0.5));
    const rider = await newRider();
    const e = (await estimate(rider.token, trip(pickup, km))).data!.estimateRide;
    const ride = (await http(stack.httpUrl, REQUEST, { input: { ...trip(pickup, km), paymentMethod: 'CARD', estimateId: e.id } }, rider.token)).data!.requestRide;
    await driver.nextEvent('RideOffer');
    expect(await driver.accept(ride.id)).toMatchObject({ __typename: 'RideAssignment' });
    return { driver, rider, ride, estimate: e, driverToken: await stack.token('driver', p!.id) };
  }

  it('goes ASSIGNED → DRIVER_ARRIVED → IN_PROGRESS → COMPLETED, each step the assigned driver\'s only, in order, repeatable', async () => {
    const { driver, ride, driverToken } = await assignedRide({ lat: 55.9533, lng: -3.1883 });
    const [stranger] = await registerDrivers(stack.services, [{ id: uniqueId('x') }]);
    const strangerToken = await stack.token('driver', stranger!.id);
    const call = (name: string, token = driverToken) => http(stack.httpUrl, STEP(name), { id: ride.id }, token);
    expect((await call('startTrip')).errors?.[0]?.extensions?.code).toBe('INVALID_STATE'); // not arrived yet
    expect((await call('completeRide')).errors?.[0]?.extensions?.code).toBe('INVALID_STATE');
    expect((await call('arrivedAtPickup', strangerToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const arrived = (await call('arrivedAtPickup')).data!.arrivedAtPickup;
    expect(arrived.status).toBe('DRIVER_ARRIVED');
    expect((await call('arrivedAtPickup')).data!.arrivedAtPickup).toEqual(arrived); // a retry
    const started = (await call('startTrip')).data!.startTrip;
    expect(started.status).toBe('IN_PROGRESS');
    expect(new Date(started.startedAt).getTime()).toBeGreaterThanOrEqual(new Date(arrived.arrivedAt).getTime());
    expect((await call('startTrip')).data!.startTrip).toEqual(started); // a retry: the same answer, startedAt kept
    expect((await call('startTrip', strangerToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await http(stack.httpUrl, `mutation { cancelRide(rideId: "${ride.id}") { status } }`, {}, (await newRider()).token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const done = (await call('completeRide')).data!.completeRide;
    expect(done.status).toBe('COMPLETED');
    expect((await call('completeRide')).data!.completeRide).toEqual(done);
    expect((await call('arrivedAtPickup')).errors?.[0]?.extensions?.code).toBe('INVALID_STATE');
    await driver.close();
  });

  it("streams the driver's position to the rider alone, at most once a second, latest winning, with an ETA", async () => {
    const pickup = { lat: 53.3498, lng: -6.2603 };
    const { driver, rider, ride } = await assignedRide(pickup);
    const { riderWs, adminWs, riderUpdates, adminUpdates } = await followedByRiderAndAdmin(rider.token, ride.id);
    await riderUpdates.next();
    await adminUpdates.next();
    // Ten pings in about 1.5 s, closing in on the pickup.
    const path: Array<{ lat: number; lng: number }> = [];
    for (let i = 0; i < 10; i++) {
      const at = offset(pickup.lat, pickup.lng, 0.5 - i * 0.04);
      path.push(at);
      await driver.report(at);
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, 1_200));
    // After the first state (which carries the last known position), only pushed positions.
    const positions = riderUpdates.received.slice(1).map((r) => r.data?.rideUpdates).filter((u) => u?.driverPosition && u.status === 'ASSIGNED');
    expect(positions.length).toBeGreaterThanOrEqual(2);
    expect(positions.length).toBeLessThanOrEqual(3); // ~1.4 s of pings: the first at once, then at most one a second
    expect(positions.at(-1).driverPosition.lng).toBeCloseTo(path.at(-1)!.lng, 6); // the latest wins
    expect(positions.at(-1).etaMinutes).toBe(Math.ceil((haversineKm(path.at(-1)!.lat, path.at(-1)!.lng, pickup.lat, pickup.lng) / 30) * 60));
    // The admin following the ride gets states, not the stream of positions.
    expect(adminUpdates.received.slice(1)).toEqual([]);
    await Promise.all([driver.close(), riderWs.close(), adminWs.close()]);
  });

  it("keeps streaming the driver's position to the rider while DRIVER_ARRIVED and IN_PROGRESS, with the ETA to the dropoff on the trip", async () => {
    const pickup = { lat: 50.0755, lng: 14.4378 };
    const { driver, rider, ride, driverToken } = await assignedRide(pickup);
    const call = (name: string) => http(stack.httpUrl, STEP(name), { id: ride.id }, driverToken);
    const { riderWs, adminWs, riderUpdates, adminUpdates } = await followedByRiderAndAdmin(rider.token, ride.id);
    expect((await riderUpdates.next()).data?.rideUpdates.status).toBe('ASSIGNED');
    await adminUpdates.next();
    const updates = () => riderUpdates.received.map((r) => r.data?.rideUpdates);
    /** Pings `at`, then waits for a pushed position there in `status` (the push interval is 1 s). */
    const pushedAt = async (status: string, at: { lat: number; lng: number }) => {
      await driver.report(at);
      await eventually(() => updates().some((u) => u?.status === status && u.driverPosition && Math.abs(u.driverPosition.lng - at.lng) < 1e-9), 5_000);
      return updates().filter((u) => u?.status === status && u.driverPosition && Math.abs(u.driverPosition.lng - at.lng) < 1e-9).at(-1);
    };

    await call('arrivedAtPickup');
    await eventually(() => updates().some((u) => u?.status === 'DRIVER_ARRIVED'));
    const waiting = await pushedAt('DRIVER_ARRIVED', offset(pickup.lat, pickup.lng, 0.01));
    expect(waiting.etaMinutes).toBeNull(); // no ETA while waiting at the pickup

    const started = (await call('startTrip')).data!.startTrip;
    expect((await call('startTrip')).data!.startTrip).toEqual(started); // a retry answers the same
    await eventually(() => updates().some((u) => u?.status === 'IN_PROGRESS'));
    const dropoff = trip(pickup).dropoff;
    const onTheWay = offset(pickup.lat, pickup.lng, 1);
    const moving = await pushedAt('IN_PROGRESS', onTheWay);
    expect(moving.driverPosition.lat).toBeCloseTo(onTheWay.lat, 6);
    expect(moving.etaMinutes).toBe(Math.ceil((haversineKm(onTheWay.lat, onTheWay.lng, dropoff.lat, dropoff.lng) / 30) * 60));

    const done = (await call('completeRide')).data!.completeRide;
    expect(done.fare.total).toBeGreaterThan(0);
    // The rider reads the fare charged on the ride itself, the same as the driver was answered.
    const read = await http(stack.httpUrl, 'query($id: ID!) { ride(id: $id) { status endedAt fare { total currency travelledKm tripMinutes } } }', { id: ride.id }, rider.token);
    expect(read.errors).toBeUndefined();
    expect(read.data!.ride).toEqual({ status: 'COMPLETED', endedAt: done.endedAt, fare: done.fare });
    // The admin following the ride got each state once (the retried startTrip sent none), never the pushed positions.
    await eventually(() => adminUpdates.received.some((r) => r.data?.rideUpdates.status === 'COMPLETED'));
    expect(adminUpdates.received.slice(1).map((r) => r.data?.rideUpdates.status)).toEqual(['DRIVER_ARRIVED', 'IN_PROGRESS', 'COMPLETED']);
    await Promise.all([driver.close(), riderWs.close(), adminWs.close()]);
  });

  it('charges the distance the pings covered while IN_PROGRESS and the minutes, capped by the quote', async () => {
    const pickup = { lat: 59.9139, lng: 10.7522 };
    const { driver, ride, estimate: e, driverToken } = await assignedRide(pickup, 2);
    const call = (name: string) => http(stack.httpUrl, STEP(name), { id: ride.id }, driverToken);
    // Pings stamped by the device 240 ms apart, 15 m each (225 km/h: fast but plausible), ending
    // a few seconds ahead (within the 5 s a device clock may run ahead).
    const base = Date.now();
    const ping = async (at: { lat: number; lng: number }, i: number) => {
      const res = await driver.ws.request('mutation($input: LocationInput!) { updateDriverLocation(input: $input) { outOfOrder } }', {
        input: { ...at, recordedAt: new Date(base + i * 240).toISOString() },
      });
      expect(res.errors).toBeUndefined();
      expect(res.data?.updateDriverLocation.outOfOrder).toBe(false);
    };
    await ping(pickup, 0); // at the pickup
    await call('arrivedAtPickup');
    await call('startTrip');
    // 0.3 km east in 15 m steps.
    for (let i = 1; i <= 20; i++) {
      await ping(offset(pickup.lat, pickup.lng, 0.015 * i), i);
      if (i === 10) expect((await call('startTrip')).data!.startTrip.status).toBe('IN_PROGRESS'); // a retry mid-trip: the odometer runs on
    }
    const done = (await call('completeRide')).data!.completeRide;
    expect(done.fare.travelledKm).toBeCloseTo(0.3, 2);
    const metered = Math.max(6000, Math.round(4000 + 1200 * done.fare.travelledKm + 150 * done.fare.tripMinutes));
    expect(done.fare.total).toBe(Math.min(metered, e.total));
    expect(done.fare.currency).toBe('INR');
    await driver.close();
  });
});

