// Offer rounds and the durable round timer. Ride.nextCheckAt says when a dispatcher must look at
// a SEARCHING ride again (round end, or earlier to catch drivers who fell silent); every instance
// polls due rides, so when the instance that started a ride dies another one carries it on (a
// CHECK constraint keeps every SEARCHING ride scheduled). Every deadline is Postgres now()-based.
//
// A round check that needs new drivers is three steps, so no Redis I/O runs inside a
// transaction: (1) lock the ride, expire what is over and decide; (2) search and reserve drivers
// in Redis; (3) lock again and store the round, unless the ride changed meanwhile (then the
// reservations are given back).
import { randomUUID } from 'node:crypto';
import type { Ride, RideOffer } from '../generated/prisma/client.ts';
import type { Candidate } from '../geo/location-index.ts';
import type { Logger } from '../logger.ts';
import { NoHealthyShardError, ShardTimeoutError } from '../redis/router.ts';
import { DriversNotKnownYetError } from './driver-picker.ts';
import { History } from './history.ts';
import { silenceCheckMs, type MatchDeps } from './deps.ts';
import { toRideView } from './ride-view.ts';
import type { Effect, Tx } from './transitions.ts';

/** While a round's drivers are searched outside a transaction, nobody else starts that round. */
const SEARCH_LEASE_MS = 2_000;

interface SearchPlan {
  ride: Ride;
  log: Logger;
  everOffered: boolean;
  exclude: Set<string>;
  /** Drivers found whose state is not known yet defer the round (see check), until this is false. */
  mayWaitForUnknownDrivers: boolean;
}

