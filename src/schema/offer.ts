// Offers from the driver's side: the driverOffers feed, myOffers, acceptRide, declineRide.
import type { AcceptResult, DeclineResult } from '../match/assignment.ts';
import type { OfferView } from '../match/ride-queries.ts';
import type { DriverOfferEvent, RevokeReason } from '../pubsub.ts';
import { requireDriver } from './access.ts';
import { builder } from './builder.ts';
import { requestLog } from './request-log.ts';
import { DriverRef } from './registry.ts';
import { RideRef } from './ride.ts';

const RevokeReasonEnum = builder.enumType('RevokeReason', {
  values: {
    TAKEN: { description: 'Another driver accepted first.' },
    CANCELLED: { description: 'The rider cancelled (also sent to an assigned driver).' },
    EXPIRED: { description: 'The offer timed out, or the driver went offline or silent.' },
  },
});

const RideOfferRef = builder.objectRef<OfferView>('RideOffer').implement({
  fields: (t) => ({
    ride: t.field({ type: RideRef, resolve: (o) => o.ride }),
    pickupDistanceKm: t.exposeFloat('pickupDistanceKm'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    round: t.exposeInt('round'),
  }),
});

type Revoked = Extract<DriverOfferEvent, { kind: 'revoked' }>;
const RideOfferRevokedRef = builder.objectRef<Revoked>('RideOfferRevoked').implement({
  fields: (t) => ({
    rideId: t.exposeID('rideId'),
    reason: t.field({ type: RevokeReasonEnum, resolve: (e) => e.reason as RevokeReason }),
  }),
});

const DriverOfferEventUnion = builder.unionType('DriverOfferEvent', {
  types: [RideOfferRef, RideOfferRevokedRef],
  resolveType: (e) => ((e as DriverOfferEvent).kind === 'revoked' ? RideOfferRevokedRef : RideOfferRef),
});

builder.subscriptionField('driverOffers', (t) =>
  t.field({
    type: DriverOfferEventUnion,
    description: "Driver: the caller's own offers feed. Starts with the offers held now, then new offers and revokes.",
    subscribe: async (_root, _args, ctx) => {
      const driver = await requireDriver(ctx);
      const { queries, events } = ctx.services;
      return events.driverOffers(
        async () => (await queries.liveOffers(driver.id)).map((o) => ({ kind: 'offer' as const, ...o })),
        async (rideIds) => (await queries.endedOffers(driver.id, rideIds)).map((e) => ({ kind: 'revoked' as const, ...e })),
        driver.id,
      );
    },
    resolve: (event) => event,
  }),
);

builder.queryField('myOffers', (t) =>
  t.field({
    type: [RideOfferRef],
    description: "Driver: the offers the caller holds now (what the feed pushed; read it after reconnecting).",
    resolve: async (_root, _args, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.queries.liveOffers(driver.id);
    },
  }),
);

type Assigned = Extract<AcceptResult, { kind: 'assigned' }>;
type ByRide = { rideId: string };

const RideAssignmentRef = builder.objectRef<Assigned>('RideAssignment').implement({
  fields: (t) => ({
    ride: t.field({ type: RideRef, resolve: (r) => r.ride }),
    driver: t.field({ type: DriverRef, resolve: async (r, _a, ctx) => (await ctx.services.registry.driver(r.driverId))! }),
  }),
});
const rideIdOnly = (name: string, description: string) =>
  builder.objectRef<ByRide>(name).implement({ description, fields: (t) => ({ rideId: t.exposeID('rideId') }) });
const RideAlreadyTakenRef = rideIdOnly('RideAlreadyTaken', 'Another driver accepted first.');
const OfferNotFoundRef = rideIdOnly('OfferNotFound', 'You hold no offer for this ride (never offered, declined, revoked, or the ride was cancelled).');
const OfferExpiredRef = rideIdOnly('OfferExpired', 'The offer expired before you accepted.');
const OfferDeclinedRef = rideIdOnly('OfferDeclined', 'The offer is declined; the ride moves on without you.');

const AcceptRideResult = builder.unionType('AcceptRideResult', {
  types: [RideAssignmentRef, RideAlreadyTakenRef, OfferNotFoundRef, OfferExpiredRef],
  resolveType: (r) => {
    const kind = (r as AcceptResult).kind;
    return kind === 'assigned' ? RideAssignmentRef : kind === 'taken' ? RideAlreadyTakenRef : kind === 'expired' ? OfferExpiredRef : OfferNotFoundRef;
  },
});

const DeclineRideResult = builder.unionType('DeclineRideResult', {
  types: [OfferDeclinedRef, OfferNotFoundRef, OfferExpiredRef],
  resolveType: (r) => {
    const kind = (r as DeclineResult).kind;
    return kind === 'declined' ? OfferDeclinedRef : kind === 'expired' ? OfferExpiredRef : OfferNotFoundRef;
  },
});

builder.mutationField('acceptRide', (t) =>
  t.field({
    type: AcceptRideResult,
    description: 'Driver: accept an offer. The first valid accept wins; asking again gives the same answer.',
    args: { rideId: t.arg.id({ required: true }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      const { assignment, metrics } = ctx.services;
      return metrics.timeAccept(() => assignment.accept(driver.id, String(rideId), requestLog(ctx)));
    },
  }),
);

builder.mutationField('declineRide', (t) =>
  t.field({
    type: DeclineRideResult,
    args: { rideId: t.arg.id({ required: true }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.assignment.decline(driver.id, String(rideId), requestLog(ctx));
    },
  }),
);
