// Operators' views (role admin): matching analytics over a time window from the ride history,
// and the live city map as a subscription of snapshots. Thin: admin/analytics.ts and
// admin/city-map.ts do the work.
import type { AnalyticsWindow, CellSupplyDemand, MatchingSummary, Percentiles } from '../admin/analytics.ts';
import type { MapAssignment, MapCell, MapDriver, MapLine, MapRide, MapSnapshot } from '../admin/city-map.ts';
import type { BoundingBox } from '../geo/cells.ts';
import { requireRole } from './access.ts';
import { builder } from './builder.ts';
import { PositionRef } from './location.ts';

const START_DEFINITION =
  'A ride starts at its REQUESTED history entry, or at DISPATCH_STARTED for a ride booked ahead (its matching begins then).';

const AnalyticsWindowInput = builder.inputType('AnalyticsWindow', {
  description: 'Which rides the figures are about: those requested in [from, to), optionally picked up in one region.',
  fields: (t) => ({
    from: t.field({ type: 'DateTime', required: true, description: 'Requested at or after this.' }),
    to: t.field({ type: 'DateTime', required: true, description: 'Requested before this (at most ANALYTICS_MAX_WINDOW_DAYS after from).' }),
    region: t.string({ description: 'Only rides picked up in this H3 region (resolution 5).' }),
  }),
});

const PercentilesRef = builder.objectRef<Percentiles>('DurationPercentiles').implement({
  description: 'Percentiles of a duration over rides (percentile_cont: interpolated between the two nearest rides).',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'How many rides the percentiles are over.' }),
    p50Ms: t.exposeFloat('p50Ms', { nullable: true, description: 'Median, milliseconds (null without rides).' }),
    p90Ms: t.exposeFloat('p90Ms', { nullable: true, description: '90th percentile, milliseconds.' }),
    p99Ms: t.exposeFloat('p99Ms', { nullable: true, description: '99th percentile, milliseconds.' }),
  }),
});

const CellSupplyDemandRef = builder.objectRef<CellSupplyDemand>('CellSupplyDemand').implement({
  description: "Demand and supply in one H3 cell (resolution 7, the rides' pickup cell) over the window.",
  fields: (t) => ({
    cell: t.exposeString('cell', { description: 'The H3 cell (resolution 7).' }),
    demand: t.exposeInt('demand', { description: 'Rides requested with their pickup in the cell.' }),
    supply: t.exposeInt('supply', {
      description: 'Distinct drivers offered at least one of those rides (Postgres keeps no positions: the drivers matching found near the pickup and free).',
    }),
  }),
});

interface AnalyticsParent {
  window: AnalyticsWindow;
  summary: MatchingSummary;
}

const MatchingAnalyticsRef = builder.objectRef<AnalyticsParent>('MatchingAnalytics').implement({
  description: 'Matching figures for the rides requested in a window (and region), computed in Postgres from the ride history and offers.',
  fields: (t) => ({
    ridesRequested: t.int({ description: 'Rides requested in the window.', resolve: (p) => p.summary.ridesRequested }),
    timeToFirstOffer: t.field({
      type: PercentilesRef,
      description: `From the ride's start to its first ROUND_STARTED history entry (the first offers went out). ${START_DEFINITION} Rides without both entries are left out.`,
      resolve: (p) => p.summary.timeToFirstOffer,
    }),
    timeToAssignment: t.field({
      type: PercentilesRef,
      description: `From the ride's start to its ASSIGNED history entry. ${START_DEFINITION} Rides never assigned are left out.`,
      resolve: (p) => p.summary.timeToAssignment,
    }),
    offersMade: t.int({ description: "Offers made for these rides (RideOffer rows, every round's).", resolve: (p) => p.summary.offersMade }),
    offersAccepted: t.int({ description: 'Of those, the ACCEPTED ones.', resolve: (p) => p.summary.offersAccepted }),
    acceptanceRate: t.float({
      nullable: true,
      description: 'Acceptance per offer: offersAccepted / offersMade (null without offers).',
      resolve: (p) => p.summary.acceptanceRate,
    }),
    ridesWithoutDriver: t.int({ description: 'Rides that ended without a driver (a NO_DRIVERS_AVAILABLE history entry).', resolve: (p) => p.summary.ridesWithoutDriver }),
    cancelledByRider: t.int({
      description: 'Rides the rider cancelled: a CANCELLED (while searching) or ASSIGNMENT_CANCELLED (after assignment) history entry.',
      resolve: (p) => p.summary.cancelledByRider,
    }),
    cancelledByOperator: t.int({ description: 'Rides an operator ended with forceCancelRide (a FORCE_CANCELLED history entry).', resolve: (p) => p.summary.cancelledByOperator }),
    cells: t.field({
      type: [CellSupplyDemandRef],
      description: 'Demand and supply per pickup cell (H3 resolution 7), busiest first.',
      args: { first: t.arg.int({ defaultValue: 50, description: 'How many cells (1-1000).' }) },
      complexity: (args) => ({ field: 10, multiplier: Math.max(1, Math.ceil((args.first ?? 50) / 10)) }),
      resolve: (p, { first }, ctx) => ctx.services.analytics.cells(p.window, Math.min(1000, Math.max(1, first ?? 50))),
    }),
  }),
});

