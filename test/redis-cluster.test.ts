// REDIS_CLUSTER: the API on a local Redis Cluster of 3 primaries and 3 replicas. Drivers report
// over their sockets, rides are requested, offered and accepted by exactly one of several
// simultaneous accepts; then a primary is SIGKILLed, its replica takes over, and matching goes
// on: no driver is missing from search one ping interval after the takeover, and no ride or
// driver is ever assigned twice.
import { cellToLatLng, gridDisk, latLngToCell } from 'h3-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REGION_RESOLUTION, regionOf } from '../src/geo/cells.ts';
import { regionKeys, regionRoute } from '../src/redis/keys.ts';
import type { DriverProfile } from '../src/registry/registry.ts';
import { ACCEPT, REQUEST } from './helpers/actors.ts';
import { offset, registerDrivers, registerRider, seededRandom } from './helpers/fixtures.ts';
import { eventually, http, wsConnect, type WsClient } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

const PING_MS = 1_000;
const PER_RIDE = 5;
const UPDATE = `mutation U($input: LocationInput!) { updateDriverLocation(input: $input) { outOfOrder } }`;

let stack: Stack;
interface SimDriver {
  profile: DriverProfile;
  position: { lat: number; lng: number };
  ws: WsClient;
  errors: Array<string | undefined>;
}
const drivers: SimDriver[] = [];
let reporting = true;
let reports = 0;
let loops: Promise<void>[] = [];
const centers = gridDisk(latLngToCell(12.9716, 77.5946, REGION_RESOLUTION), 1).map((r) => cellToLatLng(r));

beforeAll(async () => {
  stack = await startStack({
    cluster: { primaries: 3, replicasPerPrimary: 1 },
    env: { DRIVER_TTL_MS: '5000', MATCH_BATCH_SIZE: String(PER_RIDE), MATCH_ROUND_TIMEOUT_MS: '30000', MATCH_RADIUS_START_KM: '5' },
  });
  const random = seededRandom(16);
  const profiles = await registerDrivers(stack.services, Array.from({ length: 140 }, () => ({ id: uniqueId('cl') })));
  for (const [i, profile] of profiles.entries()) {
    const [lat, lng] = centers[i % centers.length]!;
    const position = offset(lat, lng, (random() - 0.5) * 4, (random() - 0.5) * 4);
    drivers.push({ profile, position, ws: wsConnect(stack.wsUrl, await stack.token('driver', profile.id)), errors: [] });
  }
  await Promise.all(drivers.map((d) => d.ws.connected));
  // Each driver reports every PING_MS over its own socket, as the app does (every 10 s).
  loops = drivers.map(async (d, i) => {
    await new Promise((r) => setTimeout(r, (i * PING_MS) / drivers.length));
    while (reporting) {
      const res = await d.ws.request(UPDATE, { input: { ...d.position, recordedAt: new Date().toISOString() } }).catch((e) => ({ errors: [{ message: String(e) }] }));
      reports += 1;
      if (res.errors) d.errors.push((res.errors[0] as { extensions?: { code?: string } }).extensions?.code ?? res.errors[0]!.message);
      await new Promise((r) => setTimeout(r, PING_MS));
    }
  });
}, 120_000);

afterAll(async () => {
  reporting = false;
  await Promise.all(loops);
  await Promise.all(drivers.map((d) => d.ws.close()));
  await stack?.stop();
});

/** Drivers not found near their own position, and drivers found twice in one answer. */
async function census() {
  const found = new Set<string>();
  const duplicated: string[] = [];
  for (const [lat, lng] of centers) {
    for (const hit of await stack.services.locations.search({ lat, lng, startRadiusKm: 6, maxRadiusKm: 6, limit: 500 })) {
      if (found.has(hit.driverId) && regionOf(lat, lng) === regionOf(hit.lat, hit.lng)) duplicated.push(hit.driverId);
      found.add(hit.driverId);
    }
  }
  return { missing: drivers.filter((d) => !found.has(d.profile.id)).map((d) => d.profile.id), duplicated };
}

/** A ride requested over HTTP, offered to PER_RIDE drivers who all accept at once: exactly one wins. */
async function matchOnce(near: { lat: number; lng: number }): Promise<string> {
  const rider = uniqueId('rider');
  await registerRider(stack.services, rider);
  const requested = await http(stack.httpUrl, REQUEST, { input: { pickup: near, dropoff: offset(near.lat, near.lng, 2), carType: 'ECONOMY', paymentMethod: 'CARD' } }, await stack.token('rider', rider));
  expect(requested.errors, JSON.stringify(requested.errors)).toBeUndefined();
  const rideId = requested.data!.requestRide.id as string;
  const offered = await stack.services.db.rideOffer.findMany({ where: { rideId } });
  expect(offered).toHaveLength(PER_RIDE);
  const answers = await Promise.all(
    offered.map(async (o) => (await http(stack.httpUrl, ACCEPT, { rideId }, await stack.token('driver', o.driverId))).data?.acceptRide.__typename),
  );
  expect(answers.filter((a) => a === 'RideAssignment')).toHaveLength(1);
  expect(answers.filter((a) => a === 'RideAlreadyTaken')).toHaveLength(PER_RIDE - 1);
  return rideId;
}

