// The per-driver Redis record `drv:{id}`, on the shard that owns the driver id: the location
// ping's rate limit and order guard, the region the driver is indexed in, duty, and dispatch
// state (UNKNOWN / FREE / OFFERED = reserved for one ride / ON_RIDE). This module is the only
// writer of that record; its scripts live in ./lua.
//
// Postgres stays the truth. A new record (its shard was lost, or it expired) is UNKNOWN, never
// reserved, and rebuilt from Postgres on the next ping (after a shard's outage, once the move
// has settled: correctWhenSettled); a held record (OFFERED / ON_RIDE) is
// checked against Postgres at most once per reconcile interval by the ping path; and
// reconcileAssigned() puts every driver Postgres has on a trip back ON_RIDE.
import { BatchedReads } from '../db/batched-reads.ts';
import type { Db } from '../db/client.ts';
import { rateLimited } from '../errors.ts';
import type { DriverDuty } from '../generated/prisma/enums.ts';
import { TRIP_STATUSES } from '../match/ride-status.ts';
import { driverKey, driverRoute } from '../redis/keys.ts';
import type { Router } from '../redis/router.ts';
import { HOLD_SETTLE_MS } from './hold-timing.ts';

export type DispatchState = 'UNKNOWN' | 'FREE' | 'OFFERED' | 'ON_RIDE';

/** What Postgres says of a driver's dispatch state (how long a live offer still holds them). */
export interface DispatchTruth {
  state: Exclude<DispatchState, 'UNKNOWN'>;
  rideId: string;
  holdMs: number | null;
}

export interface DriverRecordPolicy {
  recordTtlMs: number;
  reconcileIntervalMs: number;
  location: { ratePerS: number; burst: number };
}

export interface PingResult {
  verdict: 'ok' | 'stale';
  previousRegion: string;
  duty: DriverDuty;
  state: DispatchState;
  /** The ride the record holds the driver for ('' when none). */
  ride: string;
}

export type Reservation = 'reserved' | 'busy' | 'unknown';
/** reserve.lua's replies. */
const RESERVATIONS: Record<number, Reservation> = { 0: 'busy', 1: 'reserved', 2: 'unknown' };

export class DriverRecords {
  constructor(
    private readonly router: Router,
    private readonly db: Db,
    private readonly policy: DriverRecordPolicy,
  ) {}

  /**
   * A location ping: rate limit, order guard, region pointer. Throws RATE_LIMITED (nothing
   * written). Restores or corrects the dispatch state from Postgres when the script asks.
   */
  async ping(driverId: string, p: { recordedAt: number; region: string; lat: number; lng: number; dutyIfNew: DriverDuty }): Promise<PingResult> {
    const { ratePerS, burst } = this.policy.location;
    const [verdict, previousRegion, duty, state, ride, extra, since] = (await this.router.write(driverRoute(driverId), (redis, tag) =>
      redis.driverPing(
        driverKey(driverId, tag),
        p.recordedAt,
        p.region,
        this.policy.recordTtlMs,
        p.dutyIfNew,
        p.lat,
        p.lng,
        ratePerS,
        burst,
        this.policy.reconcileIntervalMs,
        HOLD_SETTLE_MS,
      ),
    )) as [string, string, DriverDuty, DispatchState, string, number, string | undefined];
    if (verdict === 'limited') {
      throw rateLimited('location updates', Number(extra));
    }
    if (verdict === 'ok' && (state === 'UNKNOWN' || Number(extra) === 1)) {
      await this.correctWhenSettled(driverId, state, ride, since ?? '');
    }
    return { verdict: verdict as PingResult['verdict'], previousRegion, duty, state, ride };
  }

  /** Drivers whose record waits for its key to settle on a new owner before Postgres is read for it. */
  private readonly waitingToSettle = new Map<string, NodeJS.Timeout>();

