// Rides from the rider's side: requestRide, ride, cancelRide, rideUpdates; completeRide for the
// assigned driver.
import type { Identity } from '../auth.ts';
import { DomainError } from '../errors.ts';
import { CarType, PaymentMethod, RideStatus } from '../generated/prisma/enums.ts';
import { isTrip } from '../match/ride-status.ts';
import { etaMinutes } from '../pricing/fare.ts';
import type { RideView } from '../match/ride-view.ts';
import type { RideUpdateEvent } from '../pubsub.ts';
import { cleanText } from '../input.ts';
import { audited, countAgainst, readableRide, requireDriver, requireRider, requireRole } from './access.ts';
import { builder, type GraphQLContext } from './builder.ts';
import { PositionRef } from './location.ts';
import { requestLog } from './request-log.ts';
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
  description: 'Where a ride stands. SCHEDULED, SEARCHING and the trip (ASSIGNED, DRIVER_ARRIVED, IN_PROGRESS) are live; the others are final.',
  values: {
    SCHEDULED: { description: 'Booked ahead: the search for a driver starts a little before scheduledAt.' },
    SEARCHING: { description: 'Offers are out (round after round); no driver has accepted yet.' },
    ASSIGNED: { description: 'A driver accepted and is on the way to the pickup.' },
    DRIVER_ARRIVED: { description: 'The driver is at the pickup, waiting for the rider.' },
    IN_PROGRESS: { description: 'The rider is aboard; the distance driven counts towards the fare.' },
    CANCELLED: { description: 'Cancelled by the rider or an operator (endReason says which).' },
    NO_DRIVERS_AVAILABLE: { description: 'The last round ended without an accept.' },
    COMPLETED: { description: 'The trip is over.' },
  } satisfies Record<RideStatus, { description: string }>,
});

const RideQuoteRef = builder.objectRef<NonNullable<RideView['quote']>>('RideQuote').implement({
  description: 'The price a ride was requested at; the fare charged never exceeds its total.',
  fields: (t) => ({
    estimateId: t.exposeID('estimateId', { nullable: true, description: 'The estimate honoured, if any.' }),
    total: t.exposeInt('total', { description: 'At most this, in minor units of currency.' }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code.' }),
    surgeMultiplier: t.exposeFloat('surgeMultiplier', { description: 'The surge the quote was made at.' }),
  }),
});

const RideFareRef = builder.objectRef<NonNullable<RideView['fare']>>('RideFare').implement({
  description: 'What a completed trip cost: metered from the distance driven and the minutes taken, capped by the quote.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Charged, in minor units of currency.' }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code.' }),
    travelledKm: t.exposeFloat('travelledKm', { description: "Distance covered by the driver's location updates during the trip." }),
    tripMinutes: t.exposeFloat('tripMinutes', { description: 'From startTrip to completeRide.' }),
  }),
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
    quote: t.field({ type: RideQuoteRef, nullable: true, description: 'The price the ride was requested at (from its estimate, or priced at request time).', resolve: (r) => r.quote }),
    fare: t.field({ type: RideFareRef, nullable: true, description: 'What the completed trip cost (after COMPLETED).', resolve: (r) => r.fare }),
    requestedAt: t.expose('requestedAt', { type: 'DateTime', description: 'When the rider asked.' }),
    scheduledAt: t.expose('scheduledAt', { type: 'DateTime', nullable: true, description: 'The booked pickup time (SCHEDULED rides).' }),
    dispatchedAt: t.expose('dispatchedAt', { type: 'DateTime', nullable: true, description: 'When the search for a driver began.' }),
    assignedAt: t.expose('assignedAt', { type: 'DateTime', nullable: true, description: 'When a driver accepted (null before).' }),
    arrivedAt: t.expose('arrivedAt', { type: 'DateTime', nullable: true, description: 'When the driver reached the pickup.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When the trip started.' }),
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
      description: "Where the assigned driver is during the trip (pushed as it moves on the rider's own stream; null otherwise, or when not known).",
      resolve: (e) => e.driverPosition,
    }),
    etaMinutes: t.int({
      nullable: true,
      description: 'Straight-line minutes from the driver to the pickup (ASSIGNED) or to the dropoff (IN_PROGRESS), at the average speed.',
      resolve: (e, _a, ctx) => {
        const target = e.ride.status === 'ASSIGNED' ? e.ride.pickup : e.ride.status === 'IN_PROGRESS' ? e.ride.dropoff : null;
        return target && e.driverPosition ? etaMinutes(e.driverPosition, target, ctx.services.config.pricing.averageSpeedKmh) : null;
      },
    }),
    at: t.expose('at', { type: 'DateTime', description: 'When this update was sent.' }),
  }),
});

