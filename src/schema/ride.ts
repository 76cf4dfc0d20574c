// Rides from the rider's side: requestRide, ride, cancelRide, rideUpdates; completeRide for the
// assigned driver.
import type { Identity } from '../auth.ts';
import { DomainError } from '../errors.ts';
import { CarType, PaymentMethod, RideStatus } from '../generated/prisma/enums.ts';
import { isTrip } from '../match/ride-status.ts';
import type { RideView } from '../match/ride-view.ts';
import type { RideUpdateEvent } from '../pubsub.ts';
import { cleanText } from '../input.ts';
import { countAgainst, readableRide, requireDriver, requireRider, requireRole } from './access.ts';
import { builder, type GraphQLContext } from './builder.ts';
import { PositionRef } from './location.ts';
import { CarTypeEnum, DriverRef, RiderRef } from './registry.ts';

// Values are keyed by the Prisma enums, so a new value cannot come without its description.
export const PaymentMethodEnum = builder.enumType('PaymentMethod', {
  description: 'How the rider pays.',
  values: {
    CASH: { description: 'In cash, to the driver.' },
    CARD: { description: 'By card.' },
  } satisfies Record<PaymentMethod, { description: string }>,
});
export const RideStatusEnum = builder.enumType('RideStatus', {
  description: 'Where a ride stands. SEARCHING and ASSIGNED are live; the others are final.',
  values: {
    SEARCHING: { description: 'Offers are out (round after round); no driver has accepted yet.' },
    ASSIGNED: { description: 'A driver accepted: on the way to the pickup or on the trip.' },
    CANCELLED: { description: 'Cancelled by the rider or an operator (endReason says which).' },
    NO_DRIVERS_AVAILABLE: { description: 'The last round ended without an accept.' },
    COMPLETED: { description: 'The trip is over.' },
  } satisfies Record<RideStatus, { description: string }>,
});

export const RideRef = builder.objectRef<RideView>('Ride').implement({
  description: 'A ride a rider asked for, from request to its end.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The ride id (a UUID).' }),
    rider: t.field({
      type: RiderRef,
      nullable: true,
      description: 'Who asked for it (null if the rider is no longer registered).',
      resolve: (r, _a, ctx) => ctx.services.registry.rider(r.riderId),
    }),
    pickup: t.field({ type: PositionRef, description: 'Where the rider is picked up.', resolve: (r) => r.pickup }),
    dropoff: t.field({ type: PositionRef, description: 'Where the rider is going.', resolve: (r) => r.dropoff }),
    carType: t.field({ type: CarTypeEnum, description: 'The class of car asked for.', resolve: (r) => r.carType }),
    paymentMethod: t.field({ type: PaymentMethodEnum, description: 'How the rider pays.', resolve: (r) => r.paymentMethod }),
    minDriverRating: t.exposeFloat('minDriverRating', { nullable: true, description: 'Only drivers rated at least this are offered it (null: any rating).' }),
    status: t.field({ type: RideStatusEnum, description: 'Where the ride stands.', resolve: (r) => r.status }),
    driver: t.field({
      type: DriverRef,
      nullable: true,
      description: 'The assigned driver (while ASSIGNED or COMPLETED).',
      resolve: (r, _a, ctx) => (r.driverId ? ctx.services.registry.driver(r.driverId) : null),
    }),
    round: t.exposeInt('round', { description: 'Offer round in progress or last run (0: none yet).' }),
    version: t.exposeInt('version', { description: 'Increases with every status change.' }),
    endReason: t.exposeString('endReason', { nullable: true, description: 'Why it ended without a driver, or was cancelled.' }),
    requestedAt: t.expose('requestedAt', { type: 'DateTime', description: 'When the rider asked.' }),
    assignedAt: t.expose('assignedAt', { type: 'DateTime', nullable: true, description: 'When a driver accepted (null before).' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it reached a final status (null while live).' }),
  }),
});

