// Driver positions: updateDriverLocation (sent every ~10 s over the driver's socket), duty, and
// the admin's view of who is near a point.
import { DriverDuty } from '../generated/prisma/enums.ts';
import { validatePoint } from '../geo/location-input.ts';
import type { Candidate, LocationAck } from '../geo/location-index.ts';
import { setDriverStatus } from '../drivers/duty.ts';
import { badInput } from '../errors.ts';
import { requireDriver, requireRole } from './access.ts';
import { builder } from './builder.ts';
import { DriverRef, DriverStatusEnum } from './registry.ts';

export const PositionRef = builder.objectRef<{ lat: number; lng: number }>('Position').implement({
  description: 'A point on the map (WGS 84).',
  fields: (t) => ({
    lat: t.exposeFloat('lat', { description: 'Latitude in degrees.' }),
    lng: t.exposeFloat('lng', { description: 'Longitude in degrees.' }),
  }),
});

const LocationAckRef = builder.objectRef<LocationAck>('LocationAck').implement({
  description: 'What became of a location report.',
  fields: (t) => ({
    driverId: t.exposeID('driverId', { description: 'The reporting driver (from the token).' }),
    cell: t.exposeString('cell', { description: 'H3 cell (resolution 8) of the reported position.' }),
    region: t.exposeString('region', { description: 'H3 region (resolution 5, ≈250 km²): the unit of sharding.' }),
    acceptedAt: t.expose('acceptedAt', { type: 'DateTime', description: "When the server took the report (the server's clock)." }),
    outOfOrder: t.exposeBoolean('outOfOrder', {
      description: 'True when a report with the same or a later recordedAt was already accepted: this one changed nothing.',
    }),
    searchable: t.exposeBoolean('searchable', { description: 'False while the driver is OFFLINE.' }),
  }),
});

const LocationInput = builder.inputType('LocationInput', {
  description: "A driver's position fix. A bad value is INVALID_LOCATION naming the field; nothing is written.",
  fields: (t) => ({
    lat: t.float({ required: true, description: 'Latitude, within ±85.05112878 (Redis GEO limit).' }),
    lng: t.float({ required: true, description: 'Longitude, within ±180.' }),
    heading: t.float({ description: 'Degrees clockwise from north, [0, 360).' }),
    speedKmh: t.float({ description: 'Speed in km/h, [0, 400].' }),
    accuracyM: t.float({ description: 'Horizontal accuracy in metres, (0, 10000].' }),
    recordedAt: t.field({
      type: 'DateTime',
      required: true,
      description: "When the device took the fix: at most 5 s ahead of the server's clock, and no older than the liveness window (30 s by default).",
    }),
  }),
});

builder.mutationField('updateDriverLocation', (t) =>
  t.field({
    type: LocationAckRef,
    description:
      "Driver: report the current position (every ~10 s). A driver not heard from for 30 s is not offered rides. " +
      'Reports older than the last accepted one are ignored (outOfOrder).',
    args: { input: t.arg({ type: LocationInput, required: true, description: 'The position fix.' }) },
    resolve: async (_root, { input }, ctx) => {
      const driver = await requireDriver(ctx);
      const ack = await ctx.services.locations.report(driver, input);
      if (ack.onRide && !ack.outOfOrder) ctx.services.tracking.moved(ack.onRide, driver.id, { lat: input.lat, lng: input.lng, at: input.recordedAt });
      return ack;
    },
  }),
);

builder.mutationField('setDriverStatus', (t) =>
  t.field({
    type: DriverRef,
    description: 'Driver: go OFFLINE (out of search at once, live offers revoked) or AVAILABLE again.',
    args: { status: t.arg({ type: DriverStatusEnum, required: true, description: 'The new status.' }) },
    resolve: async (_root, { status }, ctx) => {
      const driver = await requireDriver(ctx);
      return setDriverStatus(ctx.services, driver.id, status as DriverDuty);
    },
  }),
);

const NearbyDriverRef = builder.objectRef<Candidate>('NearbyDriver').implement({
  description: 'A live, available driver near the searched point.',
  fields: (t) => ({
    driverId: t.exposeID('driverId', { description: "The driver's id." }),
    driver: t.field({
      type: DriverRef,
      nullable: true,
      description: 'The profile (null if the driver is no longer registered).',
      resolve: (c, _args, ctx) => ctx.services.registry.driver(c.driverId),
    }),
    distanceKm: t.exposeFloat('distanceKm', { description: 'Straight-line distance from the searched point, in km.' }),
    position: t.field({ type: PositionRef, description: 'The last reported position.', resolve: (c) => ({ lat: c.lat, lng: c.lng }) }),
    lastSeenAt: t.field({ type: 'DateTime', description: 'When the server last heard from the driver.', resolve: (c) => new Date(c.lastSeenAt) }),
  }),
});

export const MAX_NEARBY_RADIUS_KM = 50;
export const MAX_NEARBY_LIMIT = 500;


builder.queryField('nearbyDrivers', (t) =>
  t.field({
    type: [NearbyDriverRef],
    description: 'Admin: the nearest live, available drivers around a point, nearest first.',
    // Cost grows with how many drivers (and their sub-selections) may come back.
    complexity: (args) => ({ field: 5, multiplier: Math.max(1, args.limit ?? 20) }),
    args: {
      lat: t.arg.float({ required: true, description: 'Latitude of the centre.' }),
      lng: t.arg.float({ required: true, description: 'Longitude of the centre.' }),
      radiusKm: t.arg.float({ required: true, description: `Search radius in km, up to ${MAX_NEARBY_RADIUS_KM}.` }),
      limit: t.arg.int({ required: false, defaultValue: 20, description: `At most this many drivers, 1 to ${MAX_NEARBY_LIMIT}.` }),
    },
    resolve: async (_root, args, ctx) => {
      requireRole(ctx, 'admin');
      validatePoint(args);
      if (!(args.radiusKm > 0 && args.radiusKm <= MAX_NEARBY_RADIUS_KM)) throw badInput('radiusKm', `must be in (0, ${MAX_NEARBY_RADIUS_KM}]`);
      const limit = args.limit ?? 20;
      if (limit < 1 || limit > MAX_NEARBY_LIMIT) throw badInput('limit', `must be in [1, ${MAX_NEARBY_LIMIT}]`);
      return ctx.services.locations.search({
        lat: args.lat,
        lng: args.lng,
        startRadiusKm: Math.min(0.5, args.radiusKm),
        maxRadiusKm: args.radiusKm,
        limit,
      });
    },
  }),
);
