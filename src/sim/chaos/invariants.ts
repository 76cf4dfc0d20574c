// The invariant checker: after the heal period, reads Postgres and the Redis shards directly (not
// through the API) and holds them, and what the apps were told, against each other. Every check
// returns how many cases break it and a few of them, described well enough to look up.
import pg from 'pg';
import { driverKey, driverRoute } from '../../redis/keys.ts';
import { ShardRouter } from '../../redis/shard-router.ts';
import type { Observations } from './load.ts';

export interface InvariantResult {
  name: string;
  count: number;
  /** Up to EXAMPLES cases, each one line. */
  examples: string[];
}

export interface CheckInput {
  databaseUrl: string;
  shards: Array<{ name: string; url: string }>;
  observations: Observations;
  /** A ride must have left SEARCHING by requestedAt + this. */
  searchDeadlineMs: number;
  /** Every round run to its timeout: a ride that gave up sooner found nobody to offer it to. */
  allRoundsMs: number;
  /** When the load started: times in the examples are seconds after it, as in the fault table. */
  startedAt: number;
}

/** A moment as seconds into the run ("t=12.3 s"), to line it up with the faults. */
type Clock = (at: Date | number | null) => string;

export interface CheckResult {
  invariants: InvariantResult[];
  ridesByStatus: Record<string, number>;
  /** Rides in Postgres no rider learnt about (a request whose every answer was lost). */
  unfollowedRides: number;
  /** The longest time any ride spent searching (request to assignment or end), in seconds. */
  longestSearchS: number;
  /**
   * Offers made to a driver while Postgres had them on a trip. Reported, not judged: the design
   * lets Redis think a driver free until the reconciler's next pass; each case is such a window.
   */
  offersDuringTrips: InvariantResult;
  /** Drivers offered two rides whose offers were live at the same time (a driver holds one). */
  overlappingOffers: InvariantResult;
  /** Assigned drivers who learnt that their trip was cancelled only by failing to complete it. */
  untoldCancels: InvariantResult;
  /** Rides ended NO_DRIVERS_AVAILABLE before their rounds could run out (the fleet is around every pickup). */
  earlyNoDrivers: InvariantResult;
}

const EXAMPLES = 10;

function result(name: string, cases: string[]): InvariantResult {
  return { name, count: cases.length, examples: cases.slice(0, EXAMPLES) };
}

async function doubleAssignments(db: pg.Client, observations: Observations): Promise<string[]> {
  const cases: string[] = [];
  const rows = async (sql: string) => (await db.query(sql)).rows as Array<Record<string, string>>;
  for (const r of await rows(`SELECT "driverId", string_agg(id::text, ' ') AS rides FROM "Ride" WHERE status = 'ASSIGNED' GROUP BY 1 HAVING count(*) > 1`)) {
    cases.push(`driver ${r.driverId} is ASSIGNED to rides ${r.rides}`);
  }
  // Trips of one driver that overlap in time (a trip runs from assignedAt to endedAt, or now).
  for (const r of await rows(`
    SELECT a."driverId", a.id AS a, b.id AS b FROM "Ride" a JOIN "Ride" b ON a."driverId" = b."driverId" AND a.id < b.id
     WHERE a."assignedAt" IS NOT NULL AND b."assignedAt" IS NOT NULL
       AND a."assignedAt" < coalesce(b."endedAt", 'infinity') AND b."assignedAt" < coalesce(a."endedAt", 'infinity')`)) {
    cases.push(`driver ${r.driverId}: trips ${r.a} and ${r.b} overlap in time`);
  }
  for (const r of await rows(`SELECT "rideId", string_agg("driverId", ' ') AS drivers FROM "RideOffer" WHERE status = 'ACCEPTED' GROUP BY 1 HAVING count(*) > 1`)) {
    cases.push(`ride ${r.rideId} has ACCEPTED offers of ${r.drivers}`);
  }
  for (const r of await rows(`
    SELECT "rideId", string_agg(DISTINCT "driverId", ' ') AS drivers FROM "RideEvent" WHERE type = 'ASSIGNED'
     GROUP BY 1 HAVING count(DISTINCT "driverId") > 1`)) {
    cases.push(`ride ${r.rideId} was assigned to ${r.drivers} (history)`);
  }
  for (const r of await rows(`
    SELECT r.id, r."driverId", o."driverId" AS accepted FROM "Ride" r JOIN "RideOffer" o ON o."rideId" = r.id AND o.status = 'ACCEPTED'
     WHERE r."driverId" IS DISTINCT FROM o."driverId"`)) {
    cases.push(`ride ${r.id} has driver ${r.driverId} but ${r.accepted}'s offer is the ACCEPTED one`);
  }
  for (const [rideId, drivers] of observations.assignedTo) {
    if (drivers.size > 1) cases.push(`ride ${rideId}: ${[...drivers].join(' and ')} were each answered RideAssignment`);
  }
  return cases;
}

