// A rider's side of a ride: request it, cancel it.
//
// requestRide's fast path: drivers are found and reserved in Redis first, then the ride, its
// offers and its history are written by one statement, and only then are offers announced. A
// rider holds at most one live ride (a partial unique index decides races), and a request
// carrying a client key is idempotent: the same key returns the ride it created (a unique
// constraint), so a resend after a reconnect never creates a second ride.
import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../db/errors.ts';
import { badInput, DomainError } from '../errors.ts';
import type { CarType, PaymentMethod } from '../generated/prisma/enums.ts';
import { validatePoint } from '../geo/location-input.ts';
import type { Logger } from '../logger.ts';
import { endLiveOffers } from './assignment.ts';
import { silenceCheckMs, type MatchDeps } from './deps.ts';
import { History } from './history.ts';
import { insertRideWithFirstRound, insertRideWithoutRound, scheduleWindow, type NewRide } from './ride-insert-sql.ts';
import type { SchedulingPolicy } from '../config.ts';
import { regionOf } from '../geo/cells.ts';
import type { Estimates } from '../pricing/estimates.ts';
import { surgeCellOf } from '../pricing/surge.ts';
import { validateRideId } from './ride-ids.ts';
import { isCancellable, isLive, LIVE_STATUSES } from './ride-status.ts';
import { toRideView, type LatLng, type RideView } from './ride-view.ts';
import type { RoundScheduler } from './rounds.ts';

export interface RequestRideInput {
  pickup: LatLng;
  dropoff: LatLng;
  carType: CarType;
  paymentMethod: PaymentMethod;
  minDriverRating?: number | null;
  /** The client's idempotency key: 1-64 characters of letters, digits, `-` and `_`. */
  clientKey?: string | null;
  /** The rider's fare estimate: its total is honoured while it is valid and matches. */
  estimateId?: string | null;
  /** Book ahead: dispatch starts SCHEDULE_DISPATCH_LEAD_MS before this. */
  scheduledAt?: Date | null;
}

/** How long the instance that creates a ride has to start round 1 before the pollers may. */
const FIRST_ROUND_GRACE_MS = 2_000;
/**
 * The Redis work a request waits for (round 1's search and reservations, and the wider rounds
 * when round 1 found nobody): one overall budget, not one command timeout per step. Past it, or
 * when a shard did not answer, the ride is stored SEARCHING and the pollers carry it on.
 */
const REQUEST_REDIS_BUDGET_MS = 1_000;
const CLIENT_KEY = /^[A-Za-z0-9_-]{1,64}$/;


export class RideRequests {
  constructor(
    private readonly deps: MatchDeps,
    private readonly rounds: RoundScheduler,
    private readonly estimates: Estimates,
    private readonly scheduling: SchedulingPolicy,
  ) {}

