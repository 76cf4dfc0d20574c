// Issue 9, acceptance 6: access is a relation, not a role. One table walks every operation ×
// role × relationship and asserts each verdict, over HTTP (queries and mutations) and graphql-ws
// (subscriptions). The rides and offers are written straight into Postgres, the truth the rules
// read, so each relationship is exactly what its name says.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RIDE_UPDATES } from './helpers/actors.ts';
import { registerDrivers, registerRider } from './helpers/fixtures.ts';
import { http, wsConnect } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
const ids = {
  rider: uniqueId('rider'),
  otherRider: uniqueId('rider'),
  live: uniqueId('live'),
  declined: uniqueId('declined'),
  expired: uniqueId('expired'),
  lost: uniqueId('lost'),
  assigned: uniqueId('assigned'),
  stranger: uniqueId('stranger'),
};
const searching = randomUUID(); // the rider's ride, still searching
const taken = randomUUID(); // the other rider's ride, assigned to `assigned`; `lost` had an offer

beforeAll(async () => {
  stack = await startStack();
  const { db } = stack.services;
  await registerRider(stack.services, ids.rider);
  await registerRider(stack.services, ids.otherRider);
  await registerDrivers(stack.services, [ids.live, ids.declined, ids.expired, ids.lost, ids.assigned, ids.stranger].map((id) => ({ id })));
  const ride = (id: string, riderId: string, extra: Record<string, unknown>) => ({
    id, riderId, pickupLat: 52.52, pickupLng: 13.405, dropoffLat: 52.5, dropoffLng: 13.4, carType: 'ECONOMY' as const, paymentMethod: 'CARD' as const, ...extra,
  });
  await db.ride.create({ data: ride(searching, ids.rider, { round: 1, nextCheckAt: new Date(Date.now() + 60_000) }) });
  await db.ride.create({ data: ride(taken, ids.otherRider, { status: 'ASSIGNED', driverId: ids.assigned, round: 1, nextCheckAt: null }) });
  const offer = (rideId: string, driverId: string, status: 'OFFERED' | 'DECLINED' | 'EXPIRED' | 'REVOKED' | 'ACCEPTED', expiresInMs = 60_000) => ({
    id: randomUUID(), rideId, driverId, round: 1, pickupDistanceKm: 0.5, status, expiresAt: new Date(Date.now() + expiresInMs),
  });
  await db.rideOffer.createMany({
    data: [
      offer(searching, ids.live, 'OFFERED'),
      offer(searching, ids.declined, 'DECLINED'),
      offer(searching, ids.expired, 'OFFERED', -1_000), // ran out (not yet marked by the round check)
      offer(taken, ids.lost, 'REVOKED'),
      offer(taken, ids.assigned, 'ACCEPTED'),
    ],
  });
});
afterAll(() => stack?.stop());

type Who = { role: 'anonymous' } | { role: 'driver' | 'rider' | 'admin'; id: string };
const who: Record<string, Who> = {
  anonymous: { role: 'anonymous' },
  'admin': { role: 'admin', id: 'ops-1' },
  'its rider': { role: 'rider', id: ids.rider },
  'another rider': { role: 'rider', id: ids.otherRider },
  'driver with a live offer': { role: 'driver', id: ids.live },
  'driver who declined': { role: 'driver', id: ids.declined },
  'driver whose offer expired': { role: 'driver', id: ids.expired },
  'driver who lost it': { role: 'driver', id: ids.lost },
  'assigned driver': { role: 'driver', id: ids.assigned },
  'driver never offered': { role: 'driver', id: ids.stranger },
};
const tokenOf = (w: Who) => (w.role === 'anonymous' ? undefined : stack.token(w.role, w.id));