it('matches on a cluster, and goes on matching after a primary is killed and its replica takes over', async () => {
  const { services } = stack;
  const router = services.router;
  await eventually(async () => (await census()).missing.length === 0, 10_000);
  // Redis lists a replica in the slot map once it has replicated something; the client re-reads
  // the map every 5 s.
  const readyBody = async () => (await (await fetch(stack.httpUrl.replace('/graphql', '/ready'))).json()) as { status: string; shards: Array<{ role: string; healthy: boolean }> };
  const ready = (await eventually(async () => {
    const body = await readyBody();
    return body.shards.length === 6 && body.shards.every((s) => s.healthy) ? body : null;
  }, 15_000, 200))!;
  expect(ready.status).toBe('ready');
  expect(ready.shards.map((s) => s.role).sort()).toEqual(['primary', 'primary', 'primary', 'replica', 'replica', 'replica']);

  // The regions are spread over all three primaries, each region's keys where owner() says.
  const owners = new Map<string, string>();
  for (const [lat, lng] of centers) {
    const region = regionOf(lat, lng);
    const owner = router.owner(regionRoute(region));
    owners.set(region, owner.name);
    expect(await owner.server.exists(...regionKeys(region))).toBe(3);
  }
  expect(new Set(owners.values()).size).toBe(3);
  // The sweeper lists keys primary by primary: it finds every region once.
  expect((await services.locations.sweepOnce()).regions).toBe(centers.length);

  const before = [await matchOnce(drivers[0]!.position), await matchOnce(drivers[1]!.position)];

  // Kill the primary holding the first region; its replica is promoted by the cluster.
  const victimName = owners.get(regionOf(drivers[0]!.position.lat, drivers[0]!.position.lng))!;
  const victim = stack.cluster!.nodes.find((n) => `127.0.0.1:${n.port}` === victimName)!;
  await victim.kill();
  const killedAt = Date.now();
  await eventually(async () => {
    const roles = await stack.cluster!.roles();
    return !roles.has(victim.port) && [...roles.values()].filter((r) => r === 'primary').length === 3;
  }, 15_000, 100);
  const promotedAt = Date.now();
  // One ping interval after the takeover (plus the time a report takes), nobody is missing.
  await new Promise((r) => setTimeout(r, PING_MS + 300));
  const afterFailover = await census();
  expect(afterFailover.missing).toEqual([]);
  expect(afterFailover.duplicated).toEqual([]);
  await eventually(() => router.status().find((s) => s.name === victimName)?.healthy === false, 5_000);
  expect(router.owner(regionRoute(regionOf(drivers[0]!.position.lat, drivers[0]!.position.lng))).name).not.toBe(victimName);

  // Matching goes on, in the failed-over region and elsewhere.
  const after = [];
  for (const d of [drivers[7]!, drivers[2]!, drivers[14]!]) after.push(await matchOnce(d.position));

  // Nothing was assigned twice: one driver per ride, one accepted offer per ride, one ride per driver.
  const rides = await services.db.ride.findMany({ where: { id: { in: [...before, ...after] } }, include: { offers: true } });
  expect(rides.map((r) => r.status)).toEqual(rides.map(() => 'ASSIGNED'));
  for (const r of rides) expect(r.offers.filter((o) => o.status === 'ACCEPTED').map((o) => o.driverId)).toEqual([r.driverId]);
  expect(new Set(rides.map((r) => r.driverId)).size).toBe(rides.length);

  // The old primary comes back as a replica, and is healthy again.
  await victim.start();
  await eventually(async () => (await stack.cluster!.roles()).get(victim.port) === 'replica', 15_000, 100);
  await eventually(() => router.status().find((s) => s.name === victimName)?.healthy === true, 10_000);

  // While the slots failed over, a report could fail, but only with a typed, retryable answer.
  const errors = drivers.flatMap((d) => d.errors);
  expect(errors.filter((e) => e !== 'SERVICE_UNAVAILABLE' && e !== 'RETRYABLE')).toEqual([]);
  console.info(`failover: replica promoted ${promotedAt - killedAt} ms after the kill; ${errors.length} of ${reports} reports failed meanwhile (typed, retryable)`);
});
