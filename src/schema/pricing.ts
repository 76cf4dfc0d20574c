// Prices: tariffs per car type, fare estimates before requesting, and the surge behind them.
import type { CarType } from '../generated/prisma/enums.ts';
import type { Estimate } from '../pricing/estimates.ts';
import type { Tariff } from '../pricing/fare.ts';
import type { SurgeReading } from '../pricing/surge.ts';
import { validatePoint } from '../geo/location-input.ts';
import { audited, requireRider, requireRole } from './access.ts';
import { builder } from './builder.ts';
import { PositionRef } from './location.ts';
import { CarTypeEnum } from './registry.ts';
import { PointInput } from './ride.ts';

const money = 'in minor units of `currency` (paise, cents)';

export const TariffRef = builder.objectRef<Tariff>('Tariff').implement({
  description: `What a ride of a car type costs; amounts ${money}.`,
  fields: (t) => ({
    carType: t.field({ type: CarTypeEnum, description: 'The car type this tariff prices.', resolve: (x) => x.carType }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code, e.g. INR.' }),
    baseFare: t.exposeInt('baseFare', { description: `Charged on every ride, ${money}.` }),
    perKm: t.exposeInt('perKm', { description: `Per kilometre of road distance, ${money}.` }),
    perMinute: t.exposeInt('perMinute', { description: `Per minute of trip time, ${money}.` }),
    minimumFare: t.exposeInt('minimumFare', { description: `No ride costs less, ${money}.` }),
  }),
});

const FareEstimateRef = builder.objectRef<Estimate>('FareEstimate').implement({
  description: 'A price quoted before requesting. Pass its id to requestRide to be charged at most its total while it is valid.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Give this to requestRide as input.estimateId.' }),
    carType: t.field({ type: CarTypeEnum, description: 'The car type priced.', resolve: (e) => e.carType }),
    pickup: t.field({ type: PositionRef, description: 'Where the trip starts.', resolve: (e) => e.pickup }),
    dropoff: t.field({ type: PositionRef, description: 'Where the trip ends.', resolve: (e) => e.dropoff }),
    distanceKm: t.exposeFloat('distanceKm', { description: 'Expected road distance: the straight line times the detour factor (no routing engine).' }),
    durationMin: t.exposeFloat('durationMin', { description: 'Expected duration at the average speed.' }),
    baseFare: t.exposeInt('baseFare', { description: `The tariff's base fare, ${money}.` }),
    distanceFare: t.exposeInt('distanceFare', { description: `Distance × the tariff's per-km rate, ${money}.` }),
    timeFare: t.exposeInt('timeFare', { description: `Duration × the tariff's per-minute rate, ${money}.` }),
    surgeMultiplier: t.exposeFloat('surgeMultiplier', { description: 'Applied to the sum above: 1.0 without surge, at most the surge cap.' }),
    total: t.exposeInt('total', { description: `What the ride costs at most, ${money}.` }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code of every amount.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'After this, requestRide refuses the estimate (ESTIMATE_EXPIRED).' }),
  }),
});

const SurgeCellRef = builder.objectRef<SurgeReading>('SurgeCell').implement({
  description: 'The surge last computed for an H3 cell (resolution 7) and car type.',
  fields: (t) => ({
    cell: t.exposeString('cell', { description: 'H3 cell index, resolution 7 (about 5 km²).' }),
    carType: t.field({ type: CarTypeEnum, description: 'The car type it applies to.', resolve: (s) => s.carType }),
    multiplier: t.exposeFloat('multiplier', { description: 'Smoothed, stepped and capped multiplier.' }),
    supply: t.exposeInt('supply', {
      description:
        'Available drivers of that car type in the cell and its neighbours, counted until they reach the demand (more cannot change the price): a figure above the demand is a lower bound.',
    }),
    demand: t.exposeInt('demand', { description: 'Rides of that car type requested there within the demand window.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true, description: 'When it was computed.' }),
  }),
});

const EstimateRideInput = builder.inputType('EstimateRideInput', {
  description: 'The trip to price.',
  fields: (t) => ({
    pickup: t.field({ type: PointInput, required: true, description: 'Where the rider is picked up.' }),
    dropoff: t.field({ type: PointInput, required: true, description: 'Where the rider is dropped off (not the pickup).' }),
    carType: t.field({ type: CarTypeEnum, required: true, description: 'The car type wanted.' }),
  }),
});

builder.mutationField('estimateRide', (t) =>
  t.field({
    type: FareEstimateRef,
    description: 'Rider: price a trip now (tariff, distance, time, surge). The estimate is kept for a few minutes for requestRide.',
    args: { input: t.arg({ type: EstimateRideInput, required: true, description: 'The trip.' }) },
    resolve: async (_root, { input }, ctx) => {
      const rider = await requireRider(ctx);
      return ctx.services.estimates.estimate(rider.id, { pickup: input.pickup, dropoff: input.dropoff, carType: input.carType as CarType });
    },
  }),
);

builder.queryField('tariffs', (t) =>
  t.field({
    type: [TariffRef],
    description: 'Anyone signed in: the tariff of every car type.',
    resolve: (_root, _args, ctx) => {
      requireRole(ctx, 'rider', 'driver', 'admin');
      return ctx.services.tariffs.all();
    },
  }),
);

builder.queryField('surgeCells', (t) =>
  t.field({
    type: [SurgeCellRef],
    description: 'Admin: the current surge of the cells around a point (the cell and its neighbours), per car type.',
    args: {
      lat: t.arg.float({ required: true, description: 'Latitude of the point.' }),
      lng: t.arg.float({ required: true, description: 'Longitude of the point.' }),
    },
    resolve: (_root, args, ctx) => {
      requireRole(ctx, 'admin');
      validatePoint(args);
      return ctx.services.surge.around(args.lat, args.lng);
    },
  }),
);

const TariffInput = builder.inputType('TariffInput', {
  description: `A tariff's amounts, ${money}.`,
  fields: (t) => ({
    currency: t.string({ required: true, description: 'ISO 4217 code, e.g. INR.' }),
    baseFare: t.int({ required: true, description: 'Charged on every ride.' }),
    perKm: t.int({ required: true, description: 'Per kilometre.' }),
    perMinute: t.int({ required: true, description: 'Per minute.' }),
    minimumFare: t.int({ required: true, description: 'The least a ride costs.' }),
  }),
});

builder.mutationField('setTariff', (t) =>
  t.field({
    type: TariffRef,
    description: 'Admin: change the tariff of a car type (new estimates use it at once; quoted rides keep their quote).',
    args: {
      carType: t.arg({ type: CarTypeEnum, required: true, description: 'The car type.' }),
      input: t.arg({ type: TariffInput, required: true, description: 'The new amounts.' }),
    },
    resolve: (_root, { carType, input }, ctx) =>
      audited(ctx, 'setTariff', `tariff:${carType}`, () => ctx.services.tariffs.of(carType as CarType), async () => {
        const { after } = await ctx.services.tariffs.set(carType as CarType, input, ctx.identity!.id);
        return after;
      }),
  }),
);