// Reading a ride: [searching ride, taken ride] verdicts per caller. 'ok' or the error code.
const READ: Record<string, [string, string]> = {
  anonymous: ['UNAUTHENTICATED', 'UNAUTHENTICATED'],
  admin: ['ok', 'ok'],
  'its rider': ['ok', 'FORBIDDEN'],
  'another rider': ['FORBIDDEN', 'ok'],
  'driver with a live offer': ['ok', 'FORBIDDEN'],
  'driver who declined': ['FORBIDDEN', 'FORBIDDEN'],
  'driver whose offer expired': ['FORBIDDEN', 'FORBIDDEN'],
  'driver who lost it': ['FORBIDDEN', 'FORBIDDEN'],
  'assigned driver': ['FORBIDDEN', 'ok'],
  'driver never offered': ['FORBIDDEN', 'FORBIDDEN'],
};

const verdictOf = (res: { data?: any; errors?: Array<{ extensions?: Record<string, any> }> }, field: string) =>
  res.errors?.length ? String(res.errors[0]!.extensions?.code) : res.data?.[field] ? 'ok' : 'empty';

describe('reading a ride (ride, rideUpdates)', () => {
  for (const [caller, [onSearching, onTaken]] of Object.entries(READ)) {
    it(`${caller}: ride ${onSearching} / ${onTaken}`, async () => {
      const token = await tokenOf(who[caller]!);
      for (const [rideId, expected] of [[searching, onSearching], [taken, onTaken]] as const) {
        const q = await http(stack.httpUrl, 'query($id: ID!) { ride(id: $id) { id rider { name } driver { name } } }', { id: rideId }, token);
        expect(verdictOf(q, 'ride'), `ride(${rideId === searching ? 'searching' : 'taken'})`).toBe(expected);
        if (expected !== 'ok') expect(JSON.stringify(q.data ?? null)).not.toMatch(/Rider |Driver /);
        const ws = wsConnect(stack.wsUrl, token);
        await ws.connected;
        const sub = ws.subscribe<any>(RIDE_UPDATES, { rideId });
        expect(verdictOf(await sub.next(), 'rideUpdates'), `rideUpdates(${rideId === searching ? 'searching' : 'taken'})`).toBe(expected);
        sub.stop();
        await ws.close();
      }
    });
  }
});

// Everything else: who may call what at all. Each case lists the callers who get something other
// than the default refusal (UNAUTHENTICATED when anonymous, FORBIDDEN otherwise); 'ok' is an
// answer. Nothing here changes a ride the other cases read.
type Case = { op: string; doc: string; vars?: Record<string, unknown>; expect: Record<string, string>; sub?: boolean };
const drivers = Object.keys(who).filter((c) => who[c]!.role === 'driver');
const signedIn = Object.keys(who).filter((c) => c !== 'anonymous');
const all = (callers: string[], verdict: string) => Object.fromEntries(callers.map((c) => [c, verdict]));
const CASES: Case[] = [
  { op: 'me', doc: '{ me { __typename } }', expect: all(signedIn, 'ok') },
  { op: 'myOffers', doc: '{ myOffers { ride { id } } }', expect: all(drivers, 'ok') },
  { op: 'nearbyDrivers', doc: '{ nearbyDrivers(lat: 1, lng: 1, radiusKm: 1) { driverId } }', expect: { admin: 'ok' } },
  { op: 'upsertRider', doc: 'mutation($id: ID!) { upsertRider(input: { id: $id, name: "N" }) { id } }', vars: { id: uniqueId('new') }, expect: { admin: 'ok' } },
  // On the taken ride: the winner hears its assignment again, everyone else why not; no change.
  { op: 'acceptRide', doc: 'mutation($id: ID!) { acceptRide(rideId: $id) { __typename } }', vars: { id: taken }, expect: all(drivers, 'ok') },
  { op: 'declineRide', doc: 'mutation($id: ID!) { declineRide(rideId: $id) { __typename } }', vars: { id: taken }, expect: { ...all(drivers, 'ok'), 'assigned driver': 'INVALID_STATE' } },
  // Only its rider may cancel; its rider is left out here (it would end the ride).
  { op: 'cancelRide', doc: 'mutation($id: ID!) { cancelRide(rideId: $id) { id } }', vars: { id: taken }, expect: { 'another rider': 'skip' } },
  { op: 'completeRide', doc: 'mutation($id: ID!) { completeRide(rideId: $id) { id } }', vars: { id: searching }, expect: {} },
  { op: 'requestRide', doc: 'mutation { requestRide(input: { pickup: { lat: 95, lng: 0 }, dropoff: { lat: 0, lng: 0 }, carType: ECONOMY, paymentMethod: CARD }) { id } }', expect: { 'its rider': 'BAD_USER_INPUT', 'another rider': 'BAD_USER_INPUT' } },
  { op: 'forceCancelRide', doc: 'mutation($id: ID!) { forceCancelRide(rideId: $id, reason: "check") { id } }', vars: { id: randomUUID() }, expect: { admin: 'NOT_FOUND' } },
  { op: 'setDriverStatus', doc: 'mutation { setDriverStatus(status: AVAILABLE) { status } }', expect: all(drivers, 'ok') },
  { op: 'driverOffers', doc: 'subscription { driverOffers { __typename } }', expect: all(drivers, 'ok'), sub: true },
];

