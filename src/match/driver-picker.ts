// Finding drivers for a round: the nearest eligible drivers around the pickup, each reserved for
// the ride in Redis (a driver holds at most one live offer). Redis only: callers run this
// outside any Postgres transaction.
import type { MatchPolicy } from '../config.ts';
import { HOLD_SETTLE_MS, type DriverRecords } from '../drivers/driver-records.ts';
import type { Ride } from '../generated/prisma/client.ts';
import type { Candidate, LocationIndex } from '../geo/location-index.ts';

/** Each round's search starts at this radius and doubles up to the round's radius. */
const FIRST_SEARCH_RADIUS_KM = 0.5;
/** A reservation outlives its offer a little, so it is never free while the offer is live. */
const RESERVATION_MARGIN_MS = 1_000;
/**
 * No new Redis step starts once the first reservation is this old: its offer must be in Postgres
 * before the ping path judges the hold settled (HOLD_SETTLE_MS) and, finding no offer there,
 * frees the driver for another ride. A step already under way can still take a command timeout.
 */
const STEPS_AFTER_FIRST_RESERVATION_MS = HOLD_SETTLE_MS / 4;

export type RideToMatch = Pick<Ride, 'id' | 'pickupLat' | 'pickupLng' | 'carType' | 'paymentMethod' | 'minDriverRating'>;

export class DriverPicker {
  constructor(
    private readonly locations: LocationIndex,
    private readonly records: DriverRecords,
    private readonly policy: MatchPolicy,
  ) {}

  radiusForRound(round: number): number {
    const { radiusStartKm, radiusStepKm, radiusCapKm } = this.policy;
    return Math.min(radiusCapKm, radiusStartKm + radiusStepKm * (round - 1));
  }

  /**
   * The nearest eligible drivers at this radius, each reserved for this ride (nearest first).
   * Throws ShardTimeoutError when the area's shard did not answer (so nobody mistakes it for an
   * empty area). `deadline` (performance.now() ms): no new Redis step starts after it, so a slow
   * driver shard costs the caller one command timeout, not one per batch; nor once the first
   * reservation is STEPS_AFTER_FIRST_RESERVATION_MS old, whatever the deadline (rounds have none).
   */
  async pick(ride: RideToMatch, radiusKm: number, exclude: Set<string>, deadline = Infinity): Promise<Candidate[]> {
    const wanted = this.policy.batchSize;
    const holdMs = this.policy.roundTimeoutMs + RESERVATION_MARGIN_MS;
    const picked: Candidate[] = [];
    let batches = 0;
    let firstReservedAt = Infinity;
    // The first reservations always go out: a search that answered late is not thrown away.
    const late = () => batches > 0 && performance.now() >= Math.min(deadline, firstReservedAt + STEPS_AFTER_FIRST_RESERVATION_MS);
    for (let attempt = 0; attempt < 3 && picked.length < wanted && !late(); attempt++) {
      const limit = (wanted - picked.length) * 2 + 3;
      const candidates = await this.locations.search({
        lat: ride.pickupLat,
        lng: ride.pickupLng,
        startRadiusKm: Math.min(FIRST_SEARCH_RADIUS_KM, radiusKm),
        maxRadiusKm: radiusKm,
        limit,
        carType: ride.carType,
        paymentMethod: ride.paymentMethod,
        minRating: ride.minDriverRating,
        exclude,
        complete: true,
      });
      for (const c of candidates) exclude.add(c.driverId);
      let queue = candidates;
      while (queue.length > 0 && picked.length < wanted && !late()) {
        const batch = queue.slice(0, wanted - picked.length);
        queue = queue.slice(batch.length);
        batches += 1;
        const sentAt = performance.now();
        const ok = await Promise.all(batch.map((c) => this.records.reserve(c.driverId, ride.id, holdMs).catch(() => false)));
        batch.forEach((c, i) => ok[i] && picked.push(c));
        if (ok.includes(true)) firstReservedAt = Math.min(firstReservedAt, sentAt);
      }
      if (candidates.length < limit) break; // the area has no more drivers that fit
    }
    return picked.sort((a, b) => a.distanceKm - b.distanceKm);
  }

  /** Gives reservations back (the round they were for did not happen). */
  async release(rideId: string, drivers: Candidate[]): Promise<void> {
    await Promise.all(drivers.map((c) => this.records.release(c.driverId, rideId).catch(() => {})));
  }
}
