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
import { requestLog } from './request-log.ts';
import { CarTypeEnum, DriverRef, RiderRef } from './registry.ts';

export const PaymentMethodEnum = builder.enumType('PaymentMethod', { values: Object.values(PaymentMethod) });
export const RideStatusEnum = builder.enumType('RideStatus', { values: Object.values(RideStatus) });

export const RideRef = builder.objectRef<RideView>('Ride').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    rider: t.field({ type: RiderRef, nullable: true, resolve: (r, _a, ctx) => ctx.services.registry.rider(r.riderId) }),
    pickup: t.field({ type: PositionRef, resolve: (r) => r.pickup }),
    dropoff: t.field({ type: PositionRef, resolve: (r) => r.dropoff }),
    carType: t.field({ type: CarTypeEnum, resolve: (r) => r.carType }),
    paymentMethod: t.field({ type: PaymentMethodEnum, resolve: (r) => r.paymentMethod }),
    minDriverRating: t.exposeFloat('minDriverRating', { nullable: true }),
    status: t.field({ type: RideStatusEnum, resolve: (r) => r.status }),
    driver: t.field({
      type: DriverRef,
      nullable: true,
      description: 'The assigned driver (while ASSIGNED or COMPLETED).',
      resolve: (r, _a, ctx) => (r.driverId ? ctx.services.registry.driver(r.driverId) : null),
    }),
    round: t.exposeInt('round', { description: 'Offer round in progress or last run (0: none yet).' }),
    version: t.exposeInt('version', { description: 'Increases with every status change.' }),
    endReason: t.exposeString('endReason', { nullable: true, description: 'Why it ended without a driver, or was cancelled.' }),
    requestedAt: t.expose('requestedAt', { type: 'DateTime' }),
    assignedAt: t.expose('assignedAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
  }),
});

const DriverPositionRef = builder
  .objectRef<{ lat: number; lng: number; at: Date }>('DriverPosition')
  .implement({
    fields: (t) => ({ lat: t.exposeFloat('lat'), lng: t.exposeFloat('lng'), at: t.expose('at', { type: 'DateTime' }) }),
  });

const RideUpdateRef = builder.objectRef<RideUpdateEvent>('RideUpdate').implement({
  description: 'A state of the ride: the current one first, then every change.',
  fields: (t) => ({
    ride: t.field({ type: RideRef, resolve: (e) => e.ride }),
    status: t.field({ type: RideStatusEnum, resolve: (e) => e.ride.status }),
    reason: t.exposeString('reason', { nullable: true }),
    driver: t.field({
      type: DriverRef,
      nullable: true,
      resolve: (e, _a, ctx) => (e.ride.driverId ? ctx.services.registry.driver(e.ride.driverId) : null),
    }),
    driverPosition: t.field({ type: DriverPositionRef, nullable: true, resolve: (e) => e.driverPosition }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const PointInput = builder.inputType('PointInput', {
  fields: (t) => ({ lat: t.float({ required: true }), lng: t.float({ required: true }) }),
});

const RequestRideInput = builder.inputType('RequestRideInput', {
  fields: (t) => ({
    pickup: t.field({ type: PointInput, required: true }),
    dropoff: t.field({ type: PointInput, required: true }),
    carType: t.field({ type: CarTypeEnum, required: true }),
    paymentMethod: t.field({ type: PaymentMethodEnum, required: true }),
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
    args: { input: t.arg({ type: RequestRideInput, required: true }) },
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
      };
      return ctx.services.requests.request(rider.id, request, requestLog(ctx));
    },
  }),
);

builder.queryField('ride', (t) =>
  t.field({
    type: RideRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => readableRide(ctx, String(id)),
  }),
);

builder.mutationField('cancelRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Rider: cancel while searching (offers are revoked) or after assignment (the driver is told and freed).',
    args: { rideId: t.arg.id({ required: true }) },
    resolve: async (_root, { rideId }, ctx) => {
      const rider = await requireRider(ctx);
      return ctx.services.requests.cancel(rider.id, String(rideId), requestLog(ctx));
    },
  }),
);

builder.mutationField('completeRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Assigned driver: the ride is over; the driver is available again.',
    args: { rideId: t.arg.id({ required: true }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.assignment.complete(driver.id, String(rideId), requestLog(ctx));
    },
  }),
);

const OPERATOR_REASON = { required: true, description: 'Why (1-200 characters); recorded in the ride history and shown as its end reason.' } as const;

builder.mutationField('forceCancelRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Admin: cancel a live ride whatever its state (offers revoked; an assigned driver is told and freed).',
    args: { rideId: t.arg.id({ required: true }), reason: t.arg.string(OPERATOR_REASON) },
    resolve: (_root, { rideId, reason }, ctx) => {
      const admin = requireRole(ctx, 'admin');
      return ctx.services.operators.forceCancel(admin.id, String(rideId), cleanText('reason', reason, 200), requestLog(ctx));
    },
  }),
);

builder.mutationField('forceCompleteRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Admin: complete a trip whose driver never did (the driver is freed).',
    args: { rideId: t.arg.id({ required: true }), reason: t.arg.string(OPERATOR_REASON) },
    resolve: (_root, { rideId, reason }, ctx) => {
      const admin = requireRole(ctx, 'admin');
      return ctx.services.operators.forceComplete(admin.id, String(rideId), cleanText('reason', reason, 200), requestLog(ctx));
    },
  }),
);

builder.subscriptionField('rideUpdates', (t) =>
  t.field({
    type: RideUpdateRef,
    description:
      "The ride's current state, then every change. For its rider, its assigned driver, a driver while holding a live offer for it, and admins; a driver who loses the ride gets FORBIDDEN and the stream ends.",
    args: { rideId: t.arg.id({ required: true }) },
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
