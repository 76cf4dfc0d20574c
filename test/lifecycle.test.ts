// Issue 5: rounds with a widening radius, declines, cancels, reconnects, expiry, going offline or
// silent, and the end of the line (NO_DRIVERS_AVAILABLE). Short timings from config.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverKey, driverRoute } from '../src/redis/keys.ts';
import type { DriverProfile } from '../src/registry/registry.ts';
import { connectDriver, feed, MY_OFFERS, OFFERS, REQUEST, RIDE_UPDATES, type DriverApp } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually, http, wsConnect } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const ROUND_MS = 1_500;

/** Keeps drivers alive (reporting every 500 ms) until stopped, like the app's 10 s timer. */
function keepReporting(apps: Array<{ app: DriverApp; at: { lat: number; lng: number } }>) {
  let on = true;
  const loop = (async () => {
    while (on) {
      await Promise.all(apps.map(({ app, at }) => app.report(at).catch(() => {})));
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return async () => {
    on = false;
    await loop;
  };
}

async function dispatchState(stack: Stack, driverId: string) {
  return stack.services.router.owner(driverRoute(driverId)).redis.hmget(driverKey(driverId), 'state', 'ride');
}

async function newRider(stack: Stack) {
  const id = uniqueId('rider');
  await registerRider(stack.services, id);
  return { id, token: await stack.token('rider', id) };
}

const rideInput = (pickup: { lat: number; lng: number }) => ({
  input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 4), carType: 'ECONOMY', paymentMethod: 'CASH' },
});

describe('rounds, declines, cancels, reconnects', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        MATCH_BATCH_SIZE: '2',
        MATCH_ROUND_TIMEOUT_MS: String(ROUND_MS),
        MATCH_MAX_ROUNDS: '3',
        MATCH_RADIUS_START_KM: '1',
        MATCH_RADIUS_STEP_KM: '2',
        MATCH_RADIUS_CAP_KM: '5',
        DRIVER_TTL_MS: '10000',
      },
    });
  });
  afterAll(() => stack?.stop());

  /** Drivers at the given distances (km, due east of the pickup), connected and reporting. */
  async function driversAt(pickup: { lat: number; lng: number }, kms: number[]) {
    const profiles = await registerDrivers(stack.services, kms.map(() => ({ id: uniqueId('dr') })));
    const apps = await Promise.all(profiles.map((p) => connectDriver(stack, stack.wsUrl, p)));
    const placed = apps.map((app, i) => ({ app, at: offset(pickup.lat, pickup.lng, kms[i]!) }));
    await Promise.all(placed.map(({ app, at }) => app.report(at)));
    const stop = keepReporting(placed);
    return { apps, stop: async () => (await stop(), await Promise.all(apps.map((a) => a.close()))) };
  }

  /** Drivers placed as in driversAt, and a ride requested at the pickup by a new rider. */
  async function rideRequestedNear(pickup: { lat: number; lng: number }, kms: number[]) {
    const drivers = await driversAt(pickup, kms);
    const rider = await newRider(stack);
    const ride = (await http(stack.httpUrl, REQUEST, rideInput(pickup), rider.token)).data!.requestRide;
    return { ...drivers, rider, ride };
  }

  it('round 2 reaches drivers beyond the round-1 radius and never re-offers a decliner (acceptances 1, 2)', async () => {
    const { apps, stop, ride } = await rideRequestedNear({ lat: 52.52, lng: 13.405 }, [0.3, 0.6, 2.5]);
    const [a, b, far] = apps as [DriverApp, DriverApp, DriverApp];
    try {
      expect((await a.nextEvent('RideOffer')).round).toBe(1);
      expect((await b.nextEvent('RideOffer')).round).toBe(1);
      expect(feed(far)).toEqual([]); // 2.5 km is outside round 1's 1 km

      await a.decline(ride.id);
      const lastDeclineAt = Date.now();
      await b.decline(ride.id);
      const second = await far.nextEvent('RideOffer');
      const waited = Date.now() - lastDeclineAt;
      expect(second.round).toBe(2);
      expect(waited).toBeLessThan(ROUND_MS / 2); // did not wait for the round to time out

      // Round 3 must not come back to the decliners either.
      await far.decline(ride.id);
      await eventually(async () => (await stack.services.queries.ride(ride.id))?.status === 'NO_DRIVERS_AVAILABLE', 3_000);
      expect(feed(a).filter((e) => e?.__typename === 'RideOffer')).toHaveLength(1);
      expect(feed(b).filter((e) => e?.__typename === 'RideOffer')).toHaveLength(1);
      const offers = await stack.services.db.rideOffer.findMany({
        where: { rideId: ride.id },
        orderBy: [{ round: 'asc' }, { pickupDistanceKm: 'asc' }],
      });
      expect(offers.map((o) => [o.driverId, o.round, o.status])).toEqual([
        [a.profile.id, 1, 'DECLINED'],
        [b.profile.id, 1, 'DECLINED'],
        [far.profile.id, 2, 'DECLINED'],
      ]);
    } finally {
      await stop();
    }
  });

  it('a round that times out widens to the next radius', async () => {
    const { apps, stop, ride } = await rideRequestedNear({ lat: 41.9028, lng: 12.4964 }, [0.4, 2.2]);
    const [near, far] = apps as [DriverApp, DriverApp];
    try {
      const first = await near.nextEvent('RideOffer');
      const offeredAt = Date.now();
      expect(first.round).toBe(1);
      // Nobody answers: after the timeout the near driver's offer expires and round 2 reaches 2.2 km.
      expect(await near.nextEvent('RideOfferRevoked', 4_000)).toEqual({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'EXPIRED' });
      const second = await far.nextEvent('RideOffer', 4_000);
      expect(second.round).toBe(2);
      expect(Date.now() - offeredAt).toBeGreaterThanOrEqual(ROUND_MS - 100);
      expect(await far.accept(ride.id)).toMatchObject({ __typename: 'RideAssignment' });
    } finally {
      await stop();
    }
  });

  it('rider cancels while offers are live: revoked, accept does not assign, reservations freed (acceptance 4)', async () => {
    const { apps, stop, rider, ride } = await rideRequestedNear({ lat: 59.3293, lng: 18.0686 }, [0.2, 0.4]);
    try {
      await Promise.all(apps.map((d) => d.nextEvent('RideOffer')));
      const cancelled = await http(stack.httpUrl, 'mutation C($id: ID!) { cancelRide(rideId: $id) { status endReason } }', { id: ride.id }, rider.token);
      expect(cancelled.data?.cancelRide).toEqual({ status: 'CANCELLED', endReason: 'cancelled by rider' });
      for (const d of apps) expect(await d.nextEvent('RideOfferRevoked')).toEqual({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'CANCELLED' });
      expect(await apps[0]!.accept(ride.id)).toEqual({ __typename: 'OfferNotFound', rideId: ride.id });
      const row = await stack.services.db.ride.findUniqueOrThrow({ where: { id: ride.id }, include: { offers: true } });
      expect(row.status).toBe('CANCELLED');
      expect(row.driverId).toBeNull();
      expect(row.offers.map((o) => o.status)).toEqual(['REVOKED', 'REVOKED']);
      for (const d of apps) expect((await dispatchState(stack, d.profile.id))[0]).toBe('FREE');
    } finally {
      await stop();
    }
  });

  it('cancel after assignment tells the driver and frees them for the next ride (acceptance 4)', async () => {
    const pickup = { lat: 45.4642, lng: 9.19 };
    const { apps, stop, rider, ride } = await rideRequestedNear(pickup, [0.3]);
    const [driver] = apps as [DriverApp];
    try {
      await driver.nextEvent('RideOffer');
      expect(await driver.accept(ride.id)).toMatchObject({ __typename: 'RideAssignment' });
      expect((await dispatchState(stack, driver.profile.id))[0]).toBe('ON_RIDE');
      await http(stack.httpUrl, 'mutation C($id: ID!) { cancelRide(rideId: $id) { status } }', { id: ride.id }, rider.token);
      expect(await driver.nextEvent('RideOfferRevoked')).toEqual({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'CANCELLED' });
      expect((await dispatchState(stack, driver.profile.id))[0]).toBe('FREE');
      const next = (await http(stack.httpUrl, REQUEST, rideInput(pickup), rider.token)).data!.requestRide;
      expect((await driver.nextEvent('RideOffer')).ride.id).toBe(next.id);
    } finally {
      await stop();
    }
  });

  it('a reconnecting driver gets live offers from myOffers (and its feed); an expired offer cannot be accepted (acceptance 5)', async () => {
    const { apps, stop, ride } = await rideRequestedNear({ lat: 47.4979, lng: 19.0402 }, [0.3]);
    const [driver] = apps as [DriverApp];
    try {
      await driver.nextEvent('RideOffer');
      await driver.close(); // the app loses its socket...
      const again = wsConnect(stack.wsUrl, await stack.token('driver', driver.profile.id));
      await again.connected;
      const live = (await again.request(MY_OFFERS)).data?.myOffers;
      expect(live.map((o: any) => [o.ride.id, o.round])).toEqual([[ride.id, 1]]);
      const replay = again.subscribe<any>(OFFERS);
      expect((await replay.next()).data?.driverOffers).toMatchObject({ __typename: 'RideOffer', ride: { id: ride.id } });

      await new Promise((r) => setTimeout(r, new Date(live[0].expiresAt).getTime() - Date.now() + 50));
      const late = await again.request('mutation A($id: ID!) { acceptRide(rideId: $id) { __typename } }', { id: ride.id });
      expect(late.data?.acceptRide.__typename).toBe('OfferExpired');
      expect((await stack.services.db.ride.findUniqueOrThrow({ where: { id: ride.id } })).driverId).toBeNull();
      await again.close();
    } finally {
      await stop();
    }
  });

  it('no accept at all: NO_DRIVERS_AVAILABLE after the last round, rider told, nobody left reserved (acceptance 6)', async () => {
    const pickup = { lat: 50.0755, lng: 14.4378 };
    const { apps, stop } = await driversAt(pickup, [0.3, 0.5, 2, 2.5, 4, 4.5]);
    try {
      const rider = await newRider(stack);
      const riderWs = wsConnect(stack.wsUrl, rider.token);
      const ride = (await riderWs.request(REQUEST, rideInput(pickup))).data!.requestRide;
      const updates = riderWs.subscribe<any>(RIDE_UPDATES, { rideId: ride.id });
      const statuses: any[] = [];
      for (;;) {
        const e = (await updates.next(3 * ROUND_MS + 3_000)).data?.rideUpdates;
        statuses.push(e);
        if (e.status !== 'SEARCHING') break;
      }
      const last = statuses.at(-1);
      expect(last).toMatchObject({ status: 'NO_DRIVERS_AVAILABLE', reason: 'no driver accepted in 3 round(s)' });
      expect(Math.max(...statuses.map((s) => s.ride.round))).toBe(3);

      const offers = await stack.services.db.rideOffer.findMany({ where: { rideId: ride.id } });
      expect(offers).toHaveLength(6);
      expect(new Set(offers.map((o) => o.round))).toEqual(new Set([1, 2, 3]));
      expect(offers.every((o) => o.status === 'EXPIRED' && o.respondedAt)).toBe(true);
      for (const d of apps) {
        const [state, held] = await dispatchState(stack, d.profile.id);
        expect(state).toBe('FREE');
        expect(held).toBeNull();
      }
      // Every transition is stored, so time-to-match and acceptance rate can be computed later.
      const history = await stack.services.db.rideHistory.findMany({ where: { rideId: ride.id }, orderBy: { id: 'asc' } });
      expect(history.map((h) => h.type)).toEqual([
        'REQUESTED',
        'ROUND_STARTED',
        'OFFER_EXPIRED', 'OFFER_EXPIRED',
        'ROUND_STARTED',
        'OFFER_EXPIRED', 'OFFER_EXPIRED',
        'ROUND_STARTED',
        'OFFER_EXPIRED', 'OFFER_EXPIRED',
        'NO_DRIVERS_AVAILABLE',
      ]);
      await riderWs.close();
    } finally {
      await stop();
    }
  });

  it('a ride nobody can serve ends at once, with the reason', async () => {
    const rider = await newRider(stack);
    const ride = (await http(stack.httpUrl, REQUEST, rideInput({ lat: -54.8, lng: -68.3 }), rider.token)).data!.requestRide;
    expect(ride.status).toBe('NO_DRIVERS_AVAILABLE');
    const row = await stack.services.db.ride.findUniqueOrThrow({ where: { id: ride.id } });
    expect(row.endReason).toBe('no available driver within 5 km');
  });
});

