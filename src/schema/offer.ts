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
  description: 'Why an offer was taken back.',
  values: {
    TAKEN: { description: 'Another driver accepted first.' },
    CANCELLED: { description: 'The rider cancelled (also sent to an assigned driver).' },
    EXPIRED: { description: 'The offer timed out, or the driver went offline or silent.' },
  },
});

const RideOfferRef = builder.objectRef<OfferView>('RideOffer').implement({
  description: 'A ride offered to the caller: accept it (acceptRide) or decline it (declineRide) before it expires.',
  fields: (t) => ({
    ride: t.field({ type: RideRef, description: 'The ride offered.', resolve: (o) => o.ride }),
    pickupDistanceKm: t.exposeFloat('pickupDistanceKm', { description: 'Straight-line distance from the driver to the pickup when offered, in km.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'The offer is void after this (the end of its round).' }),
    round: t.exposeInt('round', { description: 'The offer round it belongs to (1 for the first).' }),
  }),
});

type Revoked = Extract<DriverOfferEvent, { kind: 'revoked' }>;
const RideOfferRevokedRef = builder.objectRef<Revoked>('RideOfferRevoked').implement({
  description: 'An offer the caller held is over: it can no longer be accepted.',
  fields: (t) => ({
    rideId: t.exposeID('rideId', { description: 'The ride whose offer ended.' }),
    reason: t.field({ type: RevokeReasonEnum, description: 'Why it ended.', resolve: (e) => e.reason as RevokeReason }),
  }),
});

type AccountNotice = Extract<DriverOfferEvent, { kind: 'account' }>;
const AccountStatusEnum = builder.enumType('AccountStatus', {
  description: "A driver's standing, as an admin set it.",
  values: {
    ACTIVE: { description: 'May go AVAILABLE and be offered rides.' },
    SUSPENDED: { description: 'Never offered a ride; cannot go AVAILABLE until reinstated.' },
  },
});
const DriverAccountNoticeRef = builder.objectRef<AccountNotice>('DriverAccountNotice').implement({
  description: 'An admin suspended or reinstated the driver (pushed on the offers feed).',
  fields: (t) => ({
    status: t.field({ type: AccountStatusEnum, description: 'The new standing.', resolve: (e) => e.status }),
    // Not `reason`: RideOfferRevoked.reason is an enum, and one response key cannot be both.
    detail: t.exposeString('reason', { nullable: true, description: "The admin's reason (suspensions)." }),
  }),
});

const DriverOfferEventUnion = builder.unionType('DriverOfferEvent', {
  description: 'What a driver hears on the driverOffers feed: a new offer, the end of one, or an admin notice.',
  types: [RideOfferRef, RideOfferRevokedRef, DriverAccountNoticeRef],
  resolveType: (e) => {
    const kind = (e as DriverOfferEvent).kind;
    return kind === 'revoked' ? RideOfferRevokedRef : kind === 'account' ? DriverAccountNoticeRef : RideOfferRef;
  },
});

builder.subscriptionField('driverOffers', (t) =>
  t.field({
    type: DriverOfferEventUnion,
    description: "Driver: the caller's own offers feed. Starts with the offers held now, then new offers and revokes.",
    subscribe: async (_root, _args, ctx) => {
      const driver = await requireDriver(ctx);
      const { queries, events } = ctx.services;
      return events.driverOffers(driver.id, queries);
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
  description: 'The ride is yours: drive to the pickup.',
  fields: (t) => ({
    ride: t.field({ type: RideRef, description: 'The ride, now ASSIGNED to the caller.', resolve: (r) => r.ride }),
    driver: t.field({
      type: DriverRef,
      description: 'The assigned driver (the caller).',
      resolve: async (r, _a, ctx) => (await ctx.services.registry.driver(r.driverId))!,
    }),
  }),
});
const rideIdOnly = (name: string, description: string) =>
  builder.objectRef<ByRide>(name).implement({
    description,
    fields: (t) => ({ rideId: t.exposeID('rideId', { description: 'The ride asked about.' }) }),
  });
const RideAlreadyTakenRef = rideIdOnly('RideAlreadyTaken', 'Another driver accepted first.');
const OfferNotFoundRef = rideIdOnly('OfferNotFound', 'You hold no offer for this ride (never offered, declined, revoked, or the ride was cancelled).');
const OfferExpiredRef = rideIdOnly('OfferExpired', 'The offer expired before you accepted.');
const OfferDeclinedRef = rideIdOnly('OfferDeclined', 'The offer is declined; the ride moves on without you.');

const AcceptRideResult = builder.unionType('AcceptRideResult', {
  description: 'The answer to acceptRide: the ride, or why not.',
  types: [RideAssignmentRef, RideAlreadyTakenRef, OfferNotFoundRef, OfferExpiredRef],
  resolveType: (r) => {
    const kind = (r as AcceptResult).kind;
    return kind === 'assigned' ? RideAssignmentRef : kind === 'taken' ? RideAlreadyTakenRef : kind === 'expired' ? OfferExpiredRef : OfferNotFoundRef;
  },
});

const DeclineRideResult = builder.unionType('DeclineRideResult', {
  description: 'The answer to declineRide.',
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
    args: { rideId: t.arg.id({ required: true, description: 'The ride of the offer.' }) },
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
    description: 'Driver: decline an offer; the ride goes on to other drivers. Asking again gives the same answer.',
    args: { rideId: t.arg.id({ required: true, description: 'The ride of the offer.' }) },
    resolve: async (_root, { rideId }, ctx) => {
      const driver = await requireDriver(ctx);
      return ctx.services.assignment.decline(driver.id, String(rideId), requestLog(ctx));
    },
  }),
);
