// Issue 4: requestRide → nearest eligible drivers → offers over graphql-ws through Redis pub/sub
// → first accept wins → losers told, rider follows. Two instances share Redis and Postgres.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rideKey, rideRoute } from '../src/redis/keys.ts';
import { ACCEPT, connectDriver, feed, MY_OFFERS, REQUEST, RIDE_UPDATES, type DriverApp } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { http, wsConnect } from './helpers/graphql.ts';
import { startStack, uniqueId, type Instance, type Stack } from './helpers/stack.ts';

let stack: Stack;
let instanceB: Instance;

beforeAll(async () => {
  stack = await startStack({ env: { MATCH_BATCH_SIZE: '10', DRIVER_TTL_MS: '4000', MATCH_ROUND_TIMEOUT_MS: '20000' } });
  instanceB = await stack.startInstance();
});
afterAll(() => stack?.stop());

const request = (pickup: { lat: number; lng: number }, extra: Record<string, unknown> = {}) => ({
  input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 3, 2), carType: 'ECONOMY', paymentMethod: 'CARD', ...extra },
});

describe('two instances: drivers on A, rider on B (acceptance 1)', () => {
  const pickup = { lat: 12.9352, lng: 77.6245 };
  let drivers: DriverApp[];

  beforeAll(async () => {
    const profiles = await registerDrivers(stack.services, Array.from({ length: 10 }, () => ({ id: uniqueId('a') })));
    drivers = await Promise.all(profiles.map((p) => connectDriver(stack, stack.wsUrl, p)));
    await Promise.all(drivers.map((d, i) => d.report(offset(pickup.lat, pickup.lng, 0.05 * (i + 1)))));
  });
  afterAll(() => Promise.all(drivers.map((d) => d.close())));

  it('offers reach the drivers, one accepts, the rider sees ASSIGNED on B, the others see the revoke', async () => {
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const rider = wsConnect(instanceB.wsUrl, await stack.token('rider', riderId));
    await rider.connected;

    const requested = await rider.request(REQUEST, request(pickup));
    expect(requested.errors).toBeUndefined();
    const ride = requested.data!.requestRide;
    expect(ride).toMatchObject({ status: 'SEARCHING', round: 1 });

    const updates = rider.subscribe<any>(RIDE_UPDATES, { rideId: ride.id });
    expect((await updates.next()).data?.rideUpdates).toMatchObject({ status: 'SEARCHING', ride: { id: ride.id } });

    const offers = await Promise.all(drivers.map((d) => d.nextEvent('RideOffer')));
    for (const o of offers) {
      expect(o).toMatchObject({ round: 1, ride: { id: ride.id, status: 'SEARCHING', carType: 'ECONOMY', paymentMethod: 'CARD' } });
      expect(o.pickupDistanceKm).toBeLessThan(1);
      expect(new Date(o.expiresAt).getTime()).toBeGreaterThan(Date.now());
    }

    const winner = drivers[3]!;
    const result = await winner.accept(ride.id);
    expect(result).toMatchObject({ __typename: 'RideAssignment', ride: { id: ride.id, status: 'ASSIGNED', driver: { id: winner.profile.id } } });

    const assigned = (await updates.next()).data?.rideUpdates;
    expect(assigned).toMatchObject({ status: 'ASSIGNED', driver: { id: winner.profile.id } });
    expect(assigned.driverPosition.lat).toBeCloseTo(pickup.lat, 3);

    const losers = drivers.filter((d) => d !== winner);
    const revokes = await Promise.all(losers.map((d) => d.nextEvent('RideOfferRevoked')));
    expect(revokes).toEqual(losers.map(() => ({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'TAKEN' })));
    expect(feed(winner).some((e) => e?.__typename === 'RideOfferRevoked')).toBe(false);

    const row = await stack.services.db.ride.findUniqueOrThrow({ where: { id: ride.id }, include: { offers: true } });
    expect(row).toMatchObject({ status: 'ASSIGNED', driverId: winner.profile.id });
    expect(row.offers.filter((o) => o.status === 'ACCEPTED').map((o) => o.driverId)).toEqual([winner.profile.id]);
    expect(row.offers.filter((o) => o.status === 'REVOKED')).toHaveLength(9);
    for (const o of row.offers) expect(o.respondedAt).not.toBeNull();
    await rider.close();
  });
});

