// Matching analytics for operators, computed in Postgres from the ride history (table "RideEvent")
// and the offers. Every figure is about one cohort: the rides requested in [from, to), optionally
// only those picked up in one H3 region (resolution 5). Definitions (also in the schema and README):
//
// - time to first offer: the ride's start → its first ROUND_STARTED entry;
// - time to assignment: the ride's start → its ASSIGNED entry;
//   the start is REQUESTED, or DISPATCH_STARTED for a ride booked ahead (its matching begins
//   then); rides without both entries are left out of that figure;
// - acceptance rate: the cohort's offers that were ACCEPTED / all its offers (RideOffer rows);
// - rides without a driver: a NO_DRIVERS_AVAILABLE entry;
// - cancelled by the rider: CANCELLED or ASSIGNMENT_CANCELLED; by an operator: FORCE_CANCELLED;
// - per H3 cell (resolution 7, the ride's pickupCell): demand = rides requested there, supply =
//   distinct drivers offered at least one of those rides (who was nearby and free enough to be
//   asked: Postgres keeps no positions, only whom it offered rides to).
import type { Db } from '../db/client.ts';
import { badInput } from '../errors.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { getResolution, isValidCell } from 'h3-js';
import { REGION_RESOLUTION } from '../geo/cells.ts';

export interface AnalyticsWindow {
  from: Date;
  to: Date;
  /** H3 region (resolution 5) of the pickup; null for everywhere. */
  region: string | null;
}

export interface Percentiles {
  /** How many rides the figure is computed over. */
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

export interface MatchingSummary {
  ridesRequested: number;
  timeToFirstOffer: Percentiles;
  timeToAssignment: Percentiles;
  offersMade: number;
  offersAccepted: number;
  /** offersAccepted / offersMade; null without offers. */
  acceptanceRate: number | null;
  ridesWithoutDriver: number;
  cancelledByRider: number;
  cancelledByOperator: number;
}

export interface CellSupplyDemand {
  cell: string;
  demand: number;
  supply: number;
}

/** The cohort: rides requested in the window (and region), by Ride(requestedAt) or Ride(pickupRegion, requestedAt). */
function cohort(w: AnalyticsWindow): Prisma.Sql {
  return Prisma.sql`
    SELECT r.id, r."scheduledAt" IS NOT NULL AS scheduled, r."pickupCell"
    FROM "Ride" r
    WHERE r."requestedAt" >= ${w.from}::timestamptz AND r."requestedAt" < ${w.to}::timestamptz
    ${w.region ? Prisma.sql`AND r."pickupRegion" = ${w.region}` : Prisma.empty}`;
}

/**
 * One statement: the cohort, each ride's history and offers folded to one row (index-only scans of
 * RideEvent(rideId, at) INCLUDE (type) and RideOffer(rideId, driverId) INCLUDE (status)), then
 * the figures. Per-ride lookups rather than a join: the planner would hash the whole offer table.
 */
export function summarySql(w: AnalyticsWindow): Prisma.Sql {
  return Prisma.sql`
    WITH rides AS (
      SELECT h.*, o.made, o.accepted,
             CASE WHEN c.scheduled THEN h.dispatched ELSE h.requested END AS started
      FROM (${cohort(w)}) c
      CROSS JOIN LATERAL (
        SELECT min(e.at) FILTER (WHERE e.type = 'REQUESTED') AS requested,
               min(e.at) FILTER (WHERE e.type = 'DISPATCH_STARTED') AS dispatched,
               min(e.at) FILTER (WHERE e.type = 'ROUND_STARTED') AS first_offer,
               min(e.at) FILTER (WHERE e.type = 'ASSIGNED') AS assigned,
               bool_or(e.type = 'NO_DRIVERS_AVAILABLE') AS no_driver,
               bool_or(e.type IN ('CANCELLED', 'ASSIGNMENT_CANCELLED')) AS rider_cancelled,
               bool_or(e.type = 'FORCE_CANCELLED') AS operator_cancelled
        FROM "RideEvent" e WHERE e."rideId" = c.id
      ) h
      CROSS JOIN LATERAL (
        SELECT count(*) AS made, count(*) FILTER (WHERE o.status = 'ACCEPTED') AS accepted
        FROM "RideOffer" o WHERE o."rideId" = c.id
      ) o
    )
    SELECT count(*)::int AS "ridesRequested",
           count(*) FILTER (WHERE first_offer IS NOT NULL AND started IS NOT NULL)::int AS "firstOfferCount",
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY (extract(epoch FROM first_offer - started) * 1000)::float8)
             FILTER (WHERE first_offer IS NOT NULL AND started IS NOT NULL) AS "firstOfferMs",
           count(*) FILTER (WHERE assigned IS NOT NULL AND started IS NOT NULL)::int AS "assignedCount",
           percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY (extract(epoch FROM assigned - started) * 1000)::float8)
             FILTER (WHERE assigned IS NOT NULL AND started IS NOT NULL) AS "assignedMs",
           count(*) FILTER (WHERE no_driver)::int AS "ridesWithoutDriver",
           count(*) FILTER (WHERE rider_cancelled)::int AS "cancelledByRider",
           count(*) FILTER (WHERE operator_cancelled)::int AS "cancelledByOperator",
           coalesce(sum(made), 0)::int AS "offersMade",
           coalesce(sum(accepted), 0)::int AS "offersAccepted"
    FROM rides`;
}

/** Demand and supply per pickup cell, busiest first (offers by RideOffer(rideId, driverId)). */
export function cellsSql(w: AnalyticsWindow, limit: number): Prisma.Sql {
  return Prisma.sql`
    WITH cohort AS (${cohort(w)})
    SELECT c."pickupCell" AS cell, count(DISTINCT c.id)::int AS demand, count(DISTINCT o."driverId")::int AS supply
    FROM cohort c LEFT JOIN "RideOffer" o ON o."rideId" = c.id
    WHERE c."pickupCell" IS NOT NULL
    GROUP BY c."pickupCell"
    ORDER BY demand DESC, cell
    LIMIT ${limit}`;
}

interface SummaryRow {
  ridesRequested: number;
  firstOfferCount: number;
  firstOfferMs: number[] | null;
  assignedCount: number;
  assignedMs: number[] | null;
  ridesWithoutDriver: number;
  cancelledByRider: number;
  cancelledByOperator: number;
  offersMade: number;
  offersAccepted: number;
}

const percentiles = (count: number, values: number[] | null): Percentiles => ({
  count,
  p50Ms: values?.[0] ?? null,
  p90Ms: values?.[1] ?? null,
  p99Ms: values?.[2] ?? null,
});

export class Analytics {
  constructor(
    private readonly db: Db,
    /** The longest window one query may cover (its cost grows with the rides in it). */
    private readonly maxWindowMs: number,
  ) {}