const DriverPositionRef = builder
  .objectRef<{ lat: number; lng: number; at: Date }>('DriverPosition')
  .implement({
    description: "The assigned driver's last reported position.",
    fields: (t) => ({
      lat: t.exposeFloat('lat', { description: 'Latitude in degrees.' }),
      lng: t.exposeFloat('lng', { description: 'Longitude in degrees.' }),
      at: t.expose('at', { type: 'DateTime', description: 'When the server heard it.' }),
    }),
  });

const RideUpdateRef = builder.objectRef<RideUpdateEvent>('RideUpdate').implement({
  description: 'A state of the ride: the current one first, then every change.',
  fields: (t) => ({
    ride: t.field({ type: RideRef, description: 'The ride as it is now.', resolve: (e) => e.ride }),
    status: t.field({ type: RideStatusEnum, description: 'The same as ride.status.', resolve: (e) => e.ride.status }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it ended without a driver, or was cancelled (null otherwise).' }),
    driver: t.field({
      type: DriverRef,
      nullable: true,
      description: 'The assigned driver (null before assignment).',
      resolve: (e, _a, ctx) => (e.ride.driverId ? ctx.services.registry.driver(e.ride.driverId) : null),
    }),
    driverPosition: t.field({
      type: DriverPositionRef,
      nullable: true,
      description: "Where the assigned driver is, while ASSIGNED (null otherwise, or when not known).",
      resolve: (e) => e.driverPosition,
    }),
    at: t.expose('at', { type: 'DateTime', description: 'When this update was sent.' }),
  }),
});

const PointInput = builder.inputType('PointInput', {
  description: 'A point on the map (WGS 84).',
  fields: (t) => ({
    lat: t.float({ required: true, description: 'Latitude in degrees, within ±85.05112878.' }),
    lng: t.float({ required: true, description: 'Longitude in degrees, within ±180.' }),
  }),
});

const RequestRideInput = builder.inputType('RequestRideInput', {
  description: 'What the rider asks for.',
  fields: (t) => ({
    pickup: t.field({ type: PointInput, required: true, description: 'Where to be picked up: drivers are searched around it.' }),
    dropoff: t.field({ type: PointInput, required: true, description: 'Where to go.' }),
    carType: t.field({ type: CarTypeEnum, required: true, description: 'The class of car wanted.' }),
    paymentMethod: t.field({ type: PaymentMethodEnum, required: true, description: 'How the rider pays: only drivers who accept it are offered the ride.' }),
    minDriverRating: t.float({ description: 'Only drivers rated at least this (0-5).' }),
    clientKey: t.string({
      description:
        'Idempotency key (1-64 letters, digits, - or _), unique per request the rider means: resending the same key returns the ride it created instead of creating another.',
    }),
  }),
});

builder.mutationField('requestRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Rider: request a ride. Answers once the first offers are out (or no driver was found).',
    args: { input: t.arg({ type: RequestRideInput, required: true, description: 'The request.' }) },
    resolve: async (_root, { input }, ctx) => {
      const rider = await requireRider(ctx);
      await countAgainst(ctx, 'rideRequests', rider.id);
      return ctx.services.requests.request(rider.id, {
        pickup: input.pickup,
        dropoff: input.dropoff,
        carType: input.carType as CarType,
        paymentMethod: input.paymentMethod as PaymentMethod,
        minDriverRating: input.minDriverRating,
        clientKey: input.clientKey,
      });
    },
  }),
);

builder.queryField('ride', (t) =>
  t.field({
    type: RideRef,
    description: 'A ride: for its rider, its assigned driver, a driver holding a live offer for it, and admins (FORBIDDEN otherwise).',
    args: { id: t.arg.id({ required: true, description: 'The ride id.' }) },
    resolve: (_root, { id }, ctx) => readableRide(ctx, String(id)),
  }),
);

