// Bulk data for the analytics benchmark: drivers, riders, rides, their offers and their history,
// inserted by a few INSERT … SELECT over generate_series (no row-by-row round trips). Rides are
// shaped like the real flow writes them (src/match/*: REQUESTED, DISPATCH_STARTED for a ride booked
// ahead, ROUND_STARTED per round of 5 offers, an OFFER_DECLINED or OFFER_EXPIRED per offer not
// taken, then ASSIGNED … COMPLETED, or NO_DRIVERS_AVAILABLE, CANCELLED, ASSIGNMENT_CANCELLED,
// FORCE_CANCELLED), spread over `days` and over the res-7 cells of one metro, denser at its centre.
import { cellToLatLng, gridDisk, latLngToCell } from 'h3-js';
import type pg from 'pg';
import { regionOf } from '../src/geo/cells.ts';
import { SURGE_RESOLUTION } from '../src/pricing/surge.ts';

export interface DataSpec {
  rides: number;
  drivers: number;
  riders: number;
  days: number;
  /** The window's end; rides are requested in [end − days, end). */
  end: Date;
  centre: { lat: number; lng: number };
}

export interface DataCounts {
  rides: number;
  offers: number;
  history: number;
  cells: number;
}

/** Fills an empty, migrated database. */
export async function generateAnalyticsData(client: pg.Client, spec: DataSpec): Promise<DataCounts> {
  // ~1,260 res-7 cells (≈5 km² each) around the centre: a metro of ~6,000 km².
  const cells = gridDisk(latLngToCell(spec.centre.lat, spec.centre.lng, SURGE_RESOLUTION), 20);
  const centres = cells.map((c) => cellToLatLng(c));
  const regions = centres.map(([lat, lng]) => regionOf(lat, lng));

  await client.query(
    `INSERT INTO "Driver" (id, name, "carType", "paymentPreference", rating, vehicle, "updatedAt")
     SELECT 'bd-' || g, 'Bench driver ' || g, 'ECONOMY', 'ANY', 4.5, 'Bench car', now() FROM generate_series(0, $1 - 1) g`,
    [spec.drivers],
  );
  await client.query(`INSERT INTO "Rider" (id, name, "updatedAt") SELECT 'br-' || g, 'Bench rider ' || g, now() FROM generate_series(0, $1 - 1) g`, [spec.riders]);

  // One row per ride with its fate and timeline; the inserts below read it.
  //   fate: 0 assigned and completed, 1 no driver after 3 rounds, 2 cancelled by the rider while
  //   searching (after round 1), 3 assigned then cancelled by the rider, 4 assigned then force-cancelled.
  await client.query(
    `CREATE TEMP TABLE plan AS
     WITH base AS (
       SELECT g AS n, md5('bench-ride-' || g)::uuid AS id,
              $1::timestamptz - random() * make_interval(days => $2) AS requested_at,
              least($3 - 1, floor(power(random(), 2.5) * $3))::int AS cell_ix,
              random() AS u, random() < 0.05 AS scheduled,
              1 + floor(random() * 3)::int AS rounds_if_assigned,
              CASE WHEN random() < 0.8 THEN 0 ELSE random() * 8 END AS first_delay_s,
              2 + random() * 10 AS accept_delay_s
       FROM generate_series(1, $4) g
     ), fated AS (
       SELECT b.*, CASE WHEN u < 0.75 THEN 0 WHEN u < 0.85 THEN 1 WHEN u < 0.93 THEN 2 WHEN u < 0.98 THEN 3 ELSE 4 END AS fate
       FROM base b
     )
     SELECT f.*,
            CASE WHEN fate IN (0, 3, 4) THEN rounds_if_assigned WHEN fate = 1 THEN 3 ELSE 1 END AS rounds,
            CASE WHEN scheduled THEN requested_at + interval '1 day' END AS scheduled_at,
            CASE WHEN scheduled THEN requested_at + interval '1 day' - interval '10 minutes' ELSE requested_at END AS started_at
     FROM fated f`,
    [spec.end, spec.days, cells.length, spec.rides],
  );
  await client.query(
    `ALTER TABLE plan ADD COLUMN round1_at timestamptz, ADD COLUMN assigned_at timestamptz, ADD COLUMN ended_at timestamptz, ADD COLUMN driver text`,
  );
  await client.query(
    `UPDATE plan SET round1_at = started_at + make_interval(secs => first_delay_s),
                     driver = CASE WHEN fate IN (0, 3, 4) THEN 'bd-' || ((n * 7919 + (rounds - 1) * 5 * 2729) % $1) END`,
    [spec.drivers],
  );
  await client.query(
    `UPDATE plan SET assigned_at = CASE WHEN fate IN (0, 3, 4) THEN round1_at + make_interval(secs => (rounds - 1) * 15 + accept_delay_s) END,
                     ended_at = CASE fate WHEN 1 THEN round1_at + interval '45 seconds' WHEN 2 THEN round1_at + interval '6 seconds'
                                          ELSE round1_at + make_interval(secs => (rounds - 1) * 15 + accept_delay_s) + interval '20 minutes' END`,
  );

  await client.query(
    `INSERT INTO "Ride" (id, "riderId", "pickupLat", "pickupLng", "dropoffLat", "dropoffLng", "carType", "paymentMethod", status,
                         "driverId", round, "endReason", "requestedAt", "assignedAt", "endedAt", "updatedAt", "pickupCell", "pickupRegion",
                         "scheduledAt", "dispatchedAt")
     SELECT p.id, 'br-' || (p.n % $1), c.lat, c.lng, c.lat + 0.02, c.lng + 0.02, 'ECONOMY', 'CARD',
            (CASE p.fate WHEN 0 THEN 'COMPLETED' WHEN 1 THEN 'NO_DRIVERS_AVAILABLE' ELSE 'CANCELLED' END)::"RideStatus",
            p.driver, p.rounds, CASE p.fate WHEN 1 THEN 'NO_DRIVERS_AVAILABLE' WHEN 2 THEN 'CANCELLED_BY_RIDER' WHEN 3 THEN 'CANCELLED_BY_RIDER' WHEN 4 THEN 'operator' END,
            p.requested_at, p.assigned_at, p.ended_at, p.ended_at, c.cell, c.region, p.scheduled_at, CASE WHEN p.scheduled THEN p.started_at END
     FROM plan p JOIN unnest($2::text[], $3::text[], $4::float8[], $5::float8[]) WITH ORDINALITY AS c(cell, region, lat, lng, ix) ON c.ix = p.cell_ix + 1`,
    [spec.riders, cells, regions, centres.map((c) => c[0]), centres.map((c) => c[1])],
  );

  // Five offers per round, five distinct drivers per ride and round (2729 is prime to the fleet size).
  await client.query(
    `INSERT INTO "RideOffer" (id, "rideId", "driverId", round, status, "pickupDistanceKm", "sentAt", "expiresAt", "respondedAt")
     SELECT md5(p.id::text || '-' || k || '-' || j)::uuid, p.id, 'bd-' || ((p.n * 7919 + ((k - 1) * 5 + j) * 2729) % $1), k,
            (CASE WHEN p.fate IN (0, 3, 4) AND k = p.rounds AND j = 0 THEN 'ACCEPTED'
                  WHEN p.fate = 2 THEN 'REVOKED' WHEN j % 2 = 1 THEN 'DECLINED' ELSE 'EXPIRED' END)::"OfferStatus",
            0.3 + j * 0.4, p.round1_at + make_interval(secs => (k - 1) * 15), p.round1_at + make_interval(secs => k * 15),
            p.round1_at + make_interval(secs => (k - 1) * 15 + 1 + j)
     FROM plan p, generate_series(1, p.rounds) k, generate_series(0, 4) j`,
    [spec.drivers],
  );

  await client.query(
    `INSERT INTO "RideEvent" ("rideId", type, round, "driverId", at)
     SELECT id, 'REQUESTED', NULL::int, NULL::text, requested_at FROM plan
     UNION ALL SELECT id, 'DISPATCH_STARTED', NULL, NULL, started_at FROM plan WHERE scheduled
     UNION ALL SELECT p.id, 'ROUND_STARTED', k, NULL, p.round1_at + make_interval(secs => (k - 1) * 15) FROM plan p, generate_series(1, p.rounds) k
     UNION ALL SELECT o."rideId", CASE o.status WHEN 'DECLINED' THEN 'OFFER_DECLINED' ELSE 'OFFER_EXPIRED' END, o.round, o."driverId", o."respondedAt"
               FROM "RideOffer" o WHERE o.status IN ('DECLINED', 'EXPIRED')
     UNION ALL SELECT id, 'ASSIGNED', rounds, driver, assigned_at FROM plan WHERE fate IN (0, 3, 4)
     UNION ALL SELECT id, 'DRIVER_ARRIVED', NULL, driver, assigned_at + interval '6 minutes' FROM plan WHERE fate = 0
     UNION ALL SELECT id, 'TRIP_STARTED', NULL, driver, assigned_at + interval '7 minutes' FROM plan WHERE fate = 0
     UNION ALL SELECT id, 'COMPLETED', NULL, driver, ended_at FROM plan WHERE fate = 0
     UNION ALL SELECT id, 'NO_DRIVERS_AVAILABLE', 3, NULL, ended_at FROM plan WHERE fate = 1
     UNION ALL SELECT id, 'CANCELLED', 1, NULL, ended_at FROM plan WHERE fate = 2
     UNION ALL SELECT id, 'ASSIGNMENT_CANCELLED', NULL, driver, ended_at FROM plan WHERE fate = 3
     UNION ALL SELECT id, 'FORCE_CANCELLED', NULL, driver, ended_at FROM plan WHERE fate = 4`,
  );
  await client.query('DROP TABLE plan');
  const count = async (table: string) => Number((await client.query(`SELECT count(*) AS n FROM "${table}"`)).rows[0].n);
  return { rides: await count('Ride'), offers: await count('RideOffer'), history: await count('RideEvent'), cells: cells.length };
}