  async summary(w: AnalyticsWindow): Promise<MatchingSummary> {
    this.check(w);
    const [row] = await this.db.$queryRaw<SummaryRow[]>(summarySql(w));
    const r = row!;
    return {
      ridesRequested: r.ridesRequested,
      timeToFirstOffer: percentiles(r.firstOfferCount, r.firstOfferMs),
      timeToAssignment: percentiles(r.assignedCount, r.assignedMs),
      offersMade: r.offersMade,
      offersAccepted: r.offersAccepted,
      acceptanceRate: r.offersMade > 0 ? r.offersAccepted / r.offersMade : null,
      ridesWithoutDriver: r.ridesWithoutDriver,
      cancelledByRider: r.cancelledByRider,
      cancelledByOperator: r.cancelledByOperator,
    };
  }

  async cells(w: AnalyticsWindow, limit: number): Promise<CellSupplyDemand[]> {
    this.check(w);
    return this.db.$queryRaw<CellSupplyDemand[]>(cellsSql(w, limit));
  }

  private check(w: AnalyticsWindow): void {
    if (w.to.getTime() <= w.from.getTime()) throw badInput('to', 'must be after from');
    if (w.to.getTime() - w.from.getTime() > this.maxWindowMs) throw badInput('to', `the window may span at most ${this.maxWindowMs / 86_400_000} days`);
    if (w.region !== null && (!isValidCell(w.region) || getResolution(w.region) !== REGION_RESOLUTION)) {
      throw badInput('region', `must be an H3 cell of resolution ${REGION_RESOLUTION}`);
    }
  }
}
