// Creating a ride in one Postgres round trip: the ride, its first round of offers and its
// history, inserted by a single statement (data-modifying CTEs are one atomic statement; the
// foreign keys are checked at its end, when the ride row exists). Every deadline is stamped with
// the database's now(), the clock that later compares it.
import type { Db } from '../db/client.ts';
import { Prisma, type Ride } from '../generated/prisma/client.ts';

export type NewRide = Pick<
  Ride,
  | 'id'
  | 'riderId'
  | 'pickupLat'
  | 'pickupLng'
  | 'dropoffLat'
  | 'dropoffLng'
  | 'carType'
  | 'paymentMethod'
  | 'minDriverRating'
  | 'requestKey'
  | 'pickupCell'
  | 'pickupRegion'
  | 'estimateId'
  | 'quotedTotal'
  | 'currency'
  | 'surgeMultiplier'
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
                          "paymentMethod", "minDriverRating", "requestKey", "pickupCell", "pickupRegion", "estimateId",
                          "quotedTotal", currency, "surgeMultiplier", round, "roundEndsAt", "nextCheckAt",
                          "requestedAt", "updatedAt")
      VALUES (${r.id}::uuid, ${r.riderId}, ${r.pickupLat}, ${r.pickupLng}, ${r.dropoffLat}, ${r.dropoffLng},
              ${r.carType}::"CarType", ${r.paymentMethod}::"PaymentMethod", ${r.minDriverRating}::float8, ${r.requestKey},
              ${r.pickupCell}, ${r.pickupRegion}, ${r.estimateId}::uuid, ${r.quotedTotal}::int, ${r.currency}, ${r.surgeMultiplier}::float8,
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

/**
 * A ride no driver was found for yet, or one booked ahead: its first round check is due at
 * `checkAt` (now + grace, or scheduledAt − dispatch lead), when the round loop takes it on.
 */
export async function insertRideWithoutRound(
  db: Db,
  r: NewRide,
  when: { graceMs: number } | { scheduledAt: Date; dispatchLeadMs: number },
): Promise<Stamped> {
  const scheduledAt = 'scheduledAt' in when ? when.scheduledAt : null;
  const status = scheduledAt ? 'SCHEDULED' : 'SEARCHING';
  const checkAt = scheduledAt
    ? Prisma.sql`GREATEST(now(), ${scheduledAt}::timestamptz - make_interval(secs => ${secs((when as { dispatchLeadMs: number }).dispatchLeadMs)}))`
    : Prisma.sql`now() + make_interval(secs => ${secs((when as { graceMs: number }).graceMs)})`;
  const [stamped] = await db.$queryRaw<Stamped[]>`
    WITH ride AS (
      INSERT INTO "Ride" (id, "riderId", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", "carType",
                          "paymentMethod", "minDriverRating", "requestKey", "pickupCell", "pickupRegion", "estimateId",
                          "quotedTotal", currency, "surgeMultiplier", status, "scheduledAt", "nextCheckAt", "requestedAt", "updatedAt")
      VALUES (${r.id}::uuid, ${r.riderId}, ${r.pickupLat}, ${r.pickupLng}, ${r.dropoffLat}, ${r.dropoffLng},
              ${r.carType}::"CarType", ${r.paymentMethod}::"PaymentMethod", ${r.minDriverRating}::float8, ${r.requestKey},
              ${r.pickupCell}, ${r.pickupRegion}, ${r.estimateId}::uuid, ${r.quotedTotal}::int, ${r.currency}, ${r.surgeMultiplier}::float8,
              ${status}::"RideStatus", ${scheduledAt}::timestamptz, ${checkAt}, now(), now())
      RETURNING id, "requestedAt", "roundEndsAt"
    ), history AS (
      INSERT INTO "RideEvent" ("rideId", type, detail, at)
      SELECT ride.id, 'REQUESTED', ${scheduledAt ? `scheduled for ${scheduledAt.toISOString()}` : null}, ride."requestedAt" FROM ride
    )
    SELECT "requestedAt", "roundEndsAt" FROM ride`;
  return stamped!;
}

/** Whether a requested pickup time is within the booking window, by Postgres' clock. */
export async function scheduleWindow(db: Db, scheduledAt: Date, minLeadMs: number, horizonMs: number): Promise<'ok' | 'too-soon' | 'too-far'> {
  const [row] = await db.$queryRaw<Array<{ soon: boolean; far: boolean }>>`
    SELECT ${scheduledAt}::timestamptz < now() + make_interval(secs => ${secs(minLeadMs)}) AS soon,
           ${scheduledAt}::timestamptz > now() + make_interval(secs => ${secs(horizonMs)}) AS far`;
  return row!.soon ? 'too-soon' : row!.far ? 'too-far' : 'ok';
}