  /**
   * Creates the ride and sends its first offers before answering (or returns the ride this key
   * made). `log`: the request's logger (its lines name the request).
   */
  async request(riderId: string, input: RequestRideInput, log: Logger = this.deps.log): Promise<RideView> {
    const receivedAt = performance.now();
    validatePoint(input.pickup, 'pickup.');
    validatePoint(input.dropoff, 'dropoff.');
    const minRating = input.minDriverRating ?? null;
    if (minRating !== null && !(minRating >= 0 && minRating <= 5)) throw badInput('minDriverRating', 'must be between 0 and 5');
    const requestKey = input.clientKey ?? null;
    if (requestKey !== null && !CLIENT_KEY.test(requestKey)) throw badInput('clientKey', 'must be 1-64 letters, digits, - or _');
    if (input.estimateId) validateRideId(input.estimateId, 'estimateId');

    // Cheap reads first, so a repeat or a second live ride costs no driver search; the
    // constraints below decide the races these reads cannot see.
    const earlier = await this.existing(riderId, requestKey);
    if (earlier) return earlier;
    if (input.scheduledAt) await this.checkScheduleWindow(input.scheduledAt);
    const quote = await this.estimates.quoteFor(riderId, input);

    const ride: NewRide = {
      id: randomUUID(),
      riderId,
      pickupLat: input.pickup.lat,
      pickupLng: input.pickup.lng,
      dropoffLat: input.dropoff.lat,
      dropoffLng: input.dropoff.lng,
      carType: input.carType,
      paymentMethod: input.paymentMethod,
      minDriverRating: minRating,
      requestKey,
      pickupCell: surgeCellOf(input.pickup.lat, input.pickup.lng),
      pickupRegion: regionOf(input.pickup.lat, input.pickup.lng),
      estimateId: quote.estimateId,
      quotedTotal: quote.total,
      currency: quote.currency,
      surgeMultiplier: quote.surgeMultiplier,
    };
    if (input.scheduledAt) return this.insertAndCheck(ride, { scheduledAt: input.scheduledAt, dispatchLeadMs: this.scheduling.dispatchLeadMs }, receivedAt, log);
    const { picker, claims, notifier, telemetry, policy, db } = this.deps;
    const radiusKm = picker.radiusForRound(1);
    const deadline = performance.now() + REQUEST_REDIS_BUDGET_MS;
    let searched = true;
    const picked = await picker.pick(ride, radiusKm, new Set(), deadline).catch((err) => {
      log.warn({ err, rideId: ride.id }, 'round 1 found no driver it could reserve or read; the round loop retries');
      searched = false;
      return [];
    });
    if (picked.length === 0) {
      // Nobody near: the wider rounds run now, unless the area could not be read or the budget
      // is spent (then a poller runs them after the grace period, and the ride stays SEARCHING).
      const widenNow = searched && performance.now() < deadline;
      return this.insertAndCheck(ride, { graceMs: FIRST_ROUND_GRACE_MS }, receivedAt, log, widenNow);
    }

    const offers = picked.map((c) => ({ id: randomUUID(), driverId: c.driverId, pickupDistanceKm: c.distanceKm }));
    const driverIds = offers.map((o) => o.driverId);
    // The claim record is written alongside the ride; offers go out only after both are stored.
    const [stored, claimed] = await Promise.allSettled([
      insertRideWithFirstRound(db, ride, {
        roundTimeoutMs: policy.roundTimeoutMs,
        checkAfterMs: silenceCheckMs(this.deps),
        offers,
        detail: `radius ${radiusKm} km, ${offers.length} offers`,
      }),
      claims.open(ride.id, driverIds, policy.roundTimeoutMs),
    ]);
    if (stored.status === 'rejected') {
      await Promise.all([picker.release(ride.id, picked), claims.close(ride.id).catch(() => {})]);
      if (isUniqueViolation(stored.reason)) return this.resolveConflict(riderId, requestKey);
      throw stored.reason;
    }
    if (claimed.status === 'rejected') await claims.open(ride.id, driverIds, policy.roundTimeoutMs).catch(() => {});
    const { requestedAt, roundEndsAt } = stored.value;
    const view = this.newView(ride, requestedAt);
    telemetry.requested(log, ride);
    await notifier.announceOffers(view, offers.map((o) => ({ ...o, expiresAt: roundEndsAt! })));
    telemetry.offered(log, ride.id, 1, driverIds, radiusKm);
    telemetry.firstOffersOut(receivedAt);
    return view;
  }

  /**
   * No driver for round 1, or a ride booked ahead: store it and let the round loop take it on
   * (at once to widen the search, or when its dispatch is due).
   */
  private async insertAndCheck(ride: NewRide, when: Parameters<typeof insertRideWithoutRound>[2], receivedAt: number, log: Logger, widenNow = true): Promise<RideView> {
    try {
      await insertRideWithoutRound(this.deps.db, ride, when);
    } catch (err) {
      if (isUniqueViolation(err)) return this.resolveConflict(ride.riderId, ride.requestKey);
      throw err;
    }
    this.deps.telemetry.requested(log, ride);
    if ('scheduledAt' in when || !widenNow) return toRideView(await this.deps.db.ride.findUniqueOrThrow({ where: { id: ride.id } }));
    // If this fails (or the process dies), the pollers take over after the grace period.
    const offered = await this.rounds.advance(ride.id, { force: true, log }).catch((err) => {
      log.error({ err, rideId: ride.id }, 'round loop failed');
      return false;
    });
    if (offered) this.deps.telemetry.firstOffersOut(receivedAt);
    return toRideView(await this.deps.db.ride.findUniqueOrThrow({ where: { id: ride.id } }));
  }