builder.queryField('matchingAnalytics', (t) =>
  t.field({
    type: MatchingAnalyticsRef,
    description: 'Admin: matching analytics for the rides requested in a window (optionally one region).',
    args: { window: t.arg({ type: AnalyticsWindowInput, required: true, description: 'The rides the figures are about.' }) },
    complexity: { field: 20 },
    resolve: async (_root, { window }, ctx) => {
      requireRole(ctx, 'admin');
      const w: AnalyticsWindow = { from: window.from, to: window.to, region: window.region ?? null };
      return { window: w, summary: await ctx.services.analytics.summary(w) };
    },
  }),
);

const BoundingBoxInput = builder.inputType('BoundingBoxInput', {
  description: 'A box on the map, in degrees (west < east; boxes across the antimeridian are not served).',
  fields: (t) => ({
    south: t.float({ required: true, description: 'Southern edge (latitude).' }),
    west: t.float({ required: true, description: 'Western edge (longitude).' }),
    north: t.float({ required: true, description: 'Northern edge (latitude).' }),
    east: t.float({ required: true, description: 'Eastern edge (longitude).' }),
  }),
});

const BoundingBoxRef = builder.objectRef<BoundingBox>('BoundingBox').implement({
  description: 'A box on the map, in degrees.',
  fields: (t) => ({
    south: t.exposeFloat('south', { description: 'Southern edge (latitude).' }),
    west: t.exposeFloat('west', { description: 'Western edge (longitude).' }),
    north: t.exposeFloat('north', { description: 'Northern edge (latitude).' }),
    east: t.exposeFloat('east', { description: 'Eastern edge (longitude).' }),
  }),
});

const CityMapLevelEnum = builder.enumType('CityMapLevel', {
  description: 'How much a snapshot shows.',
  values: {
    REGION: { description: 'Counts per H3 region (resolution 5): live drivers (Redis) and searching rides.' },
    CELL: { description: 'Counts per H3 cell (resolution 7): live drivers and searching rides.' },
    DETAIL: { description: 'Each driver, searching ride, offer and assignment.' },
  },
});

const MapDriverStateEnum = builder.enumType('MapDriverState', {
  description: "A driver's state on the map (from Postgres: live offers and trips).",
  values: {
    FREE: { description: 'Online, holding no offer and on no trip.' },
    OFFERED: { description: 'Holding a live offer.' },
    ON_TRIP: { description: 'Assigned, arrived at the pickup, or driving the rider.' },
  },
});

const MapCellRef = builder.objectRef<MapCell>('MapCell').implement({
  description: 'One H3 cell of an aggregated snapshot.',
  fields: (t) => ({
    cell: t.exposeString('cell', { description: 'The H3 cell.' }),
    resolution: t.exposeInt('resolution', { description: 'Its resolution (5 for regions, 7 for cells).' }),
    drivers: t.exposeInt('drivers', { description: 'Live drivers in it (REGION: the whole region; CELL: those in the view).' }),
    searchingRides: t.exposeInt('searchingRides', { description: 'Searching rides picked up in it, within the view.' }),
  }),
});

const MapDriverRef = builder.objectRef<MapDriver>('MapDriver').implement({
  description: 'A live driver on the map.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The driver.' }),
    lat: t.exposeFloat('lat', { description: 'Last reported latitude.' }),
    lng: t.exposeFloat('lng', { description: 'Last reported longitude.' }),
    state: t.field({ type: MapDriverStateEnum, description: 'Free, offered or on a trip.', resolve: (d) => d.state }),
  }),
});