describe('eligibility (acceptance 3)', () => {
  it('never offers wrong car type, unsupported payment, low rating, stale, offline or busy drivers', async () => {
    const pickup = { lat: 19.076, lng: 72.8777 };
    const near = (km: number) => offset(pickup.lat, pickup.lng, km);
    const [stale] = await registerDrivers(stack.services, [{ id: uniqueId('stale') }]);
    await report(stack.services, stale!, near(0.1));
    await new Promise((r) => setTimeout(r, 4_100)); // silent past the 4 s TTL

    const [wrongCar, cashOnly, lowRated, offline, busy, eligible] = await registerDrivers(stack.services, [
      { id: uniqueId('xl'), carType: 'XL' },
      { id: uniqueId('cash'), paymentPreference: 'CASH' },
      { id: uniqueId('low'), rating: 3.9 },
      { id: uniqueId('off') },
      { id: uniqueId('busy') },
      { id: uniqueId('ok'), paymentPreference: 'CARD', rating: 4.2 },
    ]);
    for (const [i, d] of [wrongCar, cashOnly, lowRated, offline, busy].entries()) await report(stack.services, d!, near(0.1 + i * 0.05));
    await report(stack.services, eligible!, near(0.8)); // the farthest of all, yet the only fit
    const offlineApp = await connectDriver(stack, stack.wsUrl, offline!);
    await http(stack.httpUrl, 'mutation { setDriverStatus(status: OFFLINE) { status } }', {}, await stack.token('driver', offline!.id));
    // The busy driver is on another ride.
    const otherRider = uniqueId('rider');
    await registerRider(stack.services, otherRider);
    const first = await stack.services.requests.request(otherRider, { pickup: near(0.3), dropoff: near(2), carType: 'ECONOMY', paymentMethod: 'CASH' });
    const busyOffer = await stack.services.db.rideOffer.findFirst({ where: { rideId: first.id, driverId: busy!.id } });
    expect(busyOffer).not.toBeNull();
    expect((await stack.services.assignment.accept(busy!.id, first.id)).kind).toBe('assigned');

    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const res = await http(stack.httpUrl, REQUEST, request(pickup, { minDriverRating: 4.0 }), await stack.token('rider', riderId));
    const rideId = res.data!.requestRide.id;
    const offered = await stack.services.db.rideOffer.findMany({ where: { rideId } });
    expect(offered.map((o) => o.driverId)).toEqual([eligible!.id]);
    expect(feed(offlineApp).filter((e) => e?.__typename === 'RideOffer')).toEqual([]);
    await offlineApp.close();
  });
});