builder.mutationField('cancelRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Rider: cancel while searching (offers are revoked) or after assignment (the driver is told and freed).',
    args: { rideId: t.arg.id({ required: true, description: 'The ride to cancel.' }) },
    resolve: async (_root, { rideId }, ctx) => {
      const rider = await requireRider(ctx);
      return ctx.services.requests.cancel(rider.id, String(rideId));
    },
  }),
);

builder.mutationField('completeRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Assigned driver: the ride is over; the driver is available again.',
    args: { rideId: t.arg.id({ required: true, description: 'The ride to complete.' }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.assignment.complete(driver.id, String(rideId));
    },
  }),
);

const OPERATOR_RIDE = { required: true, description: 'The ride.' } as const;
const OPERATOR_REASON = { required: true, description: 'Why (1-200 characters); recorded in the ride history and shown as its end reason.' } as const;

builder.mutationField('forceCancelRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Admin: cancel a live ride whatever its state (offers revoked; an assigned driver is told and freed).',
    args: { rideId: t.arg.id(OPERATOR_RIDE), reason: t.arg.string(OPERATOR_REASON) },
    resolve: (_root, { rideId, reason }, ctx) => {
      const admin = requireRole(ctx, 'admin');
      return ctx.services.operators.forceCancel(admin.id, String(rideId), cleanText('reason', reason, 200));
    },
  }),
);

builder.mutationField('forceCompleteRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Admin: complete a trip whose driver never did (the driver is freed).',
    args: { rideId: t.arg.id(OPERATOR_RIDE), reason: t.arg.string(OPERATOR_REASON) },
    resolve: (_root, { rideId, reason }, ctx) => {
      const admin = requireRole(ctx, 'admin');
      return ctx.services.operators.forceComplete(admin.id, String(rideId), cleanText('reason', reason, 200));
    },
  }),
);

builder.subscriptionField('rideUpdates', (t) =>
  t.field({
    type: RideUpdateRef,
    description:
      "The ride's current state, then every change. For its rider, its assigned driver, a driver while holding a live offer for it, and admins; a driver who loses the ride gets FORBIDDEN and the stream ends.",
    args: { rideId: t.arg.id({ required: true, description: 'The ride to follow.' }) },
    subscribe: async (_root, { rideId }, ctx) => {
      const id = String(rideId);
      const identity = ctx.identity!;
      await readableRide(ctx, id);
      const { queries, events, records } = ctx.services;
      const stream = events.rideUpdates(async () => {
        const ride = await queries.ride(id);
        if (!ride) return [];
        const driverPosition = ride.driverId && isTrip(ride.status) ? await records.position(ride.driverId).catch(() => null) : null;
        return [{ ride, at: new Date(), reason: ride.endReason, driverPosition }];
      }, id);
      return identity.role === 'driver' ? whileReadable(stream, ctx, identity) : stream;
    },
    resolve: (event) => event,
  }),
);

/**
 * Passes a driver's ride updates only while the driver may read the ride; the first update it
 * may not see ends the stream with FORBIDDEN (no rider data, no other driver's position).
 * Written by hand, like CatchUpStream, so return() reaches the inner stream at once.
 */
function whileReadable(inner: AsyncIterableIterator<RideUpdateEvent>, ctx: GraphQLContext, identity: Identity): AsyncIterableIterator<RideUpdateEvent> {
  let ended = false;
  const end = async (): Promise<IteratorResult<RideUpdateEvent>> => {
    ended = true;
    await inner.return?.();
    return { value: undefined, done: true };
  };
  return {
    async next() {
      if (ended) return { value: undefined, done: true };
      const r = await inner.next();
      if (r.done || ended) return r;
      if (await ctx.services.access.relation(identity, r.value.ride)) return r;
      await end();
      throw new DomainError('FORBIDDEN', 'this ride is no longer yours');
    },
    return: end,
    async throw(err) {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
