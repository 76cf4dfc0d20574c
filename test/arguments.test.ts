// Resolvers read their arguments, never raw variables (graphql-jit once handed subscribe resolvers
// the raw variables, so an inline argument or a renamed variable was lost). Generated from the
// schema: every root Query, Mutation and Subscription field that takes arguments is called three
// ways with the same sample values, (a) variables named like the arguments, (b) the values written
// inline as literals, (c) variables with other names ($v0, $v1, …), each in a world of its own
// (fresh rider, driver and ride: state-changing calls never see each other's effects), and the
// three answers must be the same. A new root field with arguments fails here until it has a sample.
// Then every SDK operation (src/sdk/generated) with arguments: its own document against the same
// selection written with inline literals and with renamed variables.
import {
  astFromValue,
  Kind,
  type DocumentNode,
  type FieldNode,
  type OperationDefinitionNode,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isNonNullType,
  isUnionType,
  print,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latLngToCell } from 'h3-js';
import { reinstateDriver, suspendDriver } from '../src/admin/suspension.ts';
import { setDriverStatus } from '../src/drivers/duty.ts';
import { DomainError } from '../src/errors.ts';
import { LIVE_STATUSES, isLive } from '../src/match/ride-status.ts';
import { schema } from '../src/schema/index.ts';
import * as sdkDocuments from '../src/sdk/generated/graphql.ts';
import { offset, registerDrivers, registerRider, report } from './helpers/fixtures.ts';
import { http, wsConnect, type GraphQLResponse } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

/** One form's world: a rider, a driver 0.5 km east of the spot, and maybe a ride between them. */
interface World {
  riderId: string;
  driverId: string;
  /** The world's ride, if the sample asks for one. */
  rideId: string;
}

interface Sample {
  /** Who calls it (from this world, or an operator). */
  as: 'rider' | 'driver' | 'admin';
  /** The world's ride before the call: offered to its driver, assigned, driver at the pickup, or on its trip. */
  ride?: 'offered' | 'assigned' | 'arrived' | 'started';
  /** What else the world needs before the call (e.g. a suspended driver). */
  prepare?(w: World): Promise<void>;
  /** Realistic argument values, in this world. */
  args(w: World): Record<string, unknown>;
}

// Every form of a field runs at the same spot, so values that depend on it (distances, cells,
// echoed points) are comparable; each world is cleared before the next one is made.
const SPOT = { lat: 19.076, lng: 72.8777 };
// Prices and surge where no world has drivers or rides: the same for every form (supply and
// demand at SPOT move as worlds come and go).
const QUIET = { lat: 18.5204, lng: 73.8567 };
const TRIP = { pickup: QUIET, dropoff: offset(QUIET.lat, QUIET.lng, 2, 3), carType: 'ECONOMY' };

async function suspend(w: World): Promise<void> {
  await stack.services.audit.record('ops-1', 'suspendDriver', `driver:${w.driverId}`, async () => null, async () => (await suspendDriver(stack.services, w.driverId, 'documents expired')).after);
}

