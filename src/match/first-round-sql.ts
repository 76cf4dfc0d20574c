// The hot path of requestRide in one Postgres round trip: the ride, its first round of offers and
// its two history events, inserted by a single statement (data-modifying CTEs are one atomic
// statement; the foreign keys are checked at its end, when the ride row exists).
import type { Db } from '../db/client.ts';
import type { Ride } from '../generated/prisma/client.ts';

export interface FirstRound {
  ride: Pick<
    Ride,
    'id' | 'riderId' | 'pickupLat' | 'pickupLng' | 'dropoffLat' | 'dropoffLng' | 'carType' | 'paymentMethod' | 'minDriverRating'
  >;
  at: Date;
  roundEndsAt: Date;
  nextCheckAt: Date;
  offers: Array<{ id: string; driverId: string; pickupDistanceKm: number }>;
  detail: string;
}

export async function insertRideWithFirstRound(db: Db, f: FirstRound): Promise<void> {
  const r = f.ride;
  await db.$executeRaw`
    WITH ride AS (
      INSERT INTO "Ride" (id, "riderId", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", "carType",
                          "paymentMethod", "minDriverRating", round, "roundEndsAt", "nextCheckAt", "requestedAt", "updatedAt")
      VALUES (${r.id}::uuid, ${r.riderId}, ${r.pickupLat}, ${r.pickupLng}, ${r.dropoffLat}, ${r.dropoffLng},
              ${r.carType}::"CarType", ${r.paymentMethod}::"PaymentMethod", ${r.minDriverRating}::float8,
              1, ${f.roundEndsAt}, ${f.nextCheckAt}, ${f.at}, ${f.at})
      RETURNING id
    ), offers AS (
      INSERT INTO "RideOffer" (id, "rideId", "driverId", round, "pickupDistanceKm", "sentAt", "expiresAt")
      SELECT o.id, ${r.id}::uuid, o.driver, 1, o.km, ${f.at}, ${f.roundEndsAt}
      FROM unnest(${f.offers.map((o) => o.id)}::uuid[], ${f.offers.map((o) => o.driverId)}::text[],
                  ${f.offers.map((o) => o.pickupDistanceKm)}::float8[]) AS o(id, driver, km)
    )
    INSERT INTO "RideEvent" ("rideId", type, round, detail, at)
    VALUES (${r.id}::uuid, 'REQUESTED', NULL, NULL, ${f.at}), (${r.id}::uuid, 'ROUND_STARTED', 1, ${f.detail}, ${f.at})`;
}