describe('every other operation × caller', () => {
  for (const c of CASES) {
    it(c.op, async () => {
      for (const caller of Object.keys(who)) {
        const expected = c.expect[caller] ?? (caller === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN');
        if (expected === 'skip') continue;
        const token = await tokenOf(who[caller]!);
        let verdict: string;
        if (c.sub) {
          const ws = wsConnect(stack.wsUrl, token);
          await ws.connected;
          const sub = ws.subscribe<any>(c.doc);
          // A granted feed may have nothing to say yet; a refusal arrives at once.
          const first = await Promise.race([sub.next(2_000), new Promise<null>((r) => setTimeout(() => r(null), 1_000))]);
          verdict = first ? verdictOf(first, c.op) : 'ok';
          sub.stop();
          await ws.close();
        } else {
          verdict = verdictOf(await http(stack.httpUrl, c.doc, c.vars ?? {}, token), c.op);
        }
        expect(verdict, `${c.op} as ${caller}`).toBe(expected);
      }
    });
  }
});

describe('a driver who loses the ride while following it', () => {
  it('gets FORBIDDEN and the stream ends: no rider data, no winner, no position', async () => {
    const rideId = randomUUID();
    const [a, b] = await registerDrivers(stack.services, [{ id: uniqueId('f') }, { id: uniqueId('f') }]);
    const riderId = uniqueId('rider');
    await registerRider(stack.services, riderId);
    const { db } = stack.services;
    await db.ride.create({ data: { id: rideId, riderId, pickupLat: 52.5, pickupLng: 13.4, dropoffLat: 52.4, dropoffLng: 13.3, carType: 'ECONOMY', paymentMethod: 'CARD', round: 1, nextCheckAt: new Date(Date.now() + 60_000) } });
    await db.rideOffer.createMany({
      data: [a!, b!].map((d) => ({ id: randomUUID(), rideId, driverId: d.id, round: 1, pickupDistanceKm: 0.3, expiresAt: new Date(Date.now() + 60_000) })),
    });
    await stack.services.claims.open(rideId, [a!.id, b!.id], 60_000);
    const ws = wsConnect(stack.wsUrl, await stack.token('driver', b!.id));
    await ws.connected;
    const updates = ws.subscribe<any>('subscription($r: ID!) { rideUpdates(rideId: $r) { status ride { rider { name } } driver { name } driverPosition { lat } } }', { r: rideId });
    const first = await updates.next();
    expect(first.data?.rideUpdates.status, JSON.stringify(first)).toBe('SEARCHING');
    expect((await stack.services.assignment.accept(a!.id, rideId)).kind).toBe('assigned');
    const after = await updates.next();
    expect(after.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(after)).not.toContain(a!.name);
    await new Promise((r) => setTimeout(r, 300));
    expect(updates.received).toHaveLength(2); // the stream ended: nothing more arrives
    await ws.close();
  });
});