describe('who may do what (acceptance 4)', () => {
  const pickup = { lat: 28.6139, lng: 77.209 };
  let offered: DriverApp;
  let outsider: DriverApp;
  let rideId: string;
  let riderId: string;

  beforeAll(async () => {
    const [a, b] = await registerDrivers(stack.services, [{ id: uniqueId('in') }, { id: uniqueId('out'), carType: 'PREMIUM' }]);
    offered = await connectDriver(stack, stack.wsUrl, a!);
    outsider = await connectDriver(stack, stack.wsUrl, b!);
    await offered.report(offset(pickup.lat, pickup.lng, 0.2));
    await outsider.report(offset(pickup.lat, pickup.lng, 0.1));
    riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const res = await http(stack.httpUrl, REQUEST, request(pickup), await stack.token('rider', riderId));
    rideId = res.data!.requestRide.id;
    await offered.nextEvent('RideOffer');
  });
  afterAll(() => Promise.all([offered.close(), outsider.close()]));

  it("a driver's feed and myOffers hold only their own offers", async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(feed(outsider)).toEqual([]);
    expect((await outsider.ws.request(MY_OFFERS)).data?.myOffers).toEqual([]);
    expect((await offered.ws.request(MY_OFFERS)).data?.myOffers.map((o: any) => o.ride.id)).toEqual([rideId]);
  });

  it('a driver cannot read a ride they were never offered', async () => {
    const res = await outsider.ws.request('query R($id: ID!) { ride(id: $id) { id } }', { id: rideId });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const mine = await offered.ws.request('query R($id: ID!) { ride(id: $id) { id status } }', { id: rideId });
    expect(mine.data?.ride).toEqual({ id: rideId, status: 'SEARCHING' });
  });

  it('a driver cannot accept a ride not offered to them', async () => {
    expect(await outsider.accept(rideId)).toEqual({ __typename: 'OfferNotFound', rideId });
    expect((await stack.services.db.ride.findUniqueOrThrow({ where: { id: rideId } })).status).toBe('SEARCHING');
  });

  it('a rider cannot accept, and wrong roles get FORBIDDEN', async () => {
    const riderToken = await stack.token('rider', riderId);
    const driverToken = await stack.token('driver', offered.profile.id);
    expect((await http(stack.httpUrl, ACCEPT, { rideId }, riderToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await http(stack.httpUrl, REQUEST, request(pickup), driverToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const riderWs = wsConnect(stack.wsUrl, riderToken);
    const sub = riderWs.subscribe<any>('subscription { driverOffers { __typename } }');
    expect((await sub.next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await riderWs.close();
    const stranger = await stack.token('rider', uniqueId('other'));
    expect((await http(stack.httpUrl, 'query R($id: ID!) { ride(id: $id) { id } }', { id: rideId }, stranger)).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
  });
});

describe('repeated accepts (acceptance 5)', () => {
  it('the winner gets the same assignment again; a loser keeps getting RideAlreadyTaken', async () => {
    const pickup = { lat: 13.0827, lng: 80.2707 };
    const [w, l] = await registerDrivers(stack.services, [{ id: uniqueId('w') }, { id: uniqueId('l') }]);
    await report(stack.services, w!, offset(pickup.lat, pickup.lng, 0.1));
    await report(stack.services, l!, offset(pickup.lat, pickup.lng, 0.2));
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const ride = await stack.services.requests.request(riderId, request(pickup).input as any);
    const winnerToken = await stack.token('driver', w!.id);
    const loserToken = await stack.token('driver', l!.id);
    const first = await http(stack.httpUrl, ACCEPT, { rideId: ride.id }, winnerToken);
    expect(first.data?.acceptRide.__typename).toBe('RideAssignment');
    for (let i = 0; i < 3; i++) {
      expect((await http(instanceB.httpUrl, ACCEPT, { rideId: ride.id }, winnerToken)).data?.acceptRide).toEqual(first.data?.acceptRide);
      expect((await http(instanceB.httpUrl, ACCEPT, { rideId: ride.id }, loserToken)).data?.acceptRide).toEqual({ __typename: 'RideAlreadyTaken', rideId: ride.id });
    }
    const events = await stack.services.db.rideHistory.count({ where: { rideId: ride.id, type: 'ASSIGNED' } });
    expect(events).toBe(1);
  });

  it('Postgres still decides when the Redis claim record is lost', async () => {
    const pickup = { lat: 22.5726, lng: 88.3639 };
    const drivers = await registerDrivers(stack.services, Array.from({ length: 6 }, () => ({ id: uniqueId('lost') })));
    await Promise.all(drivers.map((d, i) => report(stack.services, d, offset(pickup.lat, pickup.lng, 0.1 * (i + 1)))));
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const ride = await stack.services.requests.request(riderId, request(pickup).input as any);
    await stack.services.router.owner(rideRoute(ride.id)).redis.del(rideKey(ride.id)); // as if its shard died
    const results = await Promise.all(drivers.map((d) => stack.services.assignment.accept(d.id, ride.id)));
    expect(results.filter((r) => r.kind === 'assigned')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'taken')).toHaveLength(5);
  });
});

describe('bad ids and coordinates (acceptance 6)', () => {
  it('answers malformed and unknown ride ids with typed errors', async () => {
    const [d] = await registerDrivers(stack.services, [{ id: uniqueId('ids') }]);
    const token = await stack.token('driver', d!.id);
    for (const op of [ACCEPT, 'mutation D($rideId: ID!) { declineRide(rideId: $rideId) { __typename } }']) {
      expect((await http(stack.httpUrl, op, { rideId: 'not-a-ride' }, token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'rideId' });
      expect((await http(stack.httpUrl, op, { rideId: randomUUID() }, token)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const admin = await stack.token('admin', 'ops');
    expect((await http(stack.httpUrl, 'query R($id: ID!) { ride(id: $id) { id } }', { id: "1'; DROP TABLE" }, admin)).errors?.[0]?.extensions?.code).toBe(
      'BAD_USER_INPUT',
    );
    expect((await http(stack.httpUrl, 'query R($id: ID!) { ride(id: $id) { id } }', { id: randomUUID() }, admin)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('answers invalid coordinates and ratings with typed errors and creates nothing', async () => {
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const token = await stack.token('rider', riderId);
    const ok = request({ lat: 12.97, lng: 77.59 }).input;
    const table: Array<[Record<string, unknown>, string]> = [
      [{ ...ok, pickup: { lat: 91, lng: 77 } }, 'pickup.lat'],
      [{ ...ok, pickup: { lat: 12, lng: 181 } }, 'pickup.lng'],
      [{ ...ok, dropoff: { lat: -86, lng: 0 } }, 'dropoff.lat'],
      [{ ...ok, minDriverRating: 5.5 }, 'minDriverRating'],
      [{ ...ok, minDriverRating: -1 }, 'minDriverRating'],
    ];
    for (const [input, field] of table) {
      const res = await http(stack.httpUrl, REQUEST, { input }, token);
      expect(res.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const wrongEnum = await http(stack.httpUrl, REQUEST, { input: { ...ok, carType: 'SPACESHIP' } }, token);
    expect(wrongEnum.errors?.[0]?.message, JSON.stringify(wrongEnum)).toMatch(/SPACESHIP/);
    expect(await stack.services.db.ride.count({ where: { riderId } })).toBe(0);
  });
});
