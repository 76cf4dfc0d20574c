// The operator's API (role admin): drivers and rides as cursor connections with filters, one
// driver's live state (Redis and Postgres side by side), suspending and reinstating drivers, and
// the audit log every admin change is written to.
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from '@pothos/plugin-relay';
import { reinstateDriver, suspendDriver } from '../admin/suspension.ts';
import type { AuditEntry } from '../admin/audit.ts';
import type { DriverLiveState, DriverStanding } from '../admin/directory.ts';
import type { CarType, RideStatus } from '../generated/prisma/enums.ts';
import type { RideView } from '../match/ride-view.ts';
import type { DriverProfile } from '../registry/registry.ts';
import { cleanText } from '../input.ts';
import { validateId } from '../registry/registry.ts';
import { audited, requireRole } from './access.ts';
import { builder } from './builder.ts';
import { CarTypeEnum, DriverRef } from './registry.ts';
import { RideRef, RideStatusEnum } from './ride.ts';

const PAGE = { defaultSize: 20, maxSize: 100 };
/** A page costs in proportion to its size: the connection's `edges` list already counts ×10. */
const pageCost = (args: { first?: number | null; last?: number | null }) => ({ field: 5, multiplier: Math.max(1, Math.ceil((args.first ?? args.last ?? PAGE.defaultSize) / 10)) });

const DriverStandingEnum = builder.enumType('DriverStanding', {
  description: "A driver's standing for the admin's filter.",
  values: {
    AVAILABLE: { description: 'Active and on duty.' },
    OFFLINE: { description: 'Active, off duty.' },
    SUSPENDED: { description: 'Suspended by an admin.' },
  },
});

const DriverFilterInput = builder.inputType('DriverFilter', {
  description: 'Narrows the driver list; every field is optional.',
  fields: (t) => ({
    status: t.field({ type: DriverStandingEnum, description: 'Duty or suspension.' }),
    carType: t.field({ type: CarTypeEnum, description: 'Only this car type.' }),
    region: t.string({ description: 'Only drivers indexed in this H3 region (resolution 5) and heard from lately.' }),
    online: t.boolean({ description: 'Heard from within the liveness window (true) or not (false).' }),
  }),
});

const RideFilterInput = builder.inputType('RideFilter', {
  description: 'Narrows the ride list; every field is optional.',
  fields: (t) => ({
    status: t.field({ type: RideStatusEnum, description: 'Only rides in this status.' }),
    from: t.field({ type: 'DateTime', description: 'Requested at or after this.' }),
    to: t.field({ type: 'DateTime', description: 'Requested before this.' }),
    riderId: t.id({ description: "Only this rider's rides." }),
    driverId: t.id({ description: "Only rides this driver was assigned." }),
  }),
});

const pageOf = (args: ResolveCursorConnectionArgs) => ({ after: args.after, before: args.before, limit: args.limit, inverted: args.inverted });

builder.queryField('drivers', (t) =>
  t.connection({
    type: DriverRef,
    description: 'Admin: registered drivers, by id, with filters.',
    args: { filter: t.arg({ type: DriverFilterInput, description: 'Optional filters.' }) },
    complexity: pageCost,
    resolve: (_root, args, ctx) => {
      requireRole(ctx, 'admin');
      const filter = args.filter ?? {};
      return resolveCursorConnection<Promise<DriverProfile[]>>({ args, ...PAGE, toCursor: (d) => d.id }, (page) =>
        ctx.services.directory.drivers(
          { status: filter.status as DriverStanding | null, carType: filter.carType as CarType | null, region: filter.region, online: filter.online },
          pageOf(page),
        ),
      );
    },
  }),
);

builder.queryField('rides', (t) =>
  t.connection({
    type: RideRef,
    description: 'Admin: rides, newest first, with filters.',
    args: { filter: t.arg({ type: RideFilterInput, description: 'Optional filters.' }) },
    complexity: pageCost,
    resolve: (_root, args, ctx) => {
      requireRole(ctx, 'admin');
      const f = args.filter ?? {};
      return resolveCursorConnection<Promise<RideView[]>>({ args, ...PAGE, toCursor: (r) => `${r.requestedAt.toISOString()}|${r.id}` }, (page) =>
        ctx.services.directory.rides(
          {
            status: f.status as RideStatus | null,
            from: f.from,
            to: f.to,
            riderId: f.riderId === null || f.riderId === undefined ? null : String(f.riderId),
            driverId: f.driverId === null || f.driverId === undefined ? null : String(f.driverId),
          },
          pageOf(page),
        ),
      );
    },
  }),
);

const RedisSideRef = builder.objectRef<NonNullable<DriverLiveState['redis']>>('DriverRecordState').implement({
  description: "A driver's record in Redis (the fast path; healed from Postgres when they disagree).",
  fields: (t) => ({
    state: t.exposeString('state', { nullable: true, description: 'UNKNOWN, FREE, OFFERED or ON_RIDE.' }),
    rideId: t.exposeID('rideId', { nullable: true, description: 'The ride the record holds the driver for.' }),
    region: t.exposeString('region', { nullable: true, description: 'The H3 region the driver is indexed in.' }),
    duty: t.exposeString('duty', { nullable: true, description: 'AVAILABLE or OFFLINE.' }),
    silentForMs: t.exposeInt('silentForMs', { nullable: true, description: 'Since the last ping, by Redis\' clock.' }),
    lat: t.exposeFloat('lat', { nullable: true, description: 'Last reported latitude.' }),
    lng: t.exposeFloat('lng', { nullable: true, description: 'Last reported longitude.' }),
  }),
});

