// A trip step in one Postgres round trip (no interactive transaction, so no pooled connection
// waits on the API between statements): the ride's row lock, the move from one state to the
// next when the ride is there and this driver's, and the history entry, in one statement
// (data-modifying CTEs are atomic). It returns the ride after the move, or, when it did not
// move, the ride as locked, so the caller can say why (trip.ts).
import { Prisma } from '../generated/prisma/client.ts';
import type { Db } from '../db/client.ts';
import type { Ride, RideStatus } from '../generated/prisma/client.ts';
import type { HistoryType } from './history.ts';

export interface TripMove {
  rideId: string;
  driverId: string;
  from: RideStatus;
  to: RideStatus;
  history: HistoryType;
  detail?: string;
  /** The columns the step sets besides status and version, e.g. Prisma.sql`"arrivedAt" = now()`. */
  set: Prisma.Sql;
}

/** The ride after the move (moved) or as it was (not moved); null when there is no such ride. */
export type TripMoveOutcome = { ride: Ride; moved: boolean } | null;

export async function moveInOneStatement(db: Db, move: TripMove): Promise<TripMoveOutcome> {
  const { rideId, driverId, from, to, history, detail = null, set } = move;
  const rows = await db.$queryRaw<Array<Ride & { moved: boolean }>>`
    WITH r AS (
      SELECT * FROM "Ride" WHERE id = ${rideId}::uuid FOR UPDATE
    ), moved AS (
      UPDATE "Ride" SET status = ${to}::"RideStatus", version = version + 1, "updatedAt" = now(), ${set}
       WHERE id = (SELECT id FROM r WHERE status = ${from}::"RideStatus" AND "driverId" = ${driverId})
       RETURNING *
    ), history AS (
      INSERT INTO "RideEvent" ("rideId", type, "driverId", detail, at)
      SELECT id, ${history}, ${driverId}, ${detail}, now() FROM moved
    )
    SELECT moved.*, true AS moved FROM moved
    UNION ALL
    SELECT r.*, false AS moved FROM r WHERE NOT EXISTS (SELECT 1 FROM moved)`;
  const row = rows[0];
  if (!row) return null;
  const { moved, ...ride } = row;
  return { ride: ride as Ride, moved };
}

/** The ride and Postgres' now(), read without a lock (what a step computes from before it moves). */
export async function readRideAndNow(db: Db, rideId: string): Promise<{ ride: Ride; now: Date } | null> {
  const rows = await db.$queryRaw<Array<Ride & { dbNow: Date }>>`SELECT *, now() AS "dbNow" FROM "Ride" WHERE id = ${rideId}::uuid`;
  const row = rows[0];
  if (!row) return null;
  const { dbNow, ...ride } = row;
  return { ride: ride as Ride, now: dbNow };
}