async function searchingPastDeadline(db: pg.Client, deadlineMs: number, t: Clock): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT id, "requestedAt", round, "nextCheckAt" FROM "Ride"
      WHERE status = 'SEARCHING' AND "requestedAt" + make_interval(secs => $1) < now() ORDER BY "requestedAt"`,
    [deadlineMs / 1000],
  );
  return rows.map((r) => `ride ${r.id} requested at ${t(r.requestedAt)} still SEARCHING (round ${r.round}, next check ${t(r.nextCheckAt)})`);
}

/** Each driver's dispatch state in Redis (on the shard that owns its record) against Postgres. */
async function driverRecordMismatches(db: pg.Client, shards: CheckInput['shards']): Promise<string[]> {
  const { rows } = await db.query<{ id: string; assigned: string[] | null; offered: string[] | null }>(`
    SELECT d.id,
      (SELECT array_agg(r.id::text) FROM "Ride" r WHERE r."driverId" = d.id AND r.status = 'ASSIGNED') AS assigned,
      (SELECT array_agg(o."rideId"::text) FROM "RideOffer" o JOIN "Ride" r ON r.id = o."rideId"
        WHERE o."driverId" = d.id AND o.status = 'OFFERED' AND o."expiresAt" > now() AND r.status = 'SEARCHING') AS offered
    FROM "Driver" d ORDER BY d.id`);
  // The same names as the API instances use, so the same shard owns each record.
  const router = new ShardRouter(shards, { healthIntervalMs: 60_000, downAfterMisses: 3, upAfterSuccesses: 3, commandTimeoutMs: 2_000, readWindowMs: 0 });
  await router.start();
  const cases: string[] = [];
  try {
    for (const d of rows) {
      const [state, ride] = await router.owner(driverRoute(d.id)).redis.hmget(driverKey(d.id), 'state', 'ride');
      const assigned = d.assigned ?? [];
      const offered = d.offered ?? [];
      const shown = `${state ?? 'no record'}${ride ? ` ${ride}` : ''}`;
      if (assigned.length > 0) {
        if (state !== 'ON_RIDE' || ride !== assigned[0]) cases.push(`driver ${d.id}: Redis ${shown}, Postgres ASSIGNED ${assigned.join(' ')}`);
      } else if (state === 'ON_RIDE') {
        cases.push(`driver ${d.id}: Redis ON_RIDE ${ride}, Postgres has no ASSIGNED ride for them`);
      } else if (state === 'OFFERED' && !offered.includes(ride ?? '')) {
        cases.push(`driver ${d.id}: Redis OFFERED ${ride}, Postgres has no live offer for it${offered.length ? ` (live: ${offered.join(' ')})` : ''}`);
      }
    }
  } finally {
    await router.stop();
  }
  return cases;
}

/** What each rider's subscription delivered last, against the ride's state in Postgres. */
async function riderStateMismatches(db: pg.Client, observations: Observations, t: Clock): Promise<string[]> {
  const ids = [...observations.followed.keys()];
  const { rows } = await db.query<{ id: string; status: string; driverId: string | null; version: number; updatedAt: Date }>(
    `SELECT id::text, status::text, "driverId", version, "updatedAt" FROM "Ride" WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const truth = new Map(rows.map((r) => [r.id, r]));
  const cases: string[] = [];
  for (const [rideId, riderId] of observations.followed) {
    const row = truth.get(rideId);
    const pushed = observations.lastPushed.get(rideId);
    const actual = row ? `${row.status}${row.driverId ? ` ${row.driverId}` : ''} v${row.version} since ${t(row.updatedAt)}` : 'no such ride';
    if (!pushed) {
      cases.push(`rider ${riderId}, ride ${rideId}: nothing pushed; Postgres ${actual}`);
    } else if (!row || pushed.status !== row.status || pushed.driverId !== row.driverId) {
      cases.push(`rider ${riderId}, ride ${rideId}: last pushed ${pushed.status}${pushed.driverId ? ` ${pushed.driverId}` : ''} v${pushed.version} at ${t(pushed.at)} via instance ${pushed.instance + 1}; Postgres ${actual}`);
    }
  }
  return cases;
}

async function offersDuringTrips(db: pg.Client, t: Clock): Promise<string[]> {
  const { rows } = await db.query(`
    SELECT o."driverId", o."rideId" AS offered, o.round, o."sentAt", t.id AS trip, t."assignedAt", t."endedAt"
      FROM "RideOffer" o JOIN "Ride" t ON t."driverId" = o."driverId" AND t.id <> o."rideId"
     WHERE t."assignedAt" IS NOT NULL AND o."sentAt" > t."assignedAt" AND o."sentAt" < coalesce(t."endedAt", 'infinity')
     ORDER BY o."sentAt"`);
  return rows.map(
    (r) => `driver ${r.driverId} offered ride ${r.offered} (round ${r.round}) at ${t(r.sentAt)} during trip ${r.trip} (${t(r.assignedAt)} → ${t(r.endedAt)})`,
  );
}

