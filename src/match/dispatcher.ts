// The ride state machine. Postgres is the source of truth and the arbiter: every transition of a
// ride starts by locking its row, so a decline, an accept, a cancel and a round timeout of the
// same ride happen one after another, never interleaved. Redis holds the fast paths (search,
// reservations, claim CAS); events are published only after the Postgres commit.
//
//   requestRide ─▶ SEARCHING ─▶ round 1..R: offers to the N nearest eligible drivers
//        accept (first wins) ─▶ ASSIGNED ─▶ COMPLETED (driver) | CANCELLED (rider)
//        every offer declined / round timed out ─▶ next round (wider radius, new drivers)
//        rounds exhausted ─▶ NO_DRIVERS_AVAILABLE          rider cancels ─▶ CANCELLED
//
// The round timer is durable: Ride.nextCheckAt says when a dispatcher must look at a SEARCHING
// ride again; every instance polls due rides with FOR UPDATE SKIP LOCKED, so when the instance
// that started a ride dies another one carries it on (a CHECK constraint keeps every SEARCHING
// ride scheduled).
import { randomUUID } from 'node:crypto';
import type { MatchPolicy } from '../config.ts';
import type { Db } from '../db/client.ts';
import { badInput, DomainError, notFound } from '../errors.ts';
import type { Prisma, Ride, RideOffer } from '../generated/prisma/client.ts';
import type { CarType, PaymentMethod } from '../generated/prisma/enums.ts';
import { validatePoint } from '../geo/location-input.ts';
import type { Candidate, LocationIndex } from '../geo/location-index.ts';
import type { Logger } from '../logger.ts';
import type { Events, RevokeReason } from '../pubsub.ts';
import type { DriverStates } from './driver-state.ts';
import { insertRideWithFirstRound } from './first-round-sql.ts';
import type { RideClaims } from './ride-claims.ts';
import { toRideView, type LatLng, type RideView } from './ride-view.ts';

type Tx = Prisma.TransactionClient;
type Effect = () => Promise<unknown>;

export interface RequestRideInput {
  pickup: LatLng;
  dropoff: LatLng;
  carType: CarType;
  paymentMethod: PaymentMethod;
  minDriverRating?: number | null;
}

export interface OfferView {
  ride: RideView;
  pickupDistanceKm: number;
  expiresAt: Date;
  round: number;
}

export type AcceptResult =
  | { kind: 'assigned'; ride: RideView; driverId: string }
  | { kind: 'taken'; rideId: string }
  | { kind: 'not-found'; rideId: string }
  | { kind: 'expired'; rideId: string };

export type DeclineResult = { kind: 'declined'; rideId: string } | { kind: 'not-found'; rideId: string } | { kind: 'expired'; rideId: string };

/** Types of RideEvent rows: the ride's history, for time-to-match and acceptance analytics. */
export const RideEventType = {
  REQUESTED: 'REQUESTED',
  ROUND_STARTED: 'ROUND_STARTED',
  ROUND_EMPTY: 'ROUND_EMPTY',
  OFFER_DECLINED: 'OFFER_DECLINED',
  OFFER_EXPIRED: 'OFFER_EXPIRED',
  ASSIGNED: 'ASSIGNED',
  CANCELLED: 'CANCELLED',
  ASSIGNMENT_CANCELLED: 'ASSIGNMENT_CANCELLED',
  NO_DRIVERS_AVAILABLE: 'NO_DRIVERS_AVAILABLE',
  COMPLETED: 'COMPLETED',
} as const;

/** Each round's search starts at this radius and doubles up to the round's radius. */
const FIRST_SEARCH_RADIUS_KM = 0.5;
/** How long the instance that creates a ride has to start round 1 before the pollers may. */
const FIRST_ROUND_GRACE_MS = 2_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TX_OPTIONS = { maxWait: 10_000, timeout: 15_000 };

export function validateRideId(rideId: string): void {
  if (!UUID.test(rideId)) throw badInput('rideId', 'must be a ride id (UUID)');
}

/**
 * What accepting means for this driver, from Postgres' rows alone. The driver's own offer speaks
 * first: an offer that ran out is OfferExpired whatever happened to the ride afterwards.
 */
