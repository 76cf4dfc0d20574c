// Issue 4, acceptance 2: 200 rides, each offered to 10 drivers who all accept at the same moment.
// Exactly one winner per ride in Redis and in Postgres, every loser hears RideAlreadyTaken, and
// no driver holds two rides.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rideKey, rideRoute } from '../src/redis/keys.ts';
import { ACCEPT } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const RIDES = 200;
const PER_RIDE = 10;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ env: { HTTP_REQUEST_TIMEOUT_MS: '120000', HTTP_HEADERS_TIMEOUT_MS: '120000', MATCH_BATCH_SIZE: String(PER_RIDE), REDIS_COMMAND_TIMEOUT_MS: '10000', MATCH_ROUND_TIMEOUT_MS: '120000', DRIVER_TTL_MS: '120000' } });
  await stack.startInstance(); // accepts are spread over two instances
});
afterAll(() => stack?.stop());

it(`${RIDES} rides × ${PER_RIDE} simultaneous accepts: one winner each, everywhere`, async () => {
  const { services } = stack;
  // One cluster of 10 drivers per ride, clusters 20 km apart so each ride sees only its own.
  const clusters = Array.from({ length: RIDES }, (_, i) => offset(10, 70, (i % 20) * 20, Math.floor(i / 20) * 20));
  const drivers = await registerDrivers(services, Array.from({ length: RIDES * PER_RIDE }, () => ({ id: uniqueId('c') })));
  await Promise.all(drivers.map((d, i) => report(services, d, offset(clusters[Math.floor(i / PER_RIDE)]!.lat, clusters[Math.floor(i / PER_RIDE)]!.lng, 0.05 * (i % PER_RIDE)))));
  // One rider per ride: a rider holds at most one live ride.
  const riders = clusters.map(() => uniqueId('rider'));
  await Promise.all(riders.map((r) => registerRider(services, r)));
  const rides = await Promise.all(
    clusters.map((c, i) => services.requests.request(riders[i]!, { pickup: c, dropoff: offset(c.lat, c.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' })),
  );
  const offers = await services.db.rideOffer.groupBy({ by: ['rideId'], where: { rideId: { in: rides.map((r) => r.id) } }, _count: true });
  expect(offers.map((o) => o._count)).toEqual(rides.map(() => PER_RIDE));

  const tokens = await Promise.all(drivers.map((d) => stack.token('driver', d.id)));
  const urls = stack.instances.map((i) => i.httpUrl);
  // Everyone accepts at once (per ride the 10 accepts go out together, half to each instance).
  const answers = await Promise.all(
    rides.map((ride, r) =>
      Promise.all(
        Array.from({ length: PER_RIDE }, (_, k) => {
          const i = r * PER_RIDE + k;
          return http(urls[k % 2]!, ACCEPT, { rideId: ride.id }, tokens[i]).then((res) => ({ driverId: drivers[i]!.id, res }));
        }),
      ),
    ),
  );

  const winners = new Map<string, string>();
  for (const [r, perRide] of answers.entries()) {
    for (const { res } of perRide) expect(res.errors).toBeUndefined();
    const kinds = perRide.map((a) => a.res.data!.acceptRide.__typename);
    expect(kinds.filter((k) => k === 'RideAssignment')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'RideAlreadyTaken')).toHaveLength(PER_RIDE - 1);
    winners.set(rides[r]!.id, perRide.find((a) => a.res.data!.acceptRide.__typename === 'RideAssignment')!.driverId);
  }

  const rows = await services.db.ride.findMany({ where: { id: { in: rides.map((r) => r.id) } }, include: { offers: true } });
  for (const row of rows) {
    expect(row.status).toBe('ASSIGNED');
    expect(row.driverId).toBe(winners.get(row.id));
    expect(row.offers.filter((o) => o.status === 'ACCEPTED').map((o) => o.driverId)).toEqual([row.driverId]);
    const record = await services.router.owner(rideRoute(row.id)).redis.hmget(rideKey(row.id), 'status', 'winner');
    expect(record).toEqual(['TAKEN', row.driverId]);
  }
  // No driver holds two rides.
  const assignedDrivers = rows.map((r) => r.driverId);
  expect(new Set(assignedDrivers).size).toBe(RIDES);
  const perDriver = await services.db.ride.groupBy({ by: ['driverId'], where: { status: 'ASSIGNED', driverId: { in: drivers.map((d) => d.id) } }, _count: true });
  expect(perDriver.every((g) => g._count === 1)).toBe(true);
});
