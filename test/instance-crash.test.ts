// Issue 5, acceptance 3: the instance that created a ride is SIGKILLed in the middle of a round;
// another instance finishes the ride (ASSIGNED or NO_DRIVERS_AVAILABLE, never stuck), as
// Postgres shows.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../src/redis/local-servers.ts';
import { connectDriver, REQUEST, type DriverApp } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually, http } from './helpers/graphql.ts';
import { spawnServer, type ServerProcess } from './helpers/process.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const TIMINGS = { MATCH_ROUND_TIMEOUT_MS: '1500', MATCH_MAX_ROUNDS: '2', MATCH_BATCH_SIZE: '1', DRIVER_TTL_MS: '30000' };
let stack: Stack;
let doomed: ServerProcess;
let doomedUrl: string;

beforeAll(async () => {
  // The survivor runs in this process; the doomed instance is a real separate process.
  stack = await startStack({ env: TIMINGS });
  const port = await freePort();
  doomed = spawnServer({ ...stack.env, PORT: String(port), LOG_LEVEL: 'info' });
  await doomed.waitFor(/Ridematch is up/);
  doomedUrl = `http://127.0.0.1:${port}/graphql`;
});
afterAll(async () => {
  doomed?.child.kill('SIGKILL');
  await stack?.stop();
});

it('another instance finishes rides whose instance died mid-round', async () => {
  const pickups = [{ lat: 35.6762, lng: 139.6503 }, { lat: 34.6937, lng: 135.5023 }];
  // Ride 1: its round-2 driver will accept (→ ASSIGNED). Ride 2: nobody answers (→ NO_DRIVERS_AVAILABLE).
  const profiles = await registerDrivers(stack.services, Array.from({ length: 4 }, () => ({ id: uniqueId('cr') })));
  const apps: DriverApp[] = await Promise.all(profiles.map((p) => connectDriver(stack, stack.wsUrl, p)));
  await apps[0]!.report(offset(pickups[0]!.lat, pickups[0]!.lng, 0.2));
  await apps[1]!.report(offset(pickups[0]!.lat, pickups[0]!.lng, 0.5));
  await apps[2]!.report(offset(pickups[1]!.lat, pickups[1]!.lng, 0.2));
  await apps[3]!.report(offset(pickups[1]!.lat, pickups[1]!.lng, 0.5));

  const rides: string[] = [];
  for (const pickup of pickups) {
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const token = await stack.token('rider', riderId);
    const res = await http(doomedUrl, REQUEST, { input: { pickup, dropoff: offset(pickup.lat, pickup.lng, 3), carType: 'ECONOMY', paymentMethod: 'CARD' } }, token);
    expect(res.data?.requestRide.round).toBe(1);
    rides.push(res.data!.requestRide.id);
  }
  // Round 1 is out (sent by the doomed instance) ...
  expect((await apps[0]!.nextEvent('RideOffer')).ride.id).toBe(rides[0]);
  expect((await apps[2]!.nextEvent('RideOffer')).ride.id).toBe(rides[1]);
  // ... and the instance dies in the middle of it.
  doomed.child.kill('SIGKILL');
  await doomed.exited;

  // The survivor's poller runs round 2 when round 1 times out.
  const second = await apps[1]!.nextEvent('RideOffer', 5_000);
  expect(second).toMatchObject({ round: 2, ride: { id: rides[0] } });
  expect(await apps[1]!.accept(rides[0]!)).toMatchObject({ __typename: 'RideAssignment' });
  expect((await apps[3]!.nextEvent('RideOffer', 5_000)).round).toBe(2);

  await eventually(async () => {
    const rows = await stack.services.db.ride.findMany({ where: { id: { in: rides } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return byId.get(rides[0]!)?.status === 'ASSIGNED' && byId.get(rides[1]!)?.status === 'NO_DRIVERS_AVAILABLE';
  }, 6_000);
  const rows = await stack.services.db.ride.findMany({ where: { id: { in: rides } } });
  expect(rows.find((r) => r.id === rides[0])).toMatchObject({ status: 'ASSIGNED', driverId: apps[1]!.profile.id, nextCheckAt: null });
  expect(rows.find((r) => r.id === rides[1])).toMatchObject({ status: 'NO_DRIVERS_AVAILABLE', nextCheckAt: null });
  await Promise.all(apps.map((a) => a.close()));
});

it('a ride whose creator died before round 1 is picked up after the grace period', async () => {
  const pickup = { lat: 37.5665, lng: 126.978 };
  const [profile] = await registerDrivers(stack.services, [{ id: uniqueId('late') }]);
  const app = await connectDriver(stack, stack.wsUrl, profile!);
  await app.report(offset(pickup.lat, pickup.lng, 0.3));
  const riderId = uniqueId('rider');
  await registerRider(stack.services, riderId);
  // Exactly what requestRide commits before running round 1; then its instance "dies".
  const id = randomUUID();
  await stack.services.db.ride.create({
    data: {
      id, riderId, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: pickup.lat, dropoffLng: pickup.lng + 0.02,
      carType: 'ECONOMY', paymentMethod: 'CARD', nextCheckAt: new Date(Date.now() + 500),
    },
  });
  expect((await app.nextEvent('RideOffer', 5_000)).ride.id).toBe(id);
  await app.close();
});
