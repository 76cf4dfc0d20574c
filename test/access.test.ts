// Issue 9, acceptance 6: access is a relation, not a role. One table walks every operation ×
// role × relationship and asserts each verdict, over HTTP (queries and mutations) and graphql-ws
// (subscriptions). The rides and offers are written straight into Postgres, the truth the rules
// read, so each relationship is exactly what its name says.
import { randomUUID } from 'node:crypto';
import { Kind, parse, type FieldNode, type GraphQLObjectType, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.ts';
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
  spare: uniqueId('spare'), // a driver no caller is: suspended and reinstated below
};
const searching = randomUUID(); // the rider's ride, still searching
const taken = randomUUID(); // the other rider's ride, assigned to `assigned`; `lost` had an offer

beforeAll(async () => {
  stack = await startStack();
  const { db } = stack.services;
  await registerRider(stack.services, ids.rider);
  await registerRider(stack.services, ids.otherRider);
  await registerDrivers(stack.services, [ids.live, ids.declined, ids.expired, ids.lost, ids.assigned, ids.stranger, ids.spare].map((id) => ({ id })));
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

const RIDE_QUERY = 'query($id: ID!) { ride(id: $id) { id rider { name } driver { name } } }';

/** 'ok' (or what `answer` makes of it), the error code, or 'empty'. */
const verdictOf = (res: { data?: any; errors?: Array<{ extensions?: Record<string, any> }> }, field: string, answer?: (value: any) => string) =>
  res.errors?.length ? String(res.errors[0]!.extensions?.code) : res.data?.[field] ? (answer?.(res.data[field]) ?? 'ok') : 'empty';
/** The rides by their names here. */
const rideName = (id: string) => (id === searching ? 'searching' : id === taken ? 'taken' : id);

describe('reading a ride (ride, rideUpdates)', () => {
  for (const [caller, [onSearching, onTaken]] of Object.entries(READ)) {
    it(`${caller}: ride ${onSearching} / ${onTaken}`, async () => {
      const token = await tokenOf(who[caller]!);
      for (const [rideId, expected] of [[searching, onSearching], [taken, onTaken]] as const) {
        const q = await http(stack.httpUrl, RIDE_QUERY, { id: rideId }, token);
        expect(verdictOf(q, 'ride'), `ride(${rideName(rideId)})`).toBe(expected);
        if (expected !== 'ok') expect(JSON.stringify(q.data ?? null)).not.toMatch(/Rider |Driver /);
        const ws = wsConnect(stack.wsUrl, token);
        await ws.connected;
        const sub = ws.subscribe<any>(RIDE_UPDATES, { rideId });
        expect(verdictOf(await sub.next(), 'rideUpdates'), `rideUpdates(${rideName(rideId)})`).toBe(expected);
        sub.stop();
        await ws.close();
      }
    });
  }
});

// Everything else: who may call what at all. Each case lists the callers who get something other
// than the default refusal (UNAUTHENTICATED when anonymous, FORBIDDEN otherwise); 'ok' is an
// answer. Nothing here changes a ride the other cases read: a case that may change the taken ride
// puts it in status `at` first and back to ASSIGNED after (Postgres is what the rules read).
type Status = 'ASSIGNED' | 'DRIVER_ARRIVED' | 'IN_PROGRESS';
type Case = {
  doc: string;
  vars?: () => Record<string, unknown>;
  expect: Record<string, string>;
  /** What an answer says, when more than 'ok' (e.g. which offers a driver holds). */
  answer?: (value: any) => string;
  at?: Status;
  note?: string;
};

const drivers = Object.keys(who).filter((c) => who[c]!.role === 'driver');
const riders = Object.keys(who).filter((c) => who[c]!.role === 'rider');
const signedIn = Object.keys(who).filter((c) => c !== 'anonymous');
const all = (callers: string[], verdict: string) => Object.fromEntries(callers.map((c) => [c, verdict]));
const onTaken = { id: taken };
const TRIP = '{ pickup: { lat: 52.52, lng: 13.405 }, dropoff: { lat: 52.5, lng: 13.4 }, carType: ECONOMY }';
// The trip's steps, each from the status it starts at: on the searching ride (no driver yet, so
// not even the offered one) and on the taken ride (its driver only).
const STEPS: Array<[string, Status]> = [['arrivedAtPickup', 'ASSIGNED'], ['startTrip', 'DRIVER_ARRIVED'], ['completeRide', 'IN_PROGRESS']];
const CASES: Case[] = [
  // Anyone signed in.
  { doc: '{ me { __typename } }', expect: all(signedIn, 'ok') },
  { doc: '{ tariffs { carType } }', expect: all(signedIn, 'ok') },
  // Riders: their own trips.
  { doc: `mutation { estimateRide(input: ${TRIP}) { total } }`, expect: all(riders, 'ok') },
  { doc: 'mutation { requestRide(input: { pickup: { lat: 95, lng: 0 }, dropoff: { lat: 0, lng: 0 }, carType: ECONOMY, paymentMethod: CARD }) { id } }', expect: all(riders, 'BAD_USER_INPUT') },
  // Only its rider may cancel; its rider is left out here (it would end the ride).
  { doc: 'mutation($id: ID!) { cancelRide(rideId: $id) { id } }', vars: () => onTaken, expect: { 'another rider': 'skip' } },
  // Drivers: their own feed, duty and position.
  // Each hears of its own live offers only: the live one of the searching ride, no lost or ended one.
  {
    doc: '{ myOffers { ride { id rider { name } } } }',
    answer: (offers: Array<{ ride: { id: string } }>) => offers.map((o) => rideName(o.ride.id)).join(', ') || 'none',
    expect: { ...all(drivers, 'none'), 'driver with a live offer': 'searching' },
  },
  {
    doc: 'subscription { driverOffers { __typename ... on RideOffer { ride { id } } } }',
    answer: (e: { __typename: string; ride?: { id: string } }) => `${e.__typename} ${rideName(e.ride?.id ?? '')}`.trim(),
    expect: { ...all(drivers, 'ok'), 'driver with a live offer': 'RideOffer searching' },
  },
  { doc: 'mutation { setDriverStatus(status: AVAILABLE) { status } }', expect: all(drivers, 'ok') },
  {
    doc: 'mutation($at: DateTime!) { updateDriverLocation(input: { lat: 52.51, lng: 13.4, recordedAt: $at }) { outOfOrder } }',
    vars: () => ({ at: new Date().toISOString() }),
    expect: all(drivers, 'ok'),
  },
  // On the taken ride: the winner hears its assignment again, everyone else why not; no change.
  {
    doc: 'mutation($id: ID!) { acceptRide(rideId: $id) { __typename } }',
    vars: () => onTaken,
    answer: (r: { __typename: string }) => r.__typename,
    expect: { ...all(drivers, 'OfferNotFound'), 'driver who lost it': 'RideAlreadyTaken', 'assigned driver': 'RideAssignment' },
  },
  {
    doc: 'mutation($id: ID!) { declineRide(rideId: $id) { __typename } }',
    vars: () => onTaken,
    answer: (r: { __typename: string }) => r.__typename,
    expect: { ...all(drivers, 'OfferNotFound'), 'assigned driver': 'INVALID_STATE' },
  },
  ...STEPS.flatMap(([step, from]): Case[] => [
    { doc: `mutation($id: ID!) { ${step}(rideId: $id) { id } }`, vars: () => ({ id: searching }), expect: {}, note: 'on the searching ride' },
    { doc: `mutation($id: ID!) { ${step}(rideId: $id) { id } }`, vars: () => onTaken, at: from, expect: { 'assigned driver': 'ok' }, note: `on the taken ride, ${from}` },
  ]),
  // Admins only, whoever the ride, rider or driver is to the caller (its rider, its driver, itself).
  { doc: 'query($r: ID!) { rides(first: 5, filter: { riderId: $r }) { edges { node { id } } } }', vars: () => ({ r: ids.rider }), expect: { admin: 'ok' }, note: "its rider's rides" },
  { doc: '{ drivers(first: 5) { edges { node { id } } } }', expect: { admin: 'ok' } },
  { doc: 'query($d: ID!) { driverState(driverId: $d) { driverId } }', vars: () => ({ d: ids.assigned }), expect: { admin: 'ok' }, note: "the assigned driver's" },
  { doc: '{ nearbyDrivers(lat: 1, lng: 1, radiusKm: 1) { driverId } }', expect: { admin: 'ok' } },
  { doc: '{ surgeCells(lat: 52.52, lng: 13.405) { cell } }', expect: { admin: 'ok' } },
  { doc: '{ matchingAnalytics(window: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }) { ridesRequested } }', expect: { admin: 'ok' } },
  { doc: '{ auditLog(first: 5) { edges { node { action } } } }', expect: { admin: 'ok' } },
  {
    doc: 'subscription { cityMap(bbox: { south: 52.49, west: 13.39, north: 52.53, east: 13.42 }, zoom: 15) { level } }',
    expect: { admin: 'ok' },
  },
  { doc: 'mutation($id: ID!) { upsertRider(input: { id: $id, name: "N" }) { id } }', vars: () => ({ id: uniqueId('new') }), expect: { admin: 'ok' } },
  {
    doc: 'mutation($id: ID!) { upsertDriver(input: { id: $id, name: "N", carType: ECONOMY, paymentPreference: ANY, rating: 4.5, vehicle: "Grey Ertiga" }) { id } }',
    vars: () => ({ id: uniqueId('new') }),
    expect: { admin: 'ok' },
  },
  { doc: 'mutation($d: ID!) { suspendDriver(driverId: $d, reason: "check") { id } }', vars: () => ({ d: ids.spare }), expect: { admin: 'ok' } },
  { doc: 'mutation($d: ID!) { reinstateDriver(driverId: $d) { id } }', vars: () => ({ d: ids.spare }), expect: { admin: 'ok' } },
  {
    doc: 'mutation { setTariff(carType: PREMIUM, input: { currency: "INR", baseFare: 9000, perKm: 3500, perMinute: 400, minimumFare: 25000 }) { carType } }',
    expect: { admin: 'ok' },
  },
  { doc: 'mutation($id: ID!) { forceCancelRide(rideId: $id, reason: "check") { id } }', vars: () => onTaken, at: 'ASSIGNED', expect: { admin: 'ok' }, note: 'the taken ride' },
  { doc: 'mutation($id: ID!) { forceCompleteRide(rideId: $id, reason: "check") { id } }', vars: () => onTaken, at: 'IN_PROGRESS', expect: { admin: 'ok' }, note: 'the taken ride' },
  // Bad input to an admin operation: only an admin learns what is wrong with it; anyone else is
  // refused before the arguments are looked at (they were validated first: BAD_USER_INPUT for all).
  ...[
    'mutation { upsertRider(input: { id: "", name: "N" }) { id } }',
    'mutation { upsertDriver(input: { id: "", name: "N", carType: ECONOMY, paymentPreference: ANY, rating: 4.5, vehicle: "Grey Ertiga" }) { id } }',
    'mutation { suspendDriver(driverId: "", reason: "check") { id } }',
    'mutation { reinstateDriver(driverId: "") { id } }',
    'mutation($id: ID!) { forceCancelRide(rideId: $id, reason: " ") { id } }',
    'mutation($id: ID!) { forceCompleteRide(rideId: $id, reason: " ") { id } }',
  ].map((doc): Case => ({ doc, vars: () => onTaken, expect: { admin: 'BAD_USER_INPUT' }, note: 'bad input' })),
];

/** Puts the taken ride in this status, as if its trip had got that far (the default: ASSIGNED, not started). */
async function setTaken(status: Status): Promise<void> {
  const now = new Date();
  await stack.services.db.ride.update({
    where: { id: taken },
    data: {
      status,
      arrivedAt: status === 'ASSIGNED' ? null : now,
      startedAt: status === 'IN_PROGRESS' ? now : null,
      ...{ endedAt: null, endReason: null, travelledKm: null, tripMinutes: null, finalFare: null },
    },
  });
}

/** One caller's verdict on a case: 'ok' or the error code. */
async function verdict(c: Case, caller: string): Promise<string> {
  const token = await tokenOf(who[caller]!);
  const op = coordinateOf(c.doc).split('.')[1]!;
  if (!c.doc.startsWith('subscription')) return verdictOf(await http(stack.httpUrl, c.doc, c.vars?.() ?? {}, token), op, c.answer);
  const ws = wsConnect(stack.wsUrl, token);
  await ws.connected;
  const sub = ws.subscribe<any>(c.doc, c.vars?.());
  // A granted feed may have nothing to say yet; a refusal arrives at once.
  const first = await Promise.race([sub.next(2_000), new Promise<null>((r) => setTimeout(() => r(null), 1_000))]);
  sub.stop();
  await ws.close();
  return first ? verdictOf(first, op, c.answer) : 'ok';
}

describe('every other operation × caller', () => {
  for (const c of CASES) {
    it(`${coordinateOf(c.doc)}${c.note ? ` (${c.note})` : ''}`, async () => {
      const callers = Object.keys(who).filter((caller) => c.expect[caller] !== 'skip');
      const expected = Object.fromEntries(callers.map((caller) => [caller, c.expect[caller] ?? (caller === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN')]));
      const got: Record<string, string> = {};
      if (c.at) await setTaken(c.at);
      try {
        // Subscriptions change nothing: every caller at once. The rest one after another, as the
        // `at` status holds only until the one allowed caller has moved the ride on.
        if (c.doc.startsWith('subscription')) await Promise.all(callers.map(async (caller) => (got[caller] = await verdict(c, caller))));
        else for (const caller of callers) got[caller] = await verdict(c, caller);
      } finally {
        if (c.at) await setTaken('ASSIGNED');
      }
      expect(got).toEqual(expected);
    });
  }
});

// The table is complete: every root field of the schema has a row (or is read above).
const ROOTS = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((t): t is GraphQLObjectType => !!t);
/** The root field a document calls, as Type.field. */
function coordinateOf(doc: string): string {
  const operation = parse(doc).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = { query: schema.getQueryType(), mutation: schema.getMutationType(), subscription: schema.getSubscriptionType() }[operation.operation]!;
  return `${root.name}.${(operation.selectionSet.selections[0] as FieldNode).name.value}`;
}

describe('the table', () => {
  it('has a row for every root field of the schema', () => {
    const covered = new Set([RIDE_QUERY, RIDE_UPDATES, ...CASES.map((c) => c.doc)].map(coordinateOf));
    const missing = ROOTS.flatMap((root) => Object.keys(root.getFields()).map((f) => `${root.name}.${f}`)).filter((c) => !covered.has(c));
    expect(missing, 'root fields without a row: add who may call them (and who not) to CASES').toEqual([]);
  });
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
