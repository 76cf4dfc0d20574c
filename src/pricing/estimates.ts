// Fare estimates: a price quoted before requesting, stored so requestRide can honour it, and the
// quote every ride is requested with (from the rider's estimate while it is valid and matches,
// or priced at request time).
import { randomUUID } from 'node:crypto';
import type { PricingPolicy } from '../config.ts';
import type { Db } from '../db/client.ts';
import { badInput, DomainError, notFound } from '../errors.ts';
import type { CarType } from '../generated/prisma/enums.ts';
import { haversineKm } from '../geo/cells.ts';
import { validatePoint } from '../geo/location-input.ts';
import type { LatLng } from '../match/ride-view.ts';
import { expectedTrip, price, type FareBreakdown } from './fare.ts';
import type { Surge } from './surge.ts';
import type { Tariffs } from './tariffs.ts';

/** Closer than this, pickup and dropoff are the same place. */
const MIN_TRIP_KM = 0.05;

export interface EstimateRequest {
  pickup: LatLng;
  dropoff: LatLng;
  carType: CarType;
}

export interface Estimate extends FareBreakdown {
  id: string;
  riderId: string;
  pickup: LatLng;
  dropoff: LatLng;
  carType: CarType;
  createdAt: Date;
  expiresAt: Date;
}

/** The price a ride was requested at. */
export interface Quote {
  estimateId: string | null;
  total: number;
  currency: string;
  surgeMultiplier: number;
}

export class Estimates {
  constructor(
    private readonly db: Db,
    private readonly tariffs: Tariffs,
    private readonly surge: Surge,
    private readonly policy: PricingPolicy,
  ) {}

  /** Prices a trip for a rider and keeps the estimate for ESTIMATE_TTL_MS (Postgres' clock). */
  async estimate(riderId: string, req: EstimateRequest): Promise<Estimate> {
    const fare = await this.price(req);
    const id = randomUUID();
    const [row] = await this.db.$queryRaw<Array<{ createdAt: Date; expiresAt: Date }>>`
      INSERT INTO "FareEstimate" (id, "riderId", "carType", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", "distanceKm",
                                  "durationMin", "baseFare", "distanceFare", "timeFare", "surgeMultiplier", total, currency, "expiresAt")
      VALUES (${id}::uuid, ${riderId}, ${req.carType}::"CarType", ${req.pickup.lat}, ${req.pickup.lng}, ${req.dropoff.lat}, ${req.dropoff.lng},
              ${fare.distanceKm}, ${fare.durationMin}, ${fare.baseFare}, ${fare.distanceFare}, ${fare.timeFare}, ${fare.surgeMultiplier},
              ${fare.total}, ${fare.currency}, now() + make_interval(secs => ${this.policy.estimateTtlMs / 1000}))
      RETURNING "createdAt", "expiresAt"`;
    return { id, riderId, pickup: req.pickup, dropoff: req.dropoff, carType: req.carType, ...fare, ...row! };
  }

  /**
   * The quote for a ride being requested: the rider's estimate when given (it must be theirs,
   * still valid, and for the same trip within ESTIMATE_TOLERANCE_M and car type), else a price now.
   */
  async quoteFor(riderId: string, req: EstimateRequest & { estimateId?: string | null }): Promise<Quote> {
    if (!req.estimateId) {
      const fare = await this.price(req, (lat, lng, carType) => this.surge.lastKnown(lat, lng, carType));
      return { estimateId: null, total: fare.total, currency: fare.currency, surgeMultiplier: fare.surgeMultiplier };
    }
    const [row] = await this.db.$queryRaw<
      Array<{ riderId: string; carType: CarType; pickupLat: number; pickupLng: number; dropoffLat: number; dropoffLng: number; total: number; currency: string; surgeMultiplier: number; valid: boolean }>
    >`SELECT "riderId", "carType"::text AS "carType", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", total, currency, "surgeMultiplier",
             "expiresAt" > now() AS valid
        FROM "FareEstimate" WHERE id = ${req.estimateId}::uuid`;
    if (!row) throw notFound('estimate', req.estimateId);
    if (row.riderId !== riderId) throw new DomainError('FORBIDDEN', 'this estimate was made for another rider', { field: 'estimateId' });
    if (!row.valid) throw new DomainError('ESTIMATE_EXPIRED', 'the estimate expired: ask for a new one', { field: 'estimateId' });
    const toleranceKm = this.policy.estimateToleranceM / 1000;
    const mismatch = (field: string, why: string) => new DomainError('ESTIMATE_MISMATCH', `${field}: ${why} than the estimate's`, { field });
    if (row.carType !== req.carType) throw mismatch('carType', 'another car type');
    if (haversineKm(row.pickupLat, row.pickupLng, req.pickup.lat, req.pickup.lng) > toleranceKm) throw mismatch('pickup', 'further away');
    if (haversineKm(row.dropoffLat, row.dropoffLng, req.dropoff.lat, req.dropoff.lng) > toleranceKm) throw mismatch('dropoff', 'further away');
    return { estimateId: req.estimateId, total: row.total, currency: row.currency, surgeMultiplier: row.surgeMultiplier };
  }

  /** `surgeAt` defaults to computing surge now (estimates); requests without one use the last known value. */
  private async price(
    req: EstimateRequest,
    surgeAt: (lat: number, lng: number, carType: CarType) => Promise<number> = async (lat, lng, carType) => (await this.surge.at(lat, lng, carType)).multiplier,
  ): Promise<FareBreakdown> {
    validatePoint(req.pickup, 'pickup.');
    validatePoint(req.dropoff, 'dropoff.');
    if (haversineKm(req.pickup.lat, req.pickup.lng, req.dropoff.lat, req.dropoff.lng) < MIN_TRIP_KM) {
      throw badInput('dropoff', 'must not be the pickup');
    }
    const [tariff, surge] = await Promise.all([this.tariffs.of(req.carType), surgeAt(req.pickup.lat, req.pickup.lng, req.carType)]);
    const trip = expectedTrip(req.pickup, req.dropoff, this.policy);
    return price(tariff, trip.distanceKm, trip.durationMin, surge);
  }
}