export class RoundScheduler {
  private poller: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: MatchDeps,
    /** Round checks run at once: at most half the pool, so requests always find a connection. */
    private readonly maxParallel: number,
  ) {}

  /**
   * Looks at one SEARCHING ride if it is due (or `force`): expires what is over, starts the next
   * round. True when a round's offers were announced. `log`: the logger of the request that
   * asked (the poller's checks use the service's).
   */
  advance(rideId: string, opts: { force?: boolean; log?: Logger } = {}): Promise<boolean> {
    return this.track(this.check(rideId, opts.force ?? false, opts.log ?? this.deps.log));
  }

  private async check(rideId: string, force: boolean, log: Logger): Promise<boolean> {
    const { db, records, transitions, driverTtlMs, policy } = this.deps;
    // Who of the live offers' drivers fell silent: asked of Redis before the transaction.
    const live = await db.rideOffer.findMany({ where: { rideId, status: 'OFFERED' }, select: { driverId: true } });
    const silent = live.length
      ? await records.silentAmong(live.map((o) => o.driverId), driverTtlMs).catch(() => new Set<string>())
      : new Set<string>();

    const plan = await transitions.run(rideId, async (tx, locked, effects): Promise<SearchPlan | null> => {
      const { now } = locked;
      if (!force && locked.ride.nextCheckAt && locked.ride.nextCheckAt > now) return null;
      const ride = locked.ride.status === 'SCHEDULED' ? await this.startDispatch(tx, locked.ride, now, effects) : locked.ride;
      if (ride.status !== 'SEARCHING') return null;
      const offers = await tx.rideOffer.findMany({ where: { rideId } });
      const liveOffers = offers.filter((o) => o.status === 'OFFERED');
      const ended = liveOffers.filter((o) => o.expiresAt <= now || silent.has(o.driverId));
      await this.expireOffers(tx, rideId, ended, now, effects, log);
      if (liveOffers.length > ended.length) {
        await tx.ride.update({ where: { id: rideId }, data: { nextCheckAt: this.nextCheck(ride.roundEndsAt ?? now, now) } });
        return null;
      }
      if (ride.round >= policy.maxRounds) {
        await this.endWithoutDriver(tx, ride, now, offers.length > 0, this.deps.picker.radiusForRound(policy.maxRounds), effects, log);
        return null;
      }
      await tx.ride.update({ where: { id: rideId }, data: { nextCheckAt: new Date(now.getTime() + SEARCH_LEASE_MS) } });
      const searchingForMs = now.getTime() - (ride.dispatchedAt ?? ride.requestedAt).getTime();
      return {
        ride,
        log,
        everOffered: offers.length > 0,
        exclude: new Set(offers.map((o) => o.driverId)),
        mayWaitForUnknownDrivers: searchingForMs < policy.maxRounds * policy.roundTimeoutMs,
      };
    });
    if (!plan) return false;
    try {
      return await this.startNextRound(plan);
    } catch (err) {
      // The area's shard did not answer, or the drivers found there are not known yet (their
      // records wait for a shard's move to settle): not an empty area. The search lease set above
      // brings the ride back to a poller shortly; no round was used up.
      if (err instanceof ShardTimeoutError || err instanceof NoHealthyShardError || err instanceof DriversNotKnownYetError) {
        log.info({ rideId, err: err.message }, 'round deferred: drivers could not be searched or reserved');
        return false;
      }
      throw err;
    }
  }

  private async startNextRound(plan: SearchPlan): Promise<boolean> {
    const { picker, transitions, policy, claims, notifier, telemetry } = this.deps;
    const empty: Array<{ round: number; radiusKm: number }> = [];
    let round = plan.ride.round;
    let radiusKm = 0;
    let picked: Candidate[] = [];
    while (round < policy.maxRounds && picked.length === 0) {
      round += 1;
      radiusKm = picker.radiusForRound(round);
      picked = await picker.pick(plan.ride, radiusKm, plan.exclude).catch((err) => {
        // Waiting for drivers to become known is bounded by the rounds' own time: past it, they
        // count as none, so the ride still ends within its rounds' deadline.
        if (err instanceof DriversNotKnownYetError && !plan.mayWaitForUnknownDrivers) return [];
        throw err;
      });
      if (picked.length === 0) empty.push({ round, radiusKm });
    }

    const stored = await transitions
      .run(plan.ride.id, async (tx, { ride, now }, effects) => {
        // Another dispatcher stored this round first, or the ride was cancelled meanwhile.
        if (ride.status !== 'SEARCHING' || ride.round !== plan.ride.round) return false;
        if (empty.length > 0) {
          await tx.rideHistory.createMany({
            data: empty.map((e) => ({ rideId: ride.id, type: History.ROUND_EMPTY, round: e.round, detail: `radius ${e.radiusKm} km`, at: now })),
          });
        }
        if (picked.length === 0) {
          await this.endWithoutDriver(tx, { ...ride, round }, now, plan.everOffered, radiusKm, effects, plan.log);
          return true;
        }
        const expiresAt = new Date(now.getTime() + policy.roundTimeoutMs);
        const offers = picked.map((c) => ({
          id: randomUUID(),
          rideId: ride.id,
          driverId: c.driverId,
          round,
          pickupDistanceKm: c.distanceKm,
          sentAt: now,
          expiresAt,
        }));
        await tx.rideOffer.createMany({ data: offers });
        const updated = await tx.ride.update({
          where: { id: ride.id },
          data: { round, roundEndsAt: expiresAt, nextCheckAt: this.nextCheck(expiresAt, now) },
        });
        await tx.rideHistory.create({
          data: { rideId: ride.id, type: History.ROUND_STARTED, round, detail: `radius ${radiusKm} km, ${offers.length} offers`, at: now },
        });
        effects.push(async () => {
          // Claimable first, then announced; an offer stored in Postgres is announced even when
          // the claim record cannot be written (an accept then asks Postgres alone).
          await claims.open(ride.id, offers.map((o) => o.driverId), policy.roundTimeoutMs).catch(() => {});
          await notifier.announceOffers(toRideView(updated), offers);
          telemetry.offered(plan.log, ride.id, round, offers.map((o) => o.driverId), radiusKm);
          await notifier.rideChanged(updated);
        });
        return true;
      })
      .catch(async (err) => {
        await picker.release(plan.ride.id, picked);
        throw err;
      });
    if (!stored) await picker.release(plan.ride.id, picked);
    return stored && picked.length > 0;
  }

  /** A booked ride's time has come: it searches from now on, like a ride requested now. */
  private async startDispatch(tx: Tx, ride: Ride, now: Date, effects: Effect[]): Promise<Ride> {
    const dispatched = await tx.ride.update({
      where: { id: ride.id },
      data: { status: 'SEARCHING', dispatchedAt: now, nextCheckAt: now, version: { increment: 1 } },
    });
    await tx.rideHistory.create({ data: { rideId: ride.id, type: History.DISPATCH_STARTED, at: now } });
    this.deps.log.info({ rideId: ride.id, riderId: ride.riderId }, 'scheduled ride dispatched');
    effects.push(() => this.deps.notifier.rideChanged(dispatched));
    return dispatched;
  }

  private async endWithoutDriver(tx: Tx, ride: Ride, now: Date, everOffered: boolean, radiusKm: number, effects: Effect[], log: Logger): Promise<void> {
    const reason = everOffered ? `no driver accepted in ${this.deps.policy.maxRounds} round(s)` : `no available driver within ${radiusKm} km`;
    const ended = await tx.ride.update({
      where: { id: ride.id },
      data: { status: 'NO_DRIVERS_AVAILABLE', round: ride.round, endedAt: now, nextCheckAt: null, endReason: reason, version: { increment: 1 } },
    });
    await tx.rideHistory.create({ data: { rideId: ride.id, type: History.NO_DRIVERS_AVAILABLE, round: ride.round, detail: reason, at: now } });
    effects.push(() => this.deps.claims.close(ride.id), () => this.deps.notifier.rideChanged(ended));
    effects.push(async () => this.deps.telemetry.ended(log, ended, 'no_drivers_available'));
  }

  private async expireOffers(tx: Tx, rideId: string, offers: RideOffer[], now: Date, effects: Effect[], log: Logger): Promise<void> {
    if (offers.length === 0) return;
    await tx.rideOffer.updateMany({ where: { id: { in: offers.map((o) => o.id) }, status: 'OFFERED' }, data: { status: 'EXPIRED', respondedAt: now } });
    await tx.rideHistory.createMany({
      data: offers.map((o) => ({ rideId, type: History.OFFER_EXPIRED, round: o.round, driverId: o.driverId, at: now })),
    });
    effects.push(() => this.deps.claims.withdraw(rideId, offers.map((o) => o.driverId)));
    effects.push(...offers.map((o) => () => this.deps.notifier.revoke(o.driverId, rideId, 'EXPIRED')));
    effects.push(async () => this.deps.telemetry.offersEnded(log, rideId, 'expired', offers.map((o) => o.driverId)));
  }

  private nextCheck(roundEndsAt: Date, now: Date): Date {
    return new Date(Math.min(roundEndsAt.getTime(), now.getTime() + silenceCheckMs(this.deps)));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  // ── The poller ───────────────────────────────────────────────────────────────────────────────

  /** Every instance polls for due rides; the row lock makes each ride's check run once at a time. */
  startPolling(): void {
    this.poller = setInterval(() => {
      if (this.polling) return;
      this.polling = this.pollOnce()
        .then(() => {})
        .catch((err) => this.deps.log.warn({ err }, 'dispatch poll failed'))
        .finally(() => (this.polling = null));
    }, this.deps.policy.pollMs);
    this.poller.unref();
  }

  /** Checks the rides that are due, at most maxParallel at a time; returns how many were due. */
  async pollOnce(): Promise<number> {
    const due = await this.deps.db.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM "Ride" WHERE "nextCheckAt" <= now() ORDER BY "nextCheckAt" LIMIT 100`;
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const { id } = due[next++]!;
        await this.advance(id).catch((err) => this.deps.log.warn({ err, rideId: id }, 'round check failed'));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxParallel, due.length) }, worker));
    return due.length;
  }

  /** Stops polling and waits for round checks already under way. */
  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    await this.polling;
    await Promise.allSettled([...this.inFlight]);
  }
}