const PostgresSideRef = builder.objectRef<DriverLiveState['postgres']>('DriverTruthState').implement({
  description: 'What Postgres, the truth, says about a driver.',
  fields: (t) => ({
    duty: t.exposeString('duty', { description: 'AVAILABLE or OFFLINE.' }),
    suspendReason: t.exposeString('suspendReason', { nullable: true, description: 'Set while suspended.' }),
    rideId: t.exposeID('rideId', { nullable: true, description: 'The trip the driver is on.' }),
    rideStatus: t.exposeString('rideStatus', { nullable: true, description: "That trip's status." }),
    offeredRideId: t.exposeID('offeredRideId', { nullable: true, description: 'A ride the driver holds a live offer for.' }),
  }),
});

const DriverLiveStateRef = builder.objectRef<DriverLiveState>('DriverLiveState').implement({
  description: "One driver's live state, Redis and Postgres side by side.",
  fields: (t) => ({
    driverId: t.exposeID('driverId', { description: 'The driver.' }),
    postgres: t.field({ type: PostgresSideRef, description: 'The truth.', resolve: (s) => s.postgres }),
    redis: t.field({ type: RedisSideRef, nullable: true, description: 'The fast path (null when the record is gone).', resolve: (s) => s.redis }),
    consistent: t.exposeBoolean('consistent', { description: 'Whether both agree on what the driver is doing.' }),
  }),
});

builder.queryField('driverState', (t) =>
  t.field({
    type: DriverLiveStateRef,
    nullable: true,
    description: "Admin: one driver's live state in Redis and Postgres.",
    args: { driverId: t.arg.id({ required: true, description: 'The driver.' }) },
    resolve: (_root, { driverId }, ctx) => {
      requireRole(ctx, 'admin');
      validateId('driverId', String(driverId));
      return ctx.services.directory.driverState(String(driverId));
    },
  }),
);

const AuditEntryRef = builder.objectRef<AuditEntry>('AuditEntry').implement({
  description: 'One admin change.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Increasing with time.' }),
    adminId: t.exposeID('adminId', { description: 'Who.' }),
    action: t.exposeString('action', { description: 'What (the mutation).' }),
    target: t.exposeString('target', { description: 'On what, e.g. driver:d-1, ride:<id>, tariff:ECONOMY.' }),
    before: t.field({ type: 'JSON', nullable: true, description: 'The target before the change.', resolve: (e) => e.before }),
    after: t.field({ type: 'JSON', nullable: true, description: 'The target after it (or {failed: reason}); null while it runs.', resolve: (e) => e.after }),
    at: t.expose('at', { type: 'DateTime', description: 'When.' }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.connection({
    type: AuditEntryRef,
    description: 'Admin: every admin change, newest first.',
    args: { target: t.arg.string({ description: 'Only changes to this target (e.g. driver:d-1).' }) },
    complexity: pageCost,
    resolve: (_root, args, ctx) => {
      requireRole(ctx, 'admin');
      return resolveCursorConnection<Promise<AuditEntry[]>>({ args, ...PAGE, toCursor: (e) => e.id }, async ({ after, limit, inverted }) =>
        inverted ? [] : ctx.services.audit.list({ target: args.target, after, limit }),
      );
    },
  }),
);

builder.mutationField('suspendDriver', (t) =>
  t.field({
    type: DriverRef,
    description: 'Admin: suspend a driver: out of search at once, live offers revoked, told on its feed; cannot go AVAILABLE until reinstated.',
    args: {
      driverId: t.arg.id({ required: true, description: 'The driver.' }),
      reason: t.arg.string({ required: true, description: 'Why (1-200 characters); shown to the driver.' }),
    },
    resolve: (_root, { driverId, reason }, ctx) => {
      requireRole(ctx, 'admin');
      const id = String(driverId);
      validateId('driverId', id);
      const why = cleanText('reason', reason, 200);
      return audited(ctx, 'suspendDriver', `driver:${id}`, () => ctx.services.registry.driver(id), async () => (await suspendDriver(ctx.services, id, why)).after);
    },
  }),
);

builder.mutationField('reinstateDriver', (t) =>
  t.field({
    type: DriverRef,
    description: 'Admin: lift a suspension (the driver is told, and goes AVAILABLE when it chooses).',
    args: { driverId: t.arg.id({ required: true, description: 'The driver.' }) },
    resolve: (_root, { driverId }, ctx) => {
      requireRole(ctx, 'admin');
      const id = String(driverId);
      validateId('driverId', id);
      return audited(ctx, 'reinstateDriver', `driver:${id}`, () => ctx.services.registry.driver(id), async () => (await reinstateDriver(ctx.services, id)).after);
    },
  }),
);
