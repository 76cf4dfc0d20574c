// Fares, in integer minor units of the tariff's currency. Pure functions: the estimate, the quote
// at request time and the fare charged at the end all come from here.
//
// There is no routing engine: the road distance is the straight line times a detour factor, and
// the duration that distance at an average speed. The fare charged at completion is metered from
// the distance actually driven (the accepted location updates while IN_PROGRESS) and the minutes
// it took, at the quote's surge, and then capped by the quote (the stated policy: a rider never
// pays more than they were quoted, and never less than the tariff's minimum fare).
import type { PricingPolicy } from '../config.ts';
import type { CarType } from '../generated/prisma/enums.ts';
import { haversineKm } from '../geo/cells.ts';
import type { LatLng } from '../match/ride-view.ts';

export interface Tariff {
  carType: CarType;
  currency: string;
  baseFare: number;
  perKm: number;
  perMinute: number;
  minimumFare: number;
}

export interface FareBreakdown {
  distanceKm: number;
  durationMin: number;
  baseFare: number;
  distanceFare: number;
  timeFare: number;
  surgeMultiplier: number;
  total: number;
  currency: string;
}

const twoDecimals = (x: number) => Math.round(x * 100) / 100;

/** The expected trip: road distance (km) and duration (minutes). */
export function expectedTrip(pickup: LatLng, dropoff: LatLng, policy: Pick<PricingPolicy, 'detourFactor' | 'averageSpeedKmh'>) {
  const distanceKm = haversineKm(pickup.lat, pickup.lng, dropoff.lat, dropoff.lng) * policy.detourFactor;
  return { distanceKm: twoDecimals(distanceKm), durationMin: twoDecimals((distanceKm / policy.averageSpeedKmh) * 60) };
}

/** The price of a trip of this distance and duration at this surge. */
export function price(tariff: Tariff, distanceKm: number, durationMin: number, surgeMultiplier: number): FareBreakdown {
  const distanceFare = Math.round(tariff.perKm * distanceKm);
  const timeFare = Math.round(tariff.perMinute * durationMin);
  const total = Math.max(tariff.minimumFare, Math.round((tariff.baseFare + distanceFare + timeFare) * surgeMultiplier));
  return { distanceKm, durationMin, baseFare: tariff.baseFare, distanceFare, timeFare, surgeMultiplier, total, currency: tariff.currency };
}

/** What the rider pays at the end: metered, at the quote's surge, capped by the quote. */
export function chargedFare(tariff: Tariff, quote: { total: number; surgeMultiplier: number }, travelledKm: number, tripMinutes: number): number {
  const metered = price(tariff, travelledKm, tripMinutes, quote.surgeMultiplier).total;
  return Math.max(tariff.minimumFare, Math.min(metered, quote.total));
}

/** Straight-line minutes from a position to a target at the average speed. */
export function etaMinutes(from: LatLng, to: LatLng, averageSpeedKmh: number): number {
  return Math.ceil((haversineKm(from.lat, from.lng, to.lat, to.lng) / averageSpeedKmh) * 60);
}