  /**
   * Corrects the record from Postgres now, or once its key has settled after changing owner
   * (a shard went down or came back). Until then a new record stays UNKNOWN, which is never
   * reserved: another instance may still be routing the driver to the old owner, or have a
   * reservation there that a frozen shard runs on its thaw, and Postgres shows neither yet, so a
   * record rebuilt now could say FREE while the driver is being offered a ride elsewhere.
   * Postgres may be down: the record then stays as it is, and the next ping tries again.
   */
  private async correctWhenSettled(driverId: string, state: DispatchState, ride: string, since: string): Promise<void> {
    const route = driverRoute(driverId);
    const settled = () => this.router.unsettledForMs(route) <= 0;
    if (settled()) {
      // Still settled when the answer is written (the key may move while the read waits for its
      // batch), or the correction waits again. Postgres down: the next ping tries again.
      const done = await this.correctFromDb(driverId, state, ride, since, settled).catch(() => true);
      if (done) return;
    }
    if (this.waitingToSettle.has(driverId)) return;
    const waitMs = this.router.unsettledForMs(route);
    // The correction compares what this ping saw, so a record changed meanwhile is left alone.
    const timer = setTimeout(() => {
      this.waitingToSettle.delete(driverId);
      void this.correctWhenSettled(driverId, state, ride, since);
    }, Math.max(waitMs, 100));
    timer.unref();
    this.waitingToSettle.set(driverId, timer);
  }

  /** Drops the corrections still waiting for a move to settle (the instance is stopping). */
  stop(): void {
    for (const timer of this.waitingToSettle.values()) clearTimeout(timer);
    this.waitingToSettle.clear();
  }

  /** Records the driver's duty; returns the region the driver is indexed in ('' when none). */
  async setDuty(driverId: string, duty: DriverDuty): Promise<string> {
    return String(await this.router.write(driverRoute(driverId), (redis, tag) => redis.setDuty(driverKey(driverId, tag), duty, this.policy.recordTtlMs)));
  }

  /**
   * Holds the driver for one ride's offer, for `forMs` (Redis' clock). 'unknown': the record's state is not known yet (a new
   * record, waiting to be rebuilt from Postgres), so the driver may well be free in a moment.
   */
  async reserve(driverId: string, rideId: string, forMs: number): Promise<Reservation> {
    const reply = await this.router.write(driverRoute(driverId), (redis, tag) => redis.reserve(driverKey(driverId, tag), rideId, forMs));
    return RESERVATIONS[Number(reply)] ?? 'busy';
  }

  async release(driverId: string, rideId: string): Promise<void> {
    await this.router.write(driverRoute(driverId), (redis, tag) => redis.release(driverKey(driverId, tag), rideId));
  }

  async assign(driverId: string, rideId: string): Promise<boolean> {
    const reply = await this.router.write(driverRoute(driverId), (redis, tag) => redis.assign(driverKey(driverId, tag), rideId, this.policy.recordTtlMs));
    return Number(reply) === 1;
  }

  /** The drivers among these not heard from within `ttlMs` (judged by Redis' own clock). */
  async silentAmong(driverIds: string[], ttlMs: number): Promise<Set<string>> {
    const ages = await Promise.all(
      driverIds.map(async (id) => [id, Number(await this.router.write(driverRoute(id), (redis, tag) => redis.silence(driverKey(id, tag))))] as const),
    );
    return new Set(ages.filter(([, age]) => age < 0 || age > ttlMs).map(([id]) => id));
  }

  /** Starts counting the trip's distance from the driver's pings (ping.lua adds them up). */
  async startOdometer(driverId: string, rideId: string): Promise<void> {
    await this.router.write(driverRoute(driverId), (redis, tag) => redis.startOdometer(driverKey(driverId, tag), rideId));
  }

  /** The distance driven since startOdometer for this ride (km), or null when the record lost it. */
  async odometer(driverId: string, rideId: string): Promise<number | null> {
    const [trip, km] = await this.router.write(driverRoute(driverId), (redis, tag) => redis.hmget(driverKey(driverId, tag), 'trip', 'tripKm'));
    return trip === rideId && km !== null ? Number(km) : null;
  }

  /** The record as Redis holds it (for an operator's eyes), with how long ago the driver was heard from. */
  async inspect(driverId: string): Promise<{ fields: Record<string, string>; silentForMs: number | null }> {
    const [fields, age] = await this.router.write(driverRoute(driverId), (redis, tag) =>
      Promise.all([redis.hgetall(driverKey(driverId, tag)), redis.silence(driverKey(driverId, tag))]),
    );
    const ms = Number(age);
    return { fields: fields as Record<string, string>, silentForMs: ms < 0 ? null : ms };
  }