const MapRideRef = builder.objectRef<MapRide>('MapRide').implement({
  description: 'A ride searching for a driver.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The ride.' }),
    lat: t.exposeFloat('lat', { description: 'Pickup latitude.' }),
    lng: t.exposeFloat('lng', { description: 'Pickup longitude.' }),
    round: t.exposeInt('round', { description: 'Offer round under way (0 before the first).' }),
  }),
});

const MapOfferRef = builder.objectRef<MapLine>('MapOffer').implement({
  description: 'A live offer, drawn from the driver to the pickup (for drivers in the view).',
  fields: (t) => ({
    rideId: t.exposeID('rideId', { description: 'The ride offered.' }),
    driverId: t.exposeID('driverId', { description: 'The driver holding the offer.' }),
    from: t.field({ type: PositionRef, description: "The driver's position.", resolve: (l) => l.from }),
    to: t.field({ type: PositionRef, description: 'The pickup.', resolve: (l) => l.to }),
  }),
});

const MapAssignmentRef = builder.objectRef<MapAssignment>('MapAssignment').implement({
  description: 'A ride with its driver, drawn from the driver to the pickup (to the dropoff once the trip is under way).',
  fields: (t) => ({
    rideId: t.exposeID('rideId', { description: 'The ride.' }),
    driverId: t.exposeID('driverId', { description: 'Its driver.' }),
    status: t.exposeString('status', { description: 'ASSIGNED, DRIVER_ARRIVED or IN_PROGRESS.' }),
    from: t.field({ type: PositionRef, description: "The driver's position.", resolve: (l) => l.from }),
    to: t.field({ type: PositionRef, description: 'The pickup, or the dropoff while IN_PROGRESS.', resolve: (l) => l.to }),
  }),
});

const CityMapSnapshotRef = builder.objectRef<MapSnapshot>('CityMapSnapshot').implement({
  description: 'What the map shows of a view at one moment. Lists a level does not use are empty.',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'When it was computed.' }),
    level: t.field({ type: CityMapLevelEnum, description: 'REGION, CELL or DETAIL: the finest the zoom asked for that fits the caps.', resolve: (s) => s.level }),
    bbox: t.field({ type: BoundingBoxRef, description: 'The box served (the centre of the one asked for when it was too wide).', resolve: (s) => s.bbox }),
    narrowed: t.exposeBoolean('narrowed', { description: 'Whether the box asked for was wider than CITY_MAP_MAX_REGIONS regions and was narrowed.' }),
    liveDrivers: t.exposeInt('liveDrivers', { description: 'Live drivers in the regions the box touches.' }),
    cells: t.field({ type: [MapCellRef], description: 'REGION and CELL levels: counts per cell (at most CITY_MAP_MAX_ITEMS).', resolve: (s) => s.cells }),
    drivers: t.field({ type: [MapDriverRef], description: 'DETAIL: live drivers in the view.', resolve: (s) => s.drivers }),
    rides: t.field({ type: [MapRideRef], description: 'DETAIL: searching rides picked up in the view.', resolve: (s) => s.rides }),
    offers: t.field({ type: [MapOfferRef], description: 'DETAIL: live offers of the drivers in the view.', resolve: (s) => s.offers }),
    assignments: t.field({ type: [MapAssignmentRef], description: 'DETAIL: trips of the drivers in the view.', resolve: (s) => s.assignments }),
  }),
});

builder.subscriptionField('cityMap', (t) =>
  t.field({
    type: CityMapSnapshotRef,
    description:
      'Admin: snapshots of a map view, at most one per CITY_MAP_INTERVAL_MS, computed only while subscribed. Resubscribe to move the view.',
    args: {
      bbox: t.arg({ type: BoundingBoxInput, required: true, description: 'The view.' }),
      zoom: t.arg.int({ required: true, description: 'Web map zoom (0-24): below CITY_MAP_CELL_ZOOM regions, from CITY_MAP_DETAIL_ZOOM on each driver.' }),
    },
    subscribe: (_root, { bbox, zoom }, ctx) => {
      requireRole(ctx, 'admin');
      return ctx.services.cityMap.watch(bbox, zoom);
    },
    resolve: (snapshot) => snapshot,
  }),
);