export const PointInput = builder.inputType('PointInput', {
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
    estimateId: t.id({ description: "A fare estimate of this rider's for this trip: its total is honoured while it is valid. Without one the ride is priced now." }),
    scheduledAt: t.field({ type: 'DateTime', description: 'Book ahead: the pickup time (within the booking window). Dispatch starts a little before it.' }),
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
      const request = {
        pickup: input.pickup,
        dropoff: input.dropoff,
        carType: input.carType as CarType,
        paymentMethod: input.paymentMethod as PaymentMethod,
        minDriverRating: input.minDriverRating,
        clientKey: input.clientKey,
        estimateId: input.estimateId === null || input.estimateId === undefined ? null : String(input.estimateId),
        scheduledAt: input.scheduledAt,
      };
      return ctx.services.requests.request(rider.id, request, requestLog(ctx));
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
      return ctx.services.requests.cancel(rider.id, String(rideId), requestLog(ctx));
    },
  }),
);

builder.mutationField('arrivedAtPickup', (t) =>
  t.field({
    type: RideRef,
    description: 'Assigned driver: at the pickup (ASSIGNED → DRIVER_ARRIVED). Repeating gives the same answer.',
    args: { rideId: t.arg.id({ required: true, description: 'The ride.' }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.trip.arrivedAtPickup(driver.id, String(rideId), requestLog(ctx));
    },
  }),
);

builder.mutationField('startTrip', (t) =>
  t.field({
    type: RideRef,
    description: 'Assigned driver: the rider is aboard (DRIVER_ARRIVED → IN_PROGRESS); the distance driven counts from here. Repeating gives the same answer.',
    args: { rideId: t.arg.id({ required: true, description: 'The ride.' }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.trip.startTrip(driver.id, String(rideId), requestLog(ctx));
    },
  }),
);

builder.mutationField('completeRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Assigned driver: dropped off (IN_PROGRESS → COMPLETED); the fare is charged and the driver is available again.',
    args: { rideId: t.arg.id({ required: true, description: 'The ride to complete.' }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.trip.complete(driver.id, String(rideId), requestLog(ctx));
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
      requireRole(ctx, 'admin');
      const id = String(rideId);
      const why = cleanText('reason', reason, 200);
      return audited(ctx, 'forceCancelRide', `ride:${id}`, () => ctx.services.queries.ride(id), () => ctx.services.operators.forceCancel(ctx.identity!.id, id, why, requestLog(ctx)));
    },
  }),
);

builder.mutationField('forceCompleteRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Admin: complete a trip whose driver never did (the driver is freed).',
    args: { rideId: t.arg.id(OPERATOR_RIDE), reason: t.arg.string(OPERATOR_REASON) },
    resolve: (_root, { rideId, reason }, ctx) => {
      requireRole(ctx, 'admin');
      const id = String(rideId);
      const why = cleanText('reason', reason, 200);
      return audited(ctx, 'forceCompleteRide', `ride:${id}`, () => ctx.services.queries.ride(id), () => ctx.services.operators.forceComplete(ctx.identity!.id, id, why, requestLog(ctx)));
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
      // The rider's own stream also carries the assigned driver's position as it moves.
      const positions = identity.role === 'rider';
      const stream = events.rideUpdates(async () => {
        const ride = await queries.ride(id);
        if (!ride) return [];
        const driverPosition = ride.driverId && isTrip(ride.status) ? await records.position(ride.driverId).catch(() => null) : null;
        return [{ ride, at: new Date(), reason: ride.endReason, driverPosition }];
      }, id, { positions });
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