  /** Last reported position of a driver (kept on the record by every ping). */
  async position(driverId: string): Promise<{ lat: number; lng: number; at: Date } | null> {
    const [lat, lng, seen] = await this.router.write(driverRoute(driverId), (redis, tag) =>
      redis.hmget(driverKey(driverId, tag), 'lat', 'lng', 'seen'),
    );
    if (lat == null || lng == null || seen == null) return null;
    return { lat: Number(lat), lng: Number(lng), at: new Date(Number(seen)) };
  }

  /** What Postgres says the driver is doing: on a trip, holding a live offer, or free. */
  truthOf(driverId: string): Promise<DispatchTruth> {
    return this.truths.read(driverId);
  }

  /** A record is rebuilt on a driver's first ping after it was lost: drivers pinging together share one query. */
  private readonly truths = new BatchedReads<string, DispatchTruth>(async (driverIds) => {
    const rows = await this.db.$queryRaw<Array<{ kind: string; driverId: string; rideId: string; holdMs: number | null }>>`
      (SELECT DISTINCT ON ("driverId") 'ON_RIDE' AS kind, "driverId", id::text AS "rideId", NULL::float8 AS "holdMs" FROM "Ride"
        WHERE "driverId" = ANY(${driverIds}) AND status::text = ANY(${[...TRIP_STATUSES]})
        ORDER BY "driverId")
      UNION ALL
      (SELECT DISTINCT ON (o."driverId") 'OFFERED', o."driverId", o."rideId"::text, EXTRACT(EPOCH FROM (o."expiresAt" - now())) * 1000
         FROM "RideOffer" o JOIN "Ride" r ON r.id = o."rideId"
        WHERE o."driverId" = ANY(${driverIds}) AND o.status = 'OFFERED' AND o."expiresAt" > now() AND r.status = 'SEARCHING'
        ORDER BY o."driverId", o."expiresAt" DESC)`;
    const truths = new Map<string, DispatchTruth>();
    for (const r of rows) if (r.kind === 'ON_RIDE') truths.set(r.driverId, { state: 'ON_RIDE', rideId: r.rideId, holdMs: null });
    for (const r of rows) {
      if (r.kind === 'OFFERED' && !truths.has(r.driverId)) truths.set(r.driverId, { state: 'OFFERED', rideId: r.rideId, holdMs: Math.ceil(Number(r.holdMs)) });
    }
    return truths;
  }, { state: 'FREE', rideId: '', holdMs: null });

  /**
   * Rebuilds or corrects the record's dispatch state from Postgres, unless it changed meanwhile
   * (`seenSince`: the hold's stamp as seen, so a hold taken again for the same ride is left alone).
   * False when nothing was written because `stillWanted` said no once Postgres had answered.
   */
  async correctFromDb(driverId: string, seenState: DispatchState, seenRide: string, seenSince = '', stillWanted: () => boolean = () => true): Promise<boolean> {
    const truth = await this.truthOf(driverId);
    if (truth.state === seenState && truth.rideId === seenRide) return true;
    if (!stillWanted()) return false;
    await this.router.write(driverRoute(driverId), (redis, tag) =>
      redis.correct(driverKey(driverId, tag), seenState, seenRide, truth.state, truth.rideId, truth.holdMs ?? '', seenSince),
    );
    return true;
  }

  /**
   * Every driver Postgres has on a trip is ON_RIDE in Redis (a lost assign, a record rebuilt
   * wrong). Bounded: at most `limit` rides per call, oldest assignments first after `cursor`.
   */
  async reconcileAssigned(opts: { limit: number; after?: string } = { limit: 1_000 }): Promise<{ checked: number; corrected: number; last: string | null }> {
    const rows = await this.db.$queryRaw<Array<{ id: string; driverId: string }>>`
      SELECT id::text AS id, "driverId" FROM "Ride"
       WHERE status::text = ANY(${[...TRIP_STATUSES]}) AND "driverId" IS NOT NULL
         AND "assignedAt" < now() - make_interval(secs => ${HOLD_SETTLE_MS / 1000})
         AND id::text > ${opts.after ?? ''}
       ORDER BY id LIMIT ${opts.limit}`;
    const changed = await Promise.all(rows.map((r) => this.assign(r.driverId, r.id).catch(() => false)));
    return { checked: rows.length, corrected: changed.filter(Boolean).length, last: rows.at(-1)?.id ?? null };
  }
}