  private async checkScheduleWindow(scheduledAt: Date): Promise<void> {
    const { minLeadMs, horizonMs } = this.scheduling;
    const verdict = await scheduleWindow(this.deps.db, scheduledAt, minLeadMs, horizonMs);
    if (verdict === 'too-soon') throw badInput('scheduledAt', `must be at least ${Math.round(minLeadMs / 60_000)} minutes ahead`);
    if (verdict === 'too-far') throw badInput('scheduledAt', `must be at most ${Math.round(horizonMs / 86_400_000)} days ahead`);
  }

  /** The ride this key already made, or refuse a second live ride. Null when neither. */
  private async existing(riderId: string, requestKey: string | null): Promise<RideView | null> {
    // One read for both, so a concurrent request with the same key is never mistaken for another ride.
    const rows = await this.deps.db.ride.findMany({
      where: { riderId, OR: [...(requestKey ? [{ requestKey }] : []), { status: { in: [...LIVE_STATUSES] } }] },
    });
    const same = requestKey ? rows.find((r) => r.requestKey === requestKey) : undefined;
    if (same) return toRideView(same);
    const live = rows.find((r) => isLive(r.status));
    if (live) {
      throw new DomainError('ACTIVE_RIDE_EXISTS', `you already have a live ride (${live.id}); cancel it or wait for it to end`, { rideId: live.id });
    }
    return null;
  }

  /** A constraint refused the insert: a concurrent request won the race. Say which. */
  private async resolveConflict(riderId: string, requestKey: string | null): Promise<RideView> {
    const earlier = await this.existing(riderId, requestKey);
    if (earlier) return earlier;
    throw new DomainError('RETRYABLE', 'the ride could not be recorded; nothing changed, try again');
  }

  private newView(ride: NewRide, requestedAt: Date): RideView {
    return {
      id: ride.id,
      riderId: ride.riderId,
      pickup: { lat: ride.pickupLat, lng: ride.pickupLng },
      dropoff: { lat: ride.dropoffLat, lng: ride.dropoffLng },
      carType: ride.carType,
      paymentMethod: ride.paymentMethod,
      minDriverRating: ride.minDriverRating,
      status: 'SEARCHING',
      driverId: null,
      round: 1,
      version: 0,
      endReason: null,
      quote: { estimateId: ride.estimateId, total: ride.quotedTotal!, currency: ride.currency!, surgeMultiplier: ride.surgeMultiplier ?? 1 },
      fare: null,
      requestedAt,
      scheduledAt: null,
      dispatchedAt: requestedAt,
      assignedAt: null,
      arrivedAt: null,
      startedAt: null,
      endedAt: null,
    };
  }

  async cancel(riderId: string, rideId: string, log: Logger = this.deps.log): Promise<RideView> {
    const { transitions, notifier, claims, telemetry } = this.deps;
    return transitions.run(rideId, async (tx, { ride, now }, effects) => {
      if (ride.riderId !== riderId) throw new DomainError('FORBIDDEN', 'only the rider who requested a ride can cancel it');
      if (ride.status === 'CANCELLED') return toRideView(ride);
      if (!isCancellable(ride.status)) {
        throw new DomainError('INVALID_STATE', ride.status === 'IN_PROGRESS' ? 'the trip has started' : `ride is already ${ride.status}`);
      }
      const updated = await tx.ride.update({
        where: { id: rideId },
        data: { status: 'CANCELLED', endedAt: now, nextCheckAt: null, endReason: 'cancelled by rider', version: { increment: 1 } },
      });
      let revoked = 0;
      if (ride.status === 'SEARCHING' || ride.status === 'SCHEDULED') {
        const live = await endLiveOffers(tx, rideId, now);
        revoked = live.length;
        await tx.rideHistory.create({ data: { rideId, type: History.CANCELLED, round: ride.round, at: now } });
        effects.push(...live.map((o) => () => notifier.revoke(o.driverId, rideId, 'CANCELLED')));
      } else {
        await tx.rideHistory.create({ data: { rideId, type: History.ASSIGNMENT_CANCELLED, driverId: ride.driverId, at: now } });
        // The assigned driver hears it on their offers feed and becomes available again.
        effects.push(() => notifier.revoke(ride.driverId!, rideId, 'CANCELLED'));
      }
      effects.push(() => claims.close(rideId), () => notifier.rideChanged(updated));
      effects.push(async () => telemetry.ended(log, updated, 'cancelled_by_rider', revoked));
      return toRideView(updated);
    });
  }
}
