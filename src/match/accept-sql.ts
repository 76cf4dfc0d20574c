// An accept in one Postgres round trip (no interactive transaction): the ride's row lock, the
// driver's offer, and, when the offer is assignable, the assignment, the accepted offer, the
// losers' offers revoked and the history entry, all in one statement (data-modifying CTEs are
// atomic). It returns what the caller needs to explain any other answer (acceptVerdict).
//
// The statement's "assignable" is acceptVerdict's: the ride SEARCHING, this driver's offer
// OFFERED and not expired by Postgres' clock. Concurrent accepts of one ride queue on the row
// lock; the one after the winner re-reads the locked row (READ COMMITTED) and finds it taken.
import type { Db } from '../db/client.ts';
import type { Ride, RideOffer } from '../generated/prisma/client.ts';

export interface AcceptOutcome {
  /** The ride as locked, before any change; null when there is no such ride. */
  locked: { status: Ride['status']; driverId: string | null; now: Date } | null;
  offer: Pick<RideOffer, 'status' | 'expiresAt'> | null;
  /** The ride after the assignment, when this call assigned it. */
  assigned: Ride | null;
  /** Drivers whose live offers were revoked by it. */
  losers: string[];
}

type Row = Ride & { lockedStatus: Ride['status'] | null; lockedDriverId: string | null; lockedNow: Date | null; offerStatus: RideOffer['status'] | null; offerExpiresAt: Date | null; losers: string[] };

export async function acceptInOneStatement(db: Db, rideId: string, driverId: string): Promise<AcceptOutcome> {
  const rows = await db.$queryRaw<Row[]>`
    WITH r AS (
      SELECT id, status, "driverId", now() AS now FROM "Ride" WHERE id = ${rideId}::uuid FOR UPDATE
    ), o AS (
      SELECT o.id, o.status, o."expiresAt", o.round FROM "RideOffer" o JOIN r ON o."rideId" = r.id WHERE o."driverId" = ${driverId}
    ), ok AS (
      SELECT r.id, o.id AS offer, o.round FROM r JOIN o ON true
       WHERE r.status = 'SEARCHING' AND o.status = 'OFFERED' AND o."expiresAt" > r.now
    ), assigned AS (
      UPDATE "Ride" SET status = 'ASSIGNED', "driverId" = ${driverId}, "assignedAt" = now(), "nextCheckAt" = NULL,
                        version = version + 1, "updatedAt" = now()
       WHERE id = (SELECT id FROM ok) RETURNING *
    ), accepted AS (
      UPDATE "RideOffer" SET status = 'ACCEPTED', "respondedAt" = now()
       WHERE id = (SELECT offer FROM ok) AND EXISTS (SELECT 1 FROM assigned) RETURNING id
    ), losers AS (
      UPDATE "RideOffer" SET status = 'REVOKED', "respondedAt" = now()
       WHERE "rideId" = (SELECT id FROM ok) AND status = 'OFFERED' AND "driverId" <> ${driverId} AND EXISTS (SELECT 1 FROM assigned)
       RETURNING "driverId"
    ), history AS (
      INSERT INTO "RideEvent" ("rideId", type, round, "driverId", at)
      SELECT a.id, 'ASSIGNED', (SELECT round FROM ok), ${driverId}, now() FROM assigned a
    )
    SELECT a.*, r.status::text AS "lockedStatus", r."driverId" AS "lockedDriverId", r.now AS "lockedNow",
           o.status::text AS "offerStatus", o."expiresAt" AS "offerExpiresAt",
           (SELECT coalesce(array_agg("driverId"), '{}') FROM losers) AS losers
      FROM r LEFT JOIN o ON true LEFT JOIN assigned a ON true`;
  const row = rows[0];
  if (!row) return { locked: null, offer: null, assigned: null, losers: [] };
  const { lockedStatus, lockedDriverId, lockedNow, offerStatus, offerExpiresAt, losers, ...ride } = row;
  return {
    locked: { status: lockedStatus!, driverId: lockedDriverId, now: lockedNow! },
    offer: offerStatus ? { status: offerStatus, expiresAt: offerExpiresAt! } : null,
    assigned: ride.id ? (ride as Ride) : null,
    losers,
  };
}
