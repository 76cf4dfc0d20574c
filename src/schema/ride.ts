// Rides from the rider's side: requestRide, ride, cancelRide, rideUpdates; completeRide for the
// assigned driver.
import { CarType, PaymentMethod, RideStatus } from '../generated/prisma/enums.ts';
import type { RideView } from '../match/ride-view.ts';
import type { RideUpdateEvent } from '../pubsub.ts';
import { DomainError, notFound } from '../errors.ts';
import { requireDriver, requireRider, requireRole } from './access.ts';
import { builder, type GraphQLContext } from './builder.ts';
import { PositionRef } from './location.ts';
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

const RideEventRef = builder.objectRef<RideUpdateEvent>('RideEvent').implement({
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
  }),
});

/** Riders see their rides, drivers the rides they were offered or assigned, admins all. */
async function loadVisibleRide(ctx: GraphQLContext, rideId: string): Promise<RideView> {
  const identity = requireRole(ctx, 'rider', 'driver', 'admin');
  const ride = await ctx.services.dispatcher.ride(rideId);
  if (!ride) throw notFound('ride', rideId);
  const allowed =
    identity.role === 'admin' ||
    (identity.role === 'rider' && ride.riderId === identity.id) ||
    (identity.role === 'driver' &&
      (ride.driverId === identity.id || (await ctx.services.dispatcher.wasOffered(identity.id, rideId))));
  if (!allowed) throw new DomainError('FORBIDDEN', 'this ride is not yours');
  return ride;
}

builder.mutationField('requestRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Rider: request a ride. Answers once the first offers are out (or no driver was found).',
    args: { input: t.arg({ type: RequestRideInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const rider = await requireRider(ctx);
      return ctx.services.dispatcher.requestRide(rider.id, {
        pickup: input.pickup,
        dropoff: input.dropoff,
        carType: input.carType as CarType,
        paymentMethod: input.paymentMethod as PaymentMethod,
        minDriverRating: input.minDriverRating,
      });
    },
  }),
);

builder.queryField('ride', (t) =>
  t.field({
    type: RideRef,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => loadVisibleRide(ctx, String(id)),
  }),
);

builder.mutationField('cancelRide', (t) =>
  t.field({
    type: RideRef,
    description: 'Rider: cancel while searching (offers are revoked) or after assignment (the driver is told and freed).',
    args: { rideId: t.arg.id({ required: true }) },
    resolve: async (_root, { rideId }, ctx) => {
      const rider = await requireRider(ctx);
      return ctx.services.dispatcher.cancel(rider.id, String(rideId));
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
      return ctx.services.dispatcher.complete(driver.id, String(rideId));
    },
  }),
);

builder.subscriptionField('rideUpdates', (t) =>
  t.field({
    type: RideEventRef,
    description: "The ride's current state, then every change. For its rider, its drivers, and admins.",
    args: { rideId: t.arg.id({ required: true }) },
    subscribe: async (_root, { rideId }, ctx) => {
      const id = String(rideId);
      await loadVisibleRide(ctx, id);
      const { dispatcher, events, drivers } = ctx.services;
      return events.rideUpdates(id, async () => {
        const ride = await dispatcher.ride(id);
        if (!ride) return [];
        const driverPosition = ride.driverId && ride.status === 'ASSIGNED' ? await drivers.position(ride.driverId).catch(() => null) : null;
        return [{ ride, at: new Date(), reason: ride.endReason, driverPosition }];
      });
    },
    resolve: (event) => event,
  }),
);
