// Issue 10, findings "lost round" and "false taken": races between an accept whose Redis claim
// was won and Postgres, held open at the exact point by a seam (services.seams.afterClaim). The
// real Redis and Postgres calls all run; the seam only delays the confirmation.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ACCEPT, connectDriver, REQUEST } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually, http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { MATCH_ROUND_TIMEOUT_MS: '1500', MATCH_BATCH_SIZE: '2', MATCH_RADIUS_START_KM: '1', MATCH_RADIUS_STEP_KM: '2', MATCH_MAX_ROUNDS: '3' },
  });
});
afterEach(() => {
  stack.services.seams.afterClaim = undefined;
});
afterAll(() => stack?.stop());

async function rideFor(pickup: { lat: number; lng: number }) {
  const riderId = uniqueId('rider');
  await registerRider(stack.services, riderId);
  const res = await http(stack.httpUrl, REQUEST, { input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 3), carType: 'ECONOMY', paymentMethod: 'CARD' } }, await stack.token('rider', riderId));
  expect(res.errors).toBeUndefined();
  return res.data!.requestRide as { id: string };
}

/** A gate the seam waits at: `reached` resolves when the claim is held, `open()` lets it go on. */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const held = new Promise<void>((r) => (reached = r));
  return { opened, held, open, reached };
}

it('lost round: a claim won just before the round ends neither swallows round 2 nor makes its offers unclaimable', async () => {
  const pickup = { lat: 59.3293, lng: 18.0686 };
  const [a, c] = await registerDrivers(stack.services, [{ id: uniqueId('A') }, { id: uniqueId('C') }]);
  const [driverA, driverC] = await Promise.all([connectDriver(stack, stack.wsUrl, a!), connectDriver(stack, stack.wsUrl, c!)]);
  await driverA.report(offset(pickup.lat, pickup.lng, 0.3)); // round 1 (1 km)
  await driverC.report(offset(pickup.lat, pickup.lng, 2)); // round 2 (3 km)
  const ride = await rideFor(pickup);
  await driverA.nextEvent('RideOffer');

  // A's claim wins in Redis; before Postgres hears of it, the round times out and round 2 starts.
  const held = gate();
  stack.services.seams.afterClaim = async (rideId, driverId) => {
    if (rideId !== ride.id || driverId !== a!.id) return;
    held.reached();
    await eventually(async () => (await stack.services.db.ride.findUniqueOrThrow({ where: { id: ride.id } })).round === 2, 10_000);
  };
  const acceptA = driverA.accept(ride.id);
  await held.held;

  // Round 2's driver is told, and can take the ride once A's late claim is refused.
  const offer = await driverC.nextEvent('RideOffer', 8_000);
  expect(offer).toMatchObject({ round: 2, ride: { id: ride.id } });
  expect(await acceptA).toEqual({ __typename: 'OfferExpired', rideId: ride.id });
  expect(await driverC.accept(ride.id)).toMatchObject({ __typename: 'RideAssignment', ride: { id: ride.id, driver: { id: c!.id } } });
  await Promise.all([driverA.close(), driverC.close()]);
});

it('false taken: while one claim is being recorded others wait; when Postgres refuses it, another driver gets the ride', async () => {
  const pickup = { lat: 60.1699, lng: 24.9384 };
  const [a, b] = await registerDrivers(stack.services, [{ id: uniqueId('A') }, { id: uniqueId('B') }]);
  const [driverA, driverB] = await Promise.all([connectDriver(stack, stack.wsUrl, a!), connectDriver(stack, stack.wsUrl, b!)]);
  await driverA.report(offset(pickup.lat, pickup.lng, 0.2));
  await driverB.report(offset(pickup.lat, pickup.lng, 0.3));
  const ride = await rideFor(pickup);
  await Promise.all([driverA.nextEvent('RideOffer'), driverB.nextEvent('RideOffer')]);

  const held = gate();
  stack.services.seams.afterClaim = async (rideId, driverId) => {
    if (rideId !== ride.id || driverId !== a!.id) return;
    held.reached();
    await held.opened;
  };
  const acceptA = driverA.ws.request(ACCEPT, { rideId: ride.id });
  await held.held;
  let answeredB: unknown = null;
  const acceptB = driverB.accept(ride.id).then((r) => (answeredB = r));
  await new Promise((r) => setTimeout(r, 300));
  expect(answeredB).toBeNull(); // no final "taken" while nobody is committed

  // Postgres refuses A (A is, meanwhile, on another ride: the one-ride-per-driver constraint).
  const otherRider = uniqueId('rider');
  await registerRider(stack.services, otherRider);
  await stack.services.db.ride.create({
    data: {
      id: randomUUID(), riderId: otherRider, pickupLat: 0, pickupLng: 0, dropoffLat: 0, dropoffLng: 1,
      carType: 'ECONOMY', paymentMethod: 'CARD', status: 'ASSIGNED', driverId: a!.id, nextCheckAt: null,
    },
  });
  held.open();
  expect((await acceptA).errors?.[0]?.extensions?.code).toBe('INVALID_STATE');
  await acceptB;
  expect(answeredB).toMatchObject({ __typename: 'RideAssignment', ride: { id: ride.id, driver: { id: b!.id } } });
  const row = await stack.services.db.ride.findUniqueOrThrow({ where: { id: ride.id } });
  expect(row).toMatchObject({ status: 'ASSIGNED', driverId: b!.id });
  // Only now, with B committed, is A told the ride is taken.
  expect(await driverA.nextEvent('RideOfferRevoked')).toEqual({ __typename: 'RideOfferRevoked', rideId: ride.id, reason: 'TAKEN' });
  await Promise.all([driverA.close(), driverB.close()]);
});
