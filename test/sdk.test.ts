// Issue 6: the typed SDK against the real server: a whole ride over the driver's socket and the
// rider's HTTP, typed errors, and catching up after a dropped socket.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRidematchClient, RidematchError, type DriverOfferEvent, type RideUpdate } from '../src/sdk/node.ts';
import { waitForFeed } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider } from './helpers/fixtures.ts';
import { eventually } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { MATCH_BATCH_SIZE: '1' } });
});
afterAll(() => stack?.stop());

const pickup = { lat: 12.9716, lng: 77.5946 };

async function driverClient() {
  const [profile] = await registerDrivers(stack.services, [{ id: uniqueId('sdk') }]);
  const client = createRidematchClient({ url: stack.httpUrl, token: await stack.token('driver', profile!.id) });
  const events: DriverOfferEvent[] = [];
  const stop = client.driverOffers({ next: (e) => events.push(e) });
  await waitForFeed(stack, profile!.id);
  return { id: profile!.id, client, events, stop };
}

async function riderClient() {
  const id = uniqueId('rider');
  await registerRider(stack.services, id);
  return createRidematchClient({ url: stack.httpUrl, token: await stack.token('rider', id), transport: 'http' });
}

it('runs a whole ride with typed operations', async () => {
  const driver = await driverClient();
  const ack = await driver.client.updateDriverLocation({ ...offset(pickup.lat, pickup.lng, 0.2), recordedAt: new Date().toISOString() });
  expect(ack).toMatchObject({ driverId: driver.id, outOfOrder: false, searchable: true });

  const rider = await riderClient();
  const ride = await rider.requestRide({ pickup, dropoff: offset(pickup.lat, pickup.lng, 3), carType: 'ECONOMY', paymentMethod: 'CARD' });
  expect(ride.status).toBe('SEARCHING');
  const updates: RideUpdate[] = [];
  const follow = createRidematchClient({ url: stack.httpUrl, token: (await stack.token('admin', 'ops')) });
  follow.rideUpdates(ride.id, { next: (u) => updates.push(u) });

  await eventually(() => driver.events.some((e) => e.__typename === 'RideOffer' && e.ride.id === ride.id));
  const accepted = await driver.client.acceptRide(ride.id);
  expect(accepted.__typename).toBe('RideAssignment');
  await eventually(() => updates.some((u) => u.status === 'ASSIGNED'));
  expect(updates.find((u) => u.status === 'ASSIGNED')?.ride.driver?.id).toBe(driver.id);
  expect((await driver.client.arrivedAtPickup(ride.id)).status).toBe('DRIVER_ARRIVED');
  expect((await driver.client.startTrip(ride.id)).status).toBe('IN_PROGRESS');
  expect((await driver.client.completeRide(ride.id)).status).toBe('COMPLETED');

  driver.stop();
  await Promise.all([driver.client.close(), rider.close(), follow.close()]);
});

it('raises typed errors with the server code', async () => {
  const driver = await driverClient();
  const failure = await driver.client.updateDriverLocation({ lat: 95, lng: 0, recordedAt: new Date().toISOString() }).catch((e) => e);
  expect(failure).toBeInstanceOf(RidematchError);
  expect(failure.code).toBe('INVALID_LOCATION');
  await driver.client.close();
});

it('catches up on offers published while the socket was down', async () => {
  const driver = await driverClient();
  await driver.client.updateDriverLocation({ ...offset(pickup.lat, pickup.lng, 0.1), recordedAt: new Date().toISOString() });
  let reconnected = false;
  driver.client.socket.on('connected', (_s, _p, wasRetry) => (reconnected ||= wasRetry));
  driver.client.socket.terminate(); // the phone enters a tunnel
  const rider = await riderClient();
  const ride = await rider.requestRide({ pickup, dropoff: offset(pickup.lat, pickup.lng, 2), carType: 'ECONOMY', paymentMethod: 'CASH' });
  await eventually(() => reconnected, 10_000);
  await eventually(() => driver.events.some((e) => e.__typename === 'RideOffer' && e.ride.id === ride.id), 5_000);
  await new Promise((r) => setTimeout(r, 300));
  // Once, although both the SDK's re-read and the server's replay carry it.
  expect(driver.events.filter((e) => e.__typename === 'RideOffer' && e.ride.id === ride.id)).toHaveLength(1);
  driver.stop();
  await Promise.all([driver.client.close(), rider.close()]);
});