describe('drivers who go offline or silent while holding an offer', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { MATCH_BATCH_SIZE: '1', MATCH_ROUND_TIMEOUT_MS: '20000', DRIVER_TTL_MS: '1500', MATCH_MAX_ROUNDS: '3' },
    });
  });
  afterAll(() => stack?.stop());

  async function setup(pickup: { lat: number; lng: number }) {
    const profiles = await registerDrivers(stack.services, [{ id: uniqueId('first') }, { id: uniqueId('second') }]);
    const [first, second] = (await Promise.all(profiles.map((p) => connectDriver(stack, stack.wsUrl, p)))) as [DriverApp, DriverApp];
    const secondAt = offset(pickup.lat, pickup.lng, 0.6);
    await first.report(offset(pickup.lat, pickup.lng, 0.2));
    await second.report(secondAt);
    const rider = await newRider(stack);
    const ride = (await http(stack.httpUrl, REQUEST, rideInput(pickup), rider.token)).data!.requestRide;
    expect((await first.nextEvent('RideOffer')).ride.id).toBe(ride.id);
    return { first, second, secondAt, ride };
  }

  it('going OFFLINE revokes the offer and the ride moves on at once', async () => {
    const { first, second, ride } = await setup({ lat: 38.7223, lng: -9.1393 });
    await first.ws.request('mutation { setDriverStatus(status: OFFLINE) { status } }');
    expect(await first.nextEvent('RideOfferRevoked')).toEqual({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'EXPIRED' });
    expect((await second.nextEvent('RideOffer', 2_000)).round).toBe(2);
    await Promise.all([first.close(), second.close()]);
  });

  it('falling silent revokes the offer within the liveness window and the ride moves on', async () => {
    const { first, second, secondAt, ride } = await setup({ lat: 53.3498, lng: -6.2603 });
    // The second driver keeps reporting; the first goes quiet (tunnel, dead battery).
    const stop = keepReporting([{ app: second, at: secondAt }]);
    try {
      expect(await first.nextEvent('RideOfferRevoked', 4_000)).toEqual({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'EXPIRED' });
      expect((await second.nextEvent('RideOffer', 2_000)).round).toBe(2);
      const offer = await stack.services.db.rideOffer.findFirstOrThrow({ where: { rideId: ride.id, driverId: first.profile.id } });
      expect(offer.status).toBe('EXPIRED');
    } finally {
      await stop();
      await Promise.all([first.close(), second.close()]);
    }
  });
});