const SAMPLES: Record<string, Sample> = {
  'Query.nearbyDrivers': { as: 'admin', args: () => ({ lat: SPOT.lat, lng: SPOT.lng, radiusKm: 2.5, limit: 3 }) },
  'Query.ride': { as: 'rider', ride: 'offered', args: (w) => ({ id: w.rideId }) },
  'Mutation.acceptRide': { as: 'driver', ride: 'offered', args: (w) => ({ rideId: w.rideId }) },
  'Mutation.declineRide': { as: 'driver', ride: 'offered', args: (w) => ({ rideId: w.rideId }) },
  'Mutation.cancelRide': { as: 'rider', ride: 'offered', args: (w) => ({ rideId: w.rideId }) },
  'Mutation.arrivedAtPickup': { as: 'driver', ride: 'assigned', args: (w) => ({ rideId: w.rideId }) },
  'Mutation.startTrip': { as: 'driver', ride: 'arrived', args: (w) => ({ rideId: w.rideId }) },
  'Mutation.completeRide': { as: 'driver', ride: 'started', args: (w) => ({ rideId: w.rideId }) },
  'Mutation.estimateRide': { as: 'rider', args: () => ({ input: TRIP }) },
  'Query.surgeCells': { as: 'admin', args: () => ({ ...QUIET, carType: 'ECONOMY' }) },
  'Mutation.setTariff': { as: 'admin', args: () => ({ carType: 'PREMIUM', input: { currency: 'INR', baseFare: 9000, perKm: 3500, perMinute: 400, minimumFare: 25000 } }) },
  'Query.drivers': { as: 'admin', args: () => ({ first: 5, filter: { region: latLngToCell(SPOT.lat, SPOT.lng, 5), online: true } }) },
  'Query.rides': { as: 'admin', ride: 'assigned', args: (w) => ({ first: 5, filter: { riderId: w.riderId, status: 'ASSIGNED' } }) },
  'Query.driverState': { as: 'admin', ride: 'assigned', args: (w) => ({ driverId: w.driverId }) },
  'Query.auditLog': { as: 'admin', prepare: suspend, args: (w) => ({ first: 5, target: `driver:${w.driverId}` }) },
  'Mutation.suspendDriver': { as: 'admin', ride: 'offered', args: (w) => ({ driverId: w.driverId, reason: 'documents expired' }) },
  'Mutation.reinstateDriver': { as: 'admin', prepare: suspend, args: (w) => ({ driverId: w.driverId }) },
  'Mutation.forceCancelRide': { as: 'admin', ride: 'offered', args: (w) => ({ rideId: w.rideId, reason: 'rider phoned support' }) },
  'Mutation.forceCompleteRide': { as: 'admin', ride: 'assigned', args: (w) => ({ rideId: w.rideId, reason: "driver's phone died" }) },
  'Mutation.requestRide': {
    as: 'rider',
    args: () => ({
      input: { pickup: SPOT, dropoff: offset(SPOT.lat, SPOT.lng, 2, 3), carType: 'ECONOMY', paymentMethod: 'CASH', minDriverRating: 4.5, clientKey: 'trip-7' },
    }),
  },
  'Mutation.setDriverStatus': { as: 'driver', args: () => ({ status: 'OFFLINE' }) },
  'Mutation.updateDriverLocation': {
    as: 'driver',
    // A fix taken now: newer than the world's own report, so it is not out of order.
    args: () => ({ input: { ...offset(SPOT.lat, SPOT.lng, -1), heading: 271.5, speedKmh: 32, accuracyM: 6, recordedAt: new Date().toISOString() } }),
  },
  'Mutation.upsertDriver': {
    as: 'admin',
    args: (w) => ({ input: { id: w.driverId, name: 'Asha Rao', carType: 'COMFORT', paymentPreference: 'CARD', rating: 4.2, vehicle: 'Grey Ertiga, MH-01-7781' } }),
  },
  'Mutation.upsertRider': { as: 'admin', args: (w) => ({ input: { id: w.riderId, name: 'Ana Lima' } }) },
  'Subscription.rideUpdates': { as: 'rider', ride: 'assigned', args: (w) => ({ rideId: w.rideId }) },
  // A window before any world's rides: every form sees the same (empty) figures.
  'Query.matchingAnalytics': {
    as: 'admin',
    args: () => ({ window: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', region: latLngToCell(SPOT.lat, SPOT.lng, 5) } }),
  },
  'Subscription.cityMap': {
    as: 'admin',
    args: () => ({ bbox: { south: SPOT.lat - 0.02, west: SPOT.lng - 0.02, north: SPOT.lat + 0.02, east: SPOT.lng + 0.02 }, zoom: 15 }),
  },
};

const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter((t): t is GraphQLObjectType => !!t);
const withArguments = roots.flatMap((root) =>
  Object.values(root.getFields())
    .filter((f) => f.args.length > 0)
    .map((field) => ({ coordinate: `${root.name}.${field.name}`, kind: root.name.toLowerCase() as 'query' | 'mutation' | 'subscription', field })),
);

/**
 * Every field of the result, two levels of objects deep, except date-times (clocks differ
 * between forms; everything else is the same world, so must answer the same).
 */
function selection(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (isUnionType(named) || isInterfaceType(named)) {
    return `{ __typename ${schema.getPossibleTypes(named).map((t) => `... on ${t.name} ${selection(t, depth)}`).join(' ')} }`;
  }
  if (depth === 0) return '{ __typename }';
  const fields = Object.values(named.getFields()).filter(
    (f) => getNamedType(f.type).name !== 'DateTime' && f.args.every((a) => !isNonNullType(a.type)),
  );
  return `{ __typename ${fields.map((f) => `${f.name} ${selection(f.type, depth - 1)}`).join(' ')} }`;
}

type Form = { query: string; variables: Record<string, unknown> };
const WAYS = ['variables named like the arguments', 'inline literals', 'variables with other names'] as const;
type Way = (typeof WAYS)[number];

/**
 * The call written one way, with these argument values. `picked`: the selection (and the
 * fragments it spreads) to ask for; by default every field two levels deep.
 */
function written(way: Way, kind: string, field: GraphQLField<unknown, unknown>, values: Record<string, unknown>, picked?: { selection: string; fragments: string }): Form {
  const args = field.args.filter((a) => values[a.name] !== undefined);
  const variable = (i: number) => (way === 'variables with other names' ? `v${i}` : args[i]!.name);
  const value = (i: number) => (way === 'inline literals' ? print(astFromValue(values[args[i]!.name], args[i]!.type)!) : `$${variable(i)}`);
  const call = `${field.name}(${args.map((a, i) => `${a.name}: ${value(i)}`).join(', ')}) ${picked?.selection ?? selection(field.type, 2)}`;
  const fragments = picked?.fragments ?? '';
  if (way === 'inline literals') return { query: `${kind} { ${call} } ${fragments}`, variables: {} };
  return {
    query: `${kind}(${args.map((a, i) => `$${variable(i)}: ${a.type}`).join(', ')}) { ${call} } ${fragments}`,
    variables: Object.fromEntries(args.map((a, i) => [variable(i), values[a.name]])),
  };
}

/**
 * The SDK's own operations (src/sdk/generated) whose root field takes arguments: each is one
 * client's way of writing the call, to be answered like the same selection written inline.
 */
const sdkOperations = Object.entries(sdkDocuments).flatMap(([name, doc]) => {
  if (!name.endsWith('Document') || (doc as DocumentNode).kind !== 'Document') return [];
  const definitions = (doc as DocumentNode).definitions;
  const operation = definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  const root = operation.selectionSet.selections[0] as FieldNode;
  const found = withArguments.find((f) => f.kind === operation.operation && f.field.name === root.name.value);
  if (!found || !root.arguments?.length) return [];
  return [{ name, doc: doc as DocumentNode, root, ...found, fragments: definitions.filter((d) => d.kind === 'FragmentDefinition').map((d) => print(d)).join(' ') }];
});

/** The SDK document with the sample's values given to the variables its arguments name. */
function sdkForm(doc: DocumentNode, root: FieldNode, values: Record<string, unknown>): Form {
  const variables: Record<string, unknown> = {};
  for (const arg of root.arguments ?? []) {
    if (arg.value.kind === Kind.VARIABLE && values[arg.name.value] !== undefined) variables[arg.value.name.value] = values[arg.name.value];
  }
  return { query: print(doc), variables };
}

async function makeWorld(sample: Sample): Promise<World> {
  const { services } = stack;
  const world: World = { riderId: uniqueId('r'), driverId: uniqueId('d'), rideId: '' };
  await registerRider(services, world.riderId);
  const [driver] = await registerDrivers(services, [{ id: world.driverId }]);
  await report(services, driver!, offset(SPOT.lat, SPOT.lng, 0.5), Date.now() - 5_000);
  await sample.prepare?.(world);
  if (!sample.ride) return world;
  const ride = await services.requests.request(world.riderId, { pickup: SPOT, dropoff: offset(SPOT.lat, SPOT.lng, 0, 3), carType: 'ECONOMY', paymentMethod: 'CARD' });
  world.rideId = ride.id;
  const offered = await services.queries.liveOffers(world.driverId);
  expect(offered.map((o) => o.ride.id), 'the world ride is offered to its driver').toEqual([ride.id]);
  if (sample.ride === 'offered') return world;
  expect((await services.assignment.accept(world.driverId, ride.id)).kind).toBe('assigned');
  if (sample.ride === 'assigned') return world;
  await services.trip.arrivedAtPickup(world.driverId, ride.id);
  if (sample.ride === 'started') await services.trip.startTrip(world.driverId, ride.id);
  return world;
}

/** Takes a world out of the next one's way: its rides end, its driver leaves search. */
async function clearWorld(w: World): Promise<void> {
  const { services } = stack;
  const live = await services.db.ride.findMany({ where: { riderId: w.riderId, status: { in: [...LIVE_STATUSES] } } });
  for (const ride of live) {
    // A ride can end on its own meanwhile (suspendDriver sends it back to a search that finds no one).
    await services.operators.forceCancel('ops-1', ride.id, 'next world').catch(async (err: unknown) => {
      const now = await services.db.ride.findUniqueOrThrow({ where: { id: ride.id } });
      if (!(err instanceof DomainError && err.code === 'INVALID_STATE') || isLive(now.status)) throw err;
    });
  }
  const driver = await services.db.driver.findUnique({ where: { id: w.driverId } });
  if (driver?.suspendedAt) await reinstateDriver(services, w.driverId);
  await setDriverStatus(services, w.driverId, 'OFFLINE');
}

async function run(kind: string, form: Form, sample: Sample, w: World): Promise<GraphQLResponse> {
  const token = await stack.token(sample.as, sample.as === 'admin' ? 'ops-1' : sample.as === 'rider' ? w.riderId : w.driverId);
  if (kind !== 'subscription') return http(stack.httpUrl, form.query, form.variables, token);
  const ws = wsConnect(stack.wsUrl, token);
  try {
    await ws.connected;
    const updates = ws.subscribe(form.query, form.variables);
    const first = await updates.next();
    updates.stop();
    return first;
  } finally {
    await ws.close();
  }
}

// Not compared: cursors encode a world's times and ids (a ride's requestedAt); silentForMs and
// the date-times the SDK's selections ask for (at, requestedAt, expiresAt, …) are clock readings.
const UNCOMPARED = /^(cursor|startCursor|endCursor|silentForMs|at|\w+At)$/;

/** The answer with this world's ids (its rider, driver and rides, one the call made too) named, so worlds compare. */
async function normalized(res: GraphQLResponse, w: World): Promise<unknown> {
  const { db } = stack.services;
  const rides = await db.ride.findMany({ where: { riderId: w.riderId }, select: { id: true }, orderBy: { requestedAt: 'asc' } });
  const estimates = await db.fareEstimate.findMany({ where: { riderId: w.riderId }, select: { id: true } });
  const names: Array<[string, string]> = [
    [w.riderId, '<rider>'],
    [w.driverId, '<driver>'],
    ...rides.map((r, i): [string, string] => [r.id, `<ride ${i + 1}>`]),
    ...estimates.map((e, i): [string, string] => [e.id, `<estimate ${i + 1}>`]),
  ];
  const withoutCursors = (key: string, value: unknown) => (UNCOMPARED.test(key) ? `<${key}>` : value);
  let text = JSON.stringify({ data: res.data ?? null, errors: res.errors?.map((e) => ({ code: e.extensions?.code, message: e.message })) }, withoutCursors);
  for (const [id, name] of names) text = text.replaceAll(id, name);
  return JSON.parse(text);
}

describe('every root field with arguments answers the same however its arguments are written', () => {
  it('every sample is for a root field that takes arguments', () => {
    expect(Object.keys(SAMPLES).filter((c) => !withArguments.some((f) => f.coordinate === c))).toEqual([]);
  });

  for (const { coordinate, kind, field } of withArguments) {
    it(coordinate, async () => {
      const sample = SAMPLES[coordinate];
      if (!sample) throw new Error(`no sample for ${coordinate}: add realistic argument values (and who calls it) to SAMPLES`);
      const answers = new Map<Way, { form: Form; answer: any }>();
      for (const way of WAYS) {
        const world = await makeWorld(sample);
        const form = written(way, kind, field, sample.args(world));
        answers.set(way, { form, answer: await normalized(await run(kind, form, sample, world), world) });
        await clearWorld(world);
      }
      const [firstWay, ...otherWays] = WAYS;
      const first = answers.get(firstWay)!;
      expect(first.answer.errors, `${firstWay} must succeed:\n${first.form.query}`).toBeUndefined();
      for (const way of otherWays) expect(answers.get(way)!.answer, `${way}:\n${answers.get(way)!.form.query}`).toEqual(first.answer);
    });
  }
});

describe("the SDK's own operations answer as the same selection written inline or with other variable names", () => {
  it('covers every SDK operation whose root field takes arguments', () => {
    const documents = Object.entries(sdkDocuments).filter(([name, doc]) => name.endsWith('Document') && (doc as DocumentNode).kind === 'Document');
    const rootCall = (doc: DocumentNode) => {
      const operation = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
      return operation.selectionSet.selections[0] as FieldNode;
    };
    const left = documents.filter(([name]) => !sdkOperations.some((o) => o.name === name));
    // The ones left out call their root field without arguments; the rest each have a test below.
    expect(left.filter(([, doc]) => rootCall(doc as DocumentNode).arguments?.length).map(([name]) => name)).toEqual([]);
    expect(sdkOperations.length + left.length).toBe(documents.length);
    expect(sdkOperations.length).toBeGreaterThan(0);
  });

  for (const { name, doc, root, coordinate, kind, field, fragments } of sdkOperations) {
    it(`${name} (${coordinate})`, async () => {
      const sample = SAMPLES[coordinate]!;
      const picked = { selection: print(root.selectionSet!), fragments };
      const forms: Array<[string, (w: World) => Form]> = [
        ["the SDK's document", (w) => sdkForm(doc, root, sample.args(w))],
        ['inline literals', (w) => written('inline literals', kind, field, sample.args(w), picked)],
        ['variables with other names', (w) => written('variables with other names', kind, field, sample.args(w), picked)],
      ];
      const answers: Array<{ how: string; form: Form; answer: any }> = [];
      for (const [how, write] of forms) {
        const world = await makeWorld(sample);
        const form = write(world);
        answers.push({ how, form, answer: await normalized(await run(kind, form, sample, world), world) });
        await clearWorld(world);
      }
      const [sdk, ...others] = answers;
      expect(sdk!.answer.errors, `the SDK's document must succeed:\n${sdk!.form.query}`).toBeUndefined();
      for (const other of others) expect(other.answer, `${other.how}:\n${other.form.query}`).toEqual(sdk!.answer);
    });
  }
});
