// Creating a ride in one Postgres round trip: the ride, its first round of offers and its
// history, inserted by a single statement (data-modifying CTEs are one atomic statement; the
// foreign keys are checked at its end, when the ride row exists). Every deadline is stamped with
// the database's now(), the clock that later compares it.
import type { Db } from '../db/client.ts';
import type { Ride } from '../generated/prisma/client.ts';

export type NewRide = Pick<
  Ride,
  'id' | 'riderId' | 'pickupLat' | 'pickupLng' | 'dropoffLat' | 'dropoffLng' | 'carType' | 'paymentMethod' | 'minDriverRating' | 'requestKey'
>;

export interface FirstRound {
  roundTimeoutMs: number;
  /** The dispatcher looks again after this (silent drivers), or at the round's end if sooner. */
  checkAfterMs: number;
  offers: Array<{ id: string; driverId: string; pickupDistanceKm: number }>;
  detail: string;
}

/** What the database stamped. */
export interface Stamped {
  requestedAt: Date;
  roundEndsAt: Date | null;
}

const secs = (ms: number) => ms / 1000;

export async function insertRideWithFirstRound(db: Db, r: NewRide, f: FirstRound): Promise<Stamped> {
  const [stamped] = await db.$queryRaw<Stamped[]>`
    WITH ride AS (
      INSERT INTO "Ride" (id, "riderId", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", "carType",
                          "paymentMethod", "minDriverRating", "requestKey", round, "roundEndsAt", "nextCheckAt",
                          "requestedAt", "updatedAt")
      VALUES (${r.id}::uuid, ${r.riderId}, ${r.pickupLat}, ${r.pickupLng}, ${r.dropoffLat}, ${r.dropoffLng},
              ${r.carType}::"CarType", ${r.paymentMethod}::"PaymentMethod", ${r.minDriverRating}::float8, ${r.requestKey},
              1, now() + make_interval(secs => ${secs(f.roundTimeoutMs)}),
              now() + make_interval(secs => ${secs(Math.min(f.roundTimeoutMs, f.checkAfterMs))}), now(), now())
      RETURNING id, "requestedAt", "roundEndsAt"
    ), offers AS (
      INSERT INTO "RideOffer" (id, "rideId", "driverId", round, "pickupDistanceKm", "sentAt", "expiresAt")
      SELECT o.id, ride.id, o.driver, 1, o.km, ride."requestedAt", ride."roundEndsAt"
      FROM ride, unnest(${f.offers.map((o) => o.id)}::uuid[], ${f.offers.map((o) => o.driverId)}::text[],
                        ${f.offers.map((o) => o.pickupDistanceKm)}::float8[]) AS o(id, driver, km)
    ), history AS (
      INSERT INTO "RideEvent" ("rideId", type, round, detail, at)
      SELECT ride.id, 'REQUESTED', NULL, NULL, ride."requestedAt" FROM ride
      UNION ALL SELECT ride.id, 'ROUND_STARTED', 1, ${f.detail}, ride."requestedAt" FROM ride
    )
    SELECT "requestedAt", "roundEndsAt" FROM ride`;
  return stamped!;
}

/** A ride no driver was found for yet: the round loop (or, after `graceMs`, any poller) takes it on. */
export async function insertRideWithoutRound(db: Db, r: NewRide, graceMs: number): Promise<Stamped> {
  const [stamped] = await db.$queryRaw<Stamped[]>`
    WITH ride AS (
      INSERT INTO "Ride" (id, "riderId", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", "carType",
                          "paymentMethod", "minDriverRating", "requestKey", "nextCheckAt", "requestedAt", "updatedAt")
      VALUES (${r.id}::uuid, ${r.riderId}, ${r.pickupLat}, ${r.pickupLng}, ${r.dropoffLat}, ${r.dropoffLng},
              ${r.carType}::"CarType", ${r.paymentMethod}::"PaymentMethod", ${r.minDriverRating}::float8, ${r.requestKey},
              now() + make_interval(secs => ${secs(graceMs)}), now(), now())
      RETURNING id, "requestedAt", "roundEndsAt"
    ), history AS (
      INSERT INTO "RideEvent" ("rideId", type, at) SELECT ride.id, 'REQUESTED', ride."requestedAt" FROM ride
    )
    SELECT "requestedAt", "roundEndsAt" FROM ride`;
  return stamped!;
}