export function acceptVerdict(
  ride: Pick<Ride, 'status' | 'driverId'>,
  offer: Pick<RideOffer, 'status' | 'expiresAt'> | null,
  driverId: string,
  now: number,
): 'assigned' | 'assignable' | 'taken' | 'expired' | 'not-found' {
  if (ride.status === 'ASSIGNED' && ride.driverId === driverId) return 'assigned'; // the winner asking again
  if (!offer) return 'not-found';
  if (offer.status === 'EXPIRED' || (offer.status === 'OFFERED' && offer.expiresAt.getTime() <= now)) return 'expired';
  if (ride.status === 'ASSIGNED' || ride.status === 'COMPLETED') return 'taken';
  if (ride.status !== 'SEARCHING' || offer.status !== 'OFFERED') return 'not-found';
  return 'assignable';
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e?.code === 'P2002' || e?.cause?.code === '23505' || /23505|unique constraint/i.test(e?.message ?? '');
}

export interface DispatcherDeps {
  db: Db;
  locations: LocationIndex;
  drivers: DriverStates;
  claims: RideClaims;
  events: Events;
  policy: MatchPolicy;
  driverTtlMs: number;
  log: Logger;
}

export class Dispatcher {
  private readonly db: Db;
  private readonly policy: MatchPolicy;
  private readonly log: Logger;
  private poller: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly deps: DispatcherDeps) {
    this.db = deps.db;
    this.policy = deps.policy;
    this.log = deps.log;
  }

  // ── Rider ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Creates the ride and sends its first offers before answering. The fast path, when round 1
   * finds drivers: reserve them in Redis first, then write ride + offers + history in one
   * statement, then publish. Otherwise the ride is stored and the general round loop widens.
   */
  async requestRide(riderId: string, input: RequestRideInput): Promise<RideView> {
    validatePoint(input.pickup, 'pickup.');
    validatePoint(input.dropoff, 'dropoff.');
    const minRating = input.minDriverRating ?? null;
    if (minRating !== null && !(minRating >= 0 && minRating <= 5)) throw badInput('minDriverRating', 'must be between 0 and 5');

    const ride = {
      id: randomUUID(),
      riderId,
      pickupLat: input.pickup.lat,
      pickupLng: input.pickup.lng,
      dropoffLat: input.dropoff.lat,
      dropoffLng: input.dropoff.lng,
      carType: input.carType,
      paymentMethod: input.paymentMethod,
      minDriverRating: minRating,
    };
    const now = Date.now();
    const roundEndsAt = new Date(now + this.policy.roundTimeoutMs);
    const radiusKm = this.radiusForRound(1);
    const picked = await this.pickDrivers(ride, radiusKm, new Set(), roundEndsAt).catch((err) => {
      this.log.warn(`ride ${ride.id}: round 1 search failed; the round loop retries`, err);
      return [];
    });
    if (picked.length === 0) return this.requestRideSlowly(ride);

    const offers = picked.map((c) => ({ id: randomUUID(), driverId: c.driverId, pickupDistanceKm: c.distanceKm, expiresAt: roundEndsAt }));
    // The claim record is written alongside the ride: no driver can claim before the offers are
    // published, and those go out only after both are stored.
    const [stored, claimStatus] = await Promise.allSettled([
      insertRideWithFirstRound(this.db, {
        ride,
        at: new Date(now),
        roundEndsAt,
        nextCheckAt: this.nextCheck(roundEndsAt, now),
        offers,
        detail: `radius ${radiusKm} km, ${offers.length} offers`,
      }),
      this.deps.claims.open(ride.id, offers),
    ]);
    if (stored.status === 'rejected') {
      await Promise.all([
        ...picked.map((c) => this.deps.drivers.release(c.driverId, ride.id).catch(() => {})),
        this.deps.claims.close(ride.id).catch(() => {}),
      ]);
      throw stored.reason;
    }
    const view: RideView = {
      id: ride.id,
      riderId,
      pickup: input.pickup,
      dropoff: input.dropoff,
      carType: ride.carType,
      paymentMethod: ride.paymentMethod,
      minDriverRating: minRating,
      status: 'SEARCHING',
      driverId: null,
      round: 1,
      version: 0,
      endReason: null,
      requestedAt: new Date(now),
      assignedAt: null,
      endedAt: null,
    };
    await this.run([
      // If the claim record could not be written, open it again before announcing (it is idempotent).
      () => (claimStatus.status === 'fulfilled' && claimStatus.value === 'OPEN' ? this.announceOffers(view, offers) : this.publishOffers(view, offers)),
    ]);
    return view;
  }

  /** No driver for round 1: store the ride and let the round loop widen the search (or end it). */
  private async requestRideSlowly(ride: Prisma.RideUncheckedCreateInput & { id: string }): Promise<RideView> {
    await this.db.$transaction([
      this.db.ride.create({ data: { ...ride, nextCheckAt: new Date(Date.now() + FIRST_ROUND_GRACE_MS) } }),
      this.db.rideEvent.create({ data: { rideId: ride.id, type: RideEventType.REQUESTED } }),
    ]);
    // If this fails (or the process dies), the pollers take over after the grace period.
    await this.track(this.advance(ride.id, { force: true })).catch((err) => this.log.error(`ride ${ride.id}: round loop failed`, err));
    return toRideView(await this.db.ride.findUniqueOrThrow({ where: { id: ride.id } }));
  }

  async cancel(riderId: string, rideId: string): Promise<RideView> {
    return this.transition(rideId, async (tx, ride, effects) => {
      if (ride.riderId !== riderId) throw new DomainError('FORBIDDEN', 'only the rider who requested a ride can cancel it');
      if (ride.status === 'CANCELLED') return toRideView(ride);
      if (ride.status !== 'SEARCHING' && ride.status !== 'ASSIGNED') {
        throw new DomainError('INVALID_STATE', `ride is already ${ride.status}`);
      }
      const now = new Date();
      const updated = await tx.ride.update({
        where: { id: rideId },
        data: { status: 'CANCELLED', endedAt: now, nextCheckAt: null, endReason: 'cancelled by rider', version: { increment: 1 } },
      });
      if (ride.status === 'SEARCHING') {
        const live = await this.endLiveOffers(tx, rideId, 'REVOKED', now);
        await tx.rideEvent.create({ data: { rideId, type: RideEventType.CANCELLED, round: ride.round } });
        effects.push(...live.map((o) => () => this.revoke(o.driverId, rideId, 'CANCELLED')));
      } else {
        await tx.rideEvent.create({ data: { rideId, type: RideEventType.ASSIGNMENT_CANCELLED, driverId: ride.driverId } });
        // The assigned driver hears it on their offers feed and becomes available again.
        effects.push(() => this.revoke(ride.driverId!, rideId, 'CANCELLED'));
      }
      effects.push(() => this.deps.claims.close(rideId), () => this.publishRide(updated));
      return toRideView(updated);
    });
  }

  // ── Driver ───────────────────────────────────────────────────────────────────────────────────

  /**
   * First valid accept wins. Redis answers races in one round trip (claim.lua); the winner's
   * claim is then confirmed in Postgres, which refuses a second assignment by constraint. If
   * Postgres refuses or fails, the Redis claim is undone.
   */
  async accept(driverId: string, rideId: string): Promise<AcceptResult> {
    validateRideId(rideId);
    const verdict = await this.deps.claims.claim(rideId, driverId);
    switch (verdict) {
      case 'TAKEN':
        return { kind: 'taken', rideId };
      case 'EXPIRED':
        return { kind: 'expired', rideId };
      case 'CLOSED':
      case 'NOT_OFFERED':
        return this.explainMissingOffer(driverId, rideId);
      case 'WON':
      case 'MISSING':
        break;
    }
    let result: AcceptResult;
    try {
      result = await this.transition(rideId, (tx, ride, effects) => this.confirmAssignment(tx, ride, driverId, effects));
    } catch (err) {
      if (verdict === 'WON') await this.deps.claims.unclaim(rideId, driverId, 'OPEN').catch(() => {});
      if (err instanceof DomainError) throw err;
      if (isUniqueViolation(err)) throw new DomainError('INVALID_STATE', 'you already have an active ride');
      this.log.error(`ride ${rideId}: recording the assignment failed`, err);
      throw new DomainError('RETRYABLE', 'the assignment could not be recorded; nothing changed, try again');
    }
    if (verdict === 'WON' && result.kind !== 'assigned') {
      await this.syncClaimRecord(rideId, driverId).catch((err) => this.log.warn(`ride ${rideId}: claim record not synced`, err));
    }
    return result;
  }

  async decline(driverId: string, rideId: string): Promise<DeclineResult> {
    return this.endOffer(driverId, rideId, 'DECLINED');
  }

  /** The assigned driver finished the ride: it is COMPLETED and the driver available again. */
  async complete(driverId: string, rideId: string): Promise<RideView> {
    return this.transition(rideId, async (tx, ride, effects) => {
      if (ride.driverId !== driverId) throw new DomainError('FORBIDDEN', 'only the assigned driver can complete a ride');
      if (ride.status === 'COMPLETED') return toRideView(ride);
      if (ride.status !== 'ASSIGNED') throw new DomainError('INVALID_STATE', `ride is ${ride.status}`);
      const updated = await tx.ride.update({
        where: { id: rideId },
        data: { status: 'COMPLETED', endedAt: new Date(), version: { increment: 1 } },
      });
      await tx.rideEvent.create({ data: { rideId, type: RideEventType.COMPLETED, driverId } });
      effects.push(() => this.deps.drivers.release(driverId, rideId), () => this.publishRide(updated));
      return toRideView(updated);
    });
  }

  /** The driver went OFFLINE (or silent): every live offer they hold is revoked and its ride moves on. */
  async driverUnavailable(driverId: string): Promise<void> {
    const offers = await this.db.rideOffer.findMany({ where: { driverId, status: 'OFFERED' }, select: { rideId: true } });
    await Promise.all(offers.map((o) => this.endOffer(driverId, o.rideId, 'EXPIRED')));
  }

  /** The driver's live offers: what their feed pushed, readable again after a reconnect. */
  async liveOffers(driverId: string): Promise<OfferView[]> {
    const offers = await this.db.rideOffer.findMany({
      where: { driverId, status: 'OFFERED', expiresAt: { gt: new Date() }, ride: { status: 'SEARCHING' } },
      include: { ride: true },
      orderBy: { sentAt: 'asc' },
    });
    return offers.map((o) => ({ ride: toRideView(o.ride), pickupDistanceKm: o.pickupDistanceKm, expiresAt: o.expiresAt, round: o.round }));
  }

  async ride(rideId: string): Promise<RideView | null> {
    validateRideId(rideId);
    const row = await this.db.ride.findUnique({ where: { id: rideId } });
    return row && toRideView(row);
  }

  /** Whether a driver ever received an offer for this ride (they may read it). */
  async wasOffered(driverId: string, rideId: string): Promise<boolean> {
    return (await this.db.rideOffer.count({ where: { rideId, driverId } })) > 0;
  }

  // ── Rounds ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Looks at one SEARCHING ride if it is due (or `force`): revokes offers of drivers who fell
   * silent, and when the round is over (timeout, or no offer left) starts the next round or ends
   * the ride. Rides another instance is already looking at are skipped.
   */
  async advance(rideId: string, opts: { force?: boolean } = {}): Promise<void> {
    const effects: Effect[] = [];
    const reserved: Array<{ driverId: string }> = [];
    try {
      await this.db.$transaction(async (tx) => {
        const onlyIfDue = opts.force ? '' : 'AND "nextCheckAt" <= now()';
        const locked = await tx.$queryRawUnsafe<Array<{ id: string }>>(
          `SELECT id FROM "Ride" WHERE id = $1::uuid AND status = 'SEARCHING' ${onlyIfDue} FOR UPDATE SKIP LOCKED`,
          rideId,
        );
        if (locked.length === 0) return;
        const ride = await tx.ride.findUniqueOrThrow({ where: { id: rideId } });
        const now = Date.now();
        // Every offer this ride ever made: the live ones matter now, all of them for who to skip.
        const offers = await tx.rideOffer.findMany({ where: { rideId } });
        const live = offers.filter((o) => o.status === 'OFFERED');

        const silent = await this.silentDrivers(live, now);
        if (silent.length > 0) {
          await this.expireOffers(tx, rideId, silent, new Date(now), effects);
        }
        const remaining = live.filter((o) => !silent.includes(o));
        const roundOver =
          ride.round === 0 || remaining.length === 0 || (ride.roundEndsAt !== null && ride.roundEndsAt.getTime() <= now);
        if (!roundOver) {
          await tx.ride.update({ where: { id: rideId }, data: { nextCheckAt: this.nextCheck(ride.roundEndsAt!, now) } });
          return;
        }
        await this.expireOffers(tx, rideId, remaining, new Date(now), effects);
        await this.startNextRound(tx, ride, new Set(offers.map((o) => o.driverId)), now, effects, reserved);
      }, TX_OPTIONS);
    } catch (err) {
      // Nothing was committed: give back what this attempt reserved. The ride stays due.
      await Promise.all(reserved.map((r) => this.deps.drivers.release(r.driverId, rideId).catch(() => {})));
      throw err;
    }
    await this.run(effects);
  }

  /** `exclude`: drivers already offered this ride (declined, expired or revoked): never again. */
  private async startNextRound(
    tx: Tx,
    ride: Ride,
    exclude: Set<string>,
    now: number,
    effects: Effect[],
    reserved: Array<{ driverId: string }>,
  ): Promise<void> {
    const everOffered = exclude.size > 0;
    let round = ride.round;
    let lastRadius = 0;
    while (round < this.policy.maxRounds) {
      round += 1;
      const radiusKm = this.radiusForRound(round);
      lastRadius = radiusKm;
      const expiresAt = new Date(now + this.policy.roundTimeoutMs);
      const picked = await this.pickDrivers(ride, radiusKm, exclude, expiresAt);
      reserved.push(...picked);
      if (picked.length === 0) {
        // Nobody to offer to at this radius: widen at once rather than wait out an empty round.
        await tx.rideEvent.create({ data: { rideId: ride.id, type: RideEventType.ROUND_EMPTY, round, detail: `radius ${radiusKm} km` } });
        continue;
      }
      const offers = picked.map((c) => ({
        id: randomUUID(),
        rideId: ride.id,
        driverId: c.driverId,
        round,
        pickupDistanceKm: c.distanceKm,
        sentAt: new Date(now),
        expiresAt,
      }));
      await tx.rideOffer.createMany({ data: offers });
      const updated = await tx.ride.update({
        where: { id: ride.id },
        data: { round, roundEndsAt: expiresAt, nextCheckAt: this.nextCheck(expiresAt, now) },
      });
      await tx.rideEvent.create({
        data: { rideId: ride.id, type: RideEventType.ROUND_STARTED, round, detail: `radius ${radiusKm} km, ${offers.length} offers` },
      });
      effects.push(async () => {
        await this.publishOffers(toRideView(updated), offers);
        await this.publishRide(updated);
      });
      return;
    }
    const reason = everOffered
      ? `no driver accepted in ${this.policy.maxRounds} round(s)`
      : `no available driver within ${lastRadius || this.radiusForRound(this.policy.maxRounds)} km`;
    const ended = await tx.ride.update({
      where: { id: ride.id },
      data: { status: 'NO_DRIVERS_AVAILABLE', round, endedAt: new Date(now), nextCheckAt: null, endReason: reason, version: { increment: 1 } },
    });
    await tx.rideEvent.create({ data: { rideId: ride.id, type: RideEventType.NO_DRIVERS_AVAILABLE, round, detail: reason } });
    effects.push(() => this.deps.claims.close(ride.id), () => this.publishRide(ended));
  }

  /** The nearest eligible drivers at this radius, each reserved for this ride (nearest first). */
  private async pickDrivers(
    ride: Pick<Ride, 'id' | 'pickupLat' | 'pickupLng' | 'carType' | 'paymentMethod' | 'minDriverRating'>,
    radiusKm: number,
    exclude: Set<string>,
    expiresAt: Date,
  ): Promise<Candidate[]> {
    const wanted = this.policy.batchSize;
    const picked: Candidate[] = [];
    for (let attempt = 0; attempt < 3 && picked.length < wanted; attempt++) {
      const limit = (wanted - picked.length) * 2 + 3;
      const candidates = await this.deps.locations.search({
        lat: ride.pickupLat,
        lng: ride.pickupLng,
        startRadiusKm: Math.min(FIRST_SEARCH_RADIUS_KM, radiusKm),
        maxRadiusKm: radiusKm,
        limit,
        carType: ride.carType,
        paymentMethod: ride.paymentMethod,
        minRating: ride.minDriverRating,
        exclude,
      });
      for (const c of candidates) exclude.add(c.driverId);
      let queue = candidates;
      while (queue.length > 0 && picked.length < wanted) {
        const batch = queue.slice(0, wanted - picked.length);
        queue = queue.slice(batch.length);
        const ok = await Promise.all(
          batch.map((c) => this.deps.drivers.reserve(c.driverId, ride.id, expiresAt.getTime()).catch(() => false)),
        );
        batch.forEach((c, i) => ok[i] && picked.push(c));
      }
      if (candidates.length < limit) break; // the area has no more drivers that fit
    }
    return picked.sort((a, b) => a.distanceKm - b.distanceKm);
  }

  radiusForRound(round: number): number {
    const { radiusStartKm, radiusStepKm, radiusCapKm } = this.policy;
    return Math.min(radiusCapKm, radiusStartKm + radiusStepKm * (round - 1));
  }

  /** Next look at a searching ride: the round's end, or earlier to catch drivers who fell silent. */
  private nextCheck(roundEndsAt: Date, now: number): Date {
    const silenceCheck = now + Math.max(this.policy.pollMs, this.deps.driverTtlMs / 2);
    return new Date(Math.min(roundEndsAt.getTime(), silenceCheck));
  }

  private async silentDrivers(live: RideOffer[], now: number): Promise<RideOffer[]> {
    if (live.length === 0) return [];
    const seen = await this.deps.drivers.lastSeen(live.map((o) => o.driverId)).catch(() => null);
    if (!seen) return []; // cannot tell: let the round run its course
    return live.filter((o) => {
      const at = seen.get(o.driverId);
      return at === null || at === undefined || at < now - this.deps.driverTtlMs;
    });
  }

  private async expireOffers(tx: Tx, rideId: string, offers: RideOffer[], at: Date, effects: Effect[]): Promise<void> {
    if (offers.length === 0) return;
    await tx.rideOffer.updateMany({
      where: { id: { in: offers.map((o) => o.id) }, status: 'OFFERED' },
      data: { status: 'EXPIRED', respondedAt: at },
    });
    await tx.rideEvent.createMany({
      data: offers.map((o) => ({ rideId, type: RideEventType.OFFER_EXPIRED, round: o.round, driverId: o.driverId })),
    });
    effects.push(() => this.deps.claims.withdraw(rideId, offers.map((o) => o.driverId)));
    effects.push(...offers.map((o) => () => this.revoke(o.driverId, rideId, 'EXPIRED')));
  }

  // ── Claims ───────────────────────────────────────────────────────────────────────────────────

  private async confirmAssignment(tx: Tx, ride: Ride, driverId: string, effects: Effect[]): Promise<AcceptResult> {
    const rideId = ride.id;
    const offer = await tx.rideOffer.findUnique({ where: { rideId_driverId: { rideId, driverId } } });
    const verdict = acceptVerdict(ride, offer, driverId, Date.now());
    if (verdict === 'assigned') return { kind: 'assigned', ride: toRideView(ride), driverId };
    if (verdict !== 'assignable') return { kind: verdict, rideId };

    const now = new Date();
    const assigned = await tx.ride.update({
      where: { id: rideId },
      data: { status: 'ASSIGNED', driverId, assignedAt: now, nextCheckAt: null, version: { increment: 1 } },
    });
    await tx.rideOffer.update({ where: { id: offer!.id }, data: { status: 'ACCEPTED', respondedAt: now } });
    const losers = await this.endLiveOffers(tx, rideId, 'REVOKED', now);
    await tx.rideEvent.create({ data: { rideId, type: RideEventType.ASSIGNED, round: offer!.round, driverId } });

    effects.push(
      () => this.deps.claims.markTaken(rideId, driverId),
      () => this.deps.drivers.assign(driverId, rideId),
      ...losers.map((l) => () => this.revoke(l.driverId, rideId, 'TAKEN')),
      () => this.publishRide(assigned),
    );
    return { kind: 'assigned', ride: toRideView(assigned), driverId };
  }

  /** Redis said the driver holds no live offer (or the ride is closed): let Postgres explain which. */
  private async explainMissingOffer(driverId: string, rideId: string): Promise<AcceptResult> {
    const [ride, offer] = await Promise.all([
      this.db.ride.findUnique({ where: { id: rideId } }),
      this.db.rideOffer.findUnique({ where: { rideId_driverId: { rideId, driverId } } }),
    ]);
    if (!ride) throw notFound('ride', rideId);
    const verdict = acceptVerdict(ride, offer, driverId, Date.now());
    // 'assigned': the claim record was rebuilt without us (shard failover) but Postgres says we won.
    if (verdict === 'assigned') return { kind: 'assigned', ride: toRideView(ride), driverId };
    return { kind: verdict === 'assignable' ? 'not-found' : verdict, rideId };
  }

  /** Makes the Redis claim record agree with Postgres after Postgres overruled a Redis WON. */
  private async syncClaimRecord(rideId: string, driverId: string): Promise<void> {
    const ride = await this.db.ride.findUnique({ where: { id: rideId }, select: { status: true, driverId: true } });
    if (ride?.status === 'ASSIGNED' && ride.driverId) await this.deps.claims.markTaken(rideId, ride.driverId);
    else if (ride?.status === 'SEARCHING') await this.deps.claims.unclaim(rideId, driverId, 'OPEN');
    else await this.deps.claims.close(rideId);
  }

  /** Ends one driver's live offer for a ride (declined, or expired because they went away). */
  private async endOffer(driverId: string, rideId: string, as: 'DECLINED' | 'EXPIRED'): Promise<DeclineResult> {
    let roundFinished = false;
    const result = await this.transition(rideId, async (tx, ride, effects): Promise<DeclineResult> => {
      const offer = await tx.rideOffer.findUnique({ where: { rideId_driverId: { rideId, driverId } } });
      if (!offer || offer.status === 'DECLINED' || offer.status === 'REVOKED') return { kind: 'not-found', rideId };
      if (offer.status === 'ACCEPTED') throw new DomainError('INVALID_STATE', 'you accepted this ride; it can no longer be declined');
      if (offer.status === 'EXPIRED') return { kind: 'expired', rideId };
      const now = new Date();
      await tx.rideOffer.update({ where: { id: offer.id }, data: { status: as, respondedAt: now } });
      await tx.rideEvent.create({
        data: { rideId, type: as === 'DECLINED' ? RideEventType.OFFER_DECLINED : RideEventType.OFFER_EXPIRED, round: offer.round, driverId },
      });
      effects.push(() => this.deps.claims.withdraw(rideId, [driverId]), () => this.deps.drivers.release(driverId, rideId));
      if (as === 'EXPIRED') effects.push(() => this.deps.events.publishOffer(driverId, { kind: 'revoked', rideId, reason: 'EXPIRED' }));
      if (ride.status === 'SEARCHING' && (await tx.rideOffer.count({ where: { rideId, status: 'OFFERED' } })) === 0) {
        // Everyone in the round said no: the next round starts now, not at the timeout.
        await tx.ride.update({ where: { id: rideId }, data: { nextCheckAt: now } });
        roundFinished = true;
      }
      return { kind: 'declined', rideId };
    });
    if (roundFinished) {
      await this.track(this.advance(rideId)).catch((err) => this.log.warn(`ride ${rideId}: next round deferred to the poller`, err));
    }
    return result;
  }

  /**
   * One transition of a ride: in a transaction that first locks the ride's row (so transitions of
   * the same ride never interleave), then the post-commit effects.
   */
  private async transition<T>(rideId: string, change: (tx: Tx, ride: Ride, effects: Effect[]) => Promise<T>): Promise<T> {
    validateRideId(rideId);
    const effects: Effect[] = [];
    const result = await this.db.$transaction(async (tx) => {
      const ride = await this.lockRide(tx, rideId);
      if (!ride) throw notFound('ride', rideId);
      return change(tx, ride, effects);
    }, TX_OPTIONS);
    await this.run(effects);
    return result;
  }

  /** Marks every live offer of a ride (REVOKED on cancel/assignment) and returns them. */
  private async endLiveOffers(tx: Tx, rideId: string, status: 'REVOKED', at: Date): Promise<Array<{ driverId: string }>> {
    const live = await tx.rideOffer.findMany({ where: { rideId, status: 'OFFERED' }, select: { driverId: true } });
    if (live.length > 0) await tx.rideOffer.updateMany({ where: { rideId, status: 'OFFERED' }, data: { status, respondedAt: at } });
    return live;
  }

  private async lockRide(tx: Tx, rideId: string): Promise<Ride | null> {
    const locked = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM "Ride" WHERE id = ${rideId}::uuid FOR UPDATE`;
    if (locked.length === 0) return null;
    return tx.ride.findUnique({ where: { id: rideId } });
  }

  // ── Events ───────────────────────────────────────────────────────────────────────────────────

  /** Opens the claim record for a round's offers, then pushes each offer to its driver. */
  private async publishOffers(
    ride: RideView,
    offers: Array<{ driverId: string; pickupDistanceKm: number; expiresAt: Date }>,
  ): Promise<void> {
    // The claim record must exist before any driver can see the offer.
    const status = await this.deps.claims.open(ride.id, offers);
    if (status === 'OPEN') await this.announceOffers(ride, offers);
  }

  /** Pushes each offer to its driver's feed (the claim record is already open). */
  private async announceOffers(ride: RideView, offers: Array<{ driverId: string; pickupDistanceKm: number; expiresAt: Date }>): Promise<void> {
    await Promise.all(
      offers.map((o) =>
        this.deps.events.publishOffer(o.driverId, {
          kind: 'offer',
          ride,
          pickupDistanceKm: o.pickupDistanceKm,
          expiresAt: o.expiresAt,
          round: ride.round,
        }),
      ),
    );
  }

  /** Frees the driver's reservation for this ride and tells them the offer is gone. */
  private async revoke(driverId: string, rideId: string, reason: RevokeReason): Promise<void> {
    await this.deps.drivers.release(driverId, rideId);
    await this.deps.events.publishOffer(driverId, { kind: 'revoked', rideId, reason });
  }

  private async publishRide(row: Ride): Promise<void> {
    const driverPosition = row.driverId && row.status === 'ASSIGNED' ? await this.deps.drivers.position(row.driverId).catch(() => null) : null;
    await this.deps.events.publishRideUpdate({ ride: toRideView(row), at: new Date(), reason: row.endReason, driverPosition });
  }

  /**
   * Post-commit side effects, run concurrently (each is independent and correct in any order).
   * A failure is logged and never undoes the commit: Postgres already holds the truth, and the
   * Redis state it would have fixed heals by expiry or on the driver's next ping.
   */
  private async run(effects: Effect[]): Promise<void> {
    await Promise.all(
      effects.map((effect) => effect().catch((err) => this.log.warn('post-commit step failed (state in Postgres is correct)', err))),
    );
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  // ── Durable round timer ──────────────────────────────────────────────────────────────────────

  /** Every instance polls for due rides; SKIP LOCKED makes each ride's round run once. */
  startPolling(): void {
    this.poller = setInterval(() => {
      if (this.polling) return;
      this.polling = this.pollOnce()
        .then(() => {})
        .catch((err) => this.log.warn('dispatch poll failed', err))
        .finally(() => (this.polling = null));
    }, this.policy.pollMs);
    this.poller.unref();
  }

  async pollOnce(): Promise<number> {
    const due = await this.db.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM "Ride" WHERE "nextCheckAt" <= now() ORDER BY "nextCheckAt" LIMIT 50`;
    await Promise.all(
      due.map((r) => this.track(this.advance(r.id)).catch((err) => this.log.warn(`ride ${r.id}: round check failed`, err))),
    );
    return due.length;
  }

  /** Stops polling and waits for rounds and claims already under way. */
  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    await this.polling;
    await Promise.allSettled([...this.inFlight]);
  }
}