async function overlappingOffers(db: pg.Client, t: Clock): Promise<string[]> {
  // An offer is live from sentAt until it was answered or ended (respondedAt) or expired.
  const { rows } = await db.query(`
    WITH o AS (SELECT "driverId", "rideId", "sentAt", least(coalesce("respondedAt", "expiresAt"), "expiresAt") AS "endsAt" FROM "RideOffer")
    SELECT a."driverId", a."rideId" AS a, b."rideId" AS b, a."sentAt" AS "aSent", a."endsAt" AS "aEnds", b."sentAt" AS "bSent"
      FROM o a JOIN o b ON a."driverId" = b."driverId" AND a."rideId" <> b."rideId"
     WHERE b."sentAt" >= a."sentAt" AND b."sentAt" < a."endsAt"
     ORDER BY b."sentAt"`);
  return rows.map((r) => `driver ${r.driverId} offered ride ${r.b} at ${t(r.bSent)} while holding the offer of ${r.a} (${t(r.aSent)} → ${t(r.aEnds)})`);
}

/** A driver may legitimately finish a trip the instant its rider cancels; a second later they must know. */
const TOLD_WITHIN_MS = 1_000;

async function untoldCancels(db: pg.Client, observations: Observations, t: Clock): Promise<string[]> {
  const { rows } = await db.query<{ id: string; status: string; endedAt: Date | null }>(
    `SELECT id::text, status::text, "endedAt" FROM "Ride" WHERE id = ANY($1::uuid[])`,
    [[...observations.untoldCancels.keys()]],
  );
  return rows
    .filter((r) => r.status === 'CANCELLED' && r.endedAt && observations.untoldCancels.get(r.id)!.at - r.endedAt.getTime() > TOLD_WITHIN_MS)
    .map((r) => {
      const { driverId, at } = observations.untoldCancels.get(r.id)!;
      return `driver ${driverId}: ride ${r.id} cancelled at ${t(r.endedAt)}, found out completing it at ${t(at)}`;
    });
}

async function earlyNoDrivers(db: pg.Client, allRoundsMs: number, t: Clock): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT id, "requestedAt", "endedAt", "endReason" FROM "Ride"
      WHERE status = 'NO_DRIVERS_AVAILABLE' AND "endedAt" < "requestedAt" + make_interval(secs => $1) ORDER BY "requestedAt"`,
    [allRoundsMs / 1000],
  );
  return rows.map((r) => `ride ${r.id} requested at ${t(r.requestedAt)} ended at ${t(r.endedAt)}: ${r.endReason}`);
}

export async function checkInvariants(input: CheckInput): Promise<CheckResult> {
  const t: Clock = (at) => (at === null ? 'none' : `t=${((Number(at) - input.startedAt) / 1000).toFixed(1)} s`);
  const db = new pg.Client({ connectionString: input.databaseUrl });
  await db.connect();
  try {
    const invariants = [
      result('double assignments', await doubleAssignments(db, input.observations)),
      result('rides SEARCHING past their deadline', await searchingPastDeadline(db, input.searchDeadlineMs, t)),
      result('driver records disagreeing with Postgres', await driverRecordMismatches(db, input.shards)),
      result("riders' last pushed state differing from Postgres", await riderStateMismatches(db, input.observations, t)),
    ];
    const byStatus = await db.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM "Ride" GROUP BY 1 ORDER BY 1`);
    const all = await db.query<{ id: string }>(`SELECT id::text FROM "Ride"`);
    const longest = await db.query<{ s: number | null }>(
      `SELECT max(EXTRACT(EPOCH FROM (coalesce("assignedAt", "endedAt", now()) - "requestedAt")))::float8 AS s FROM "Ride"`,
    );
    return {
      invariants,
      ridesByStatus: Object.fromEntries(byStatus.rows.map((r) => [r.status, r.n])),
      unfollowedRides: all.rows.filter((r) => !input.observations.followed.has(r.id)).length,
      longestSearchS: Math.round((longest.rows[0]?.s ?? 0) * 10) / 10,
      offersDuringTrips: result('offers to a driver on a trip', await offersDuringTrips(db, t)),
      overlappingOffers: result('drivers holding two live offers at once', await overlappingOffers(db, t)),
      untoldCancels: result('assigned drivers not told their trip was cancelled', await untoldCancels(db, input.observations, t)),
      earlyNoDrivers: result('rides ended NO_DRIVERS_AVAILABLE before their rounds ran out', await earlyNoDrivers(db, input.allRoundsMs, t)),
    };
  } finally {
    await db.end();
  }
}
