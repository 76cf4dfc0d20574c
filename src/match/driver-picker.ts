// Finding drivers for a round: the nearest eligible drivers around the pickup, each reserved for
// the ride in Redis (a driver holds at most one live offer). Redis only: callers run this
// outside any Postgres transaction.
import type { MatchPolicy } from '../config.ts';
import type { DriverRecords, Reservation } from '../drivers/driver-records.ts';
import { PICK_WITHIN_MS } from '../drivers/hold-timing.ts';
import type { Ride } from '../generated/prisma/client.ts';
import type { Candidate, LocationIndex } from '../geo/location-index.ts';

/** Each round's search starts at this radius and doubles up to the round's radius. */
const FIRST_SEARCH_RADIUS_KM = 0.5;
/** A reservation outlives its offer a little, so it is never free while the offer is live. */
const RESERVATION_MARGIN_MS = 1_000;

/** No driver could be reserved, but that may change in a moment: not an empty area (see pick). */
export class DriversNotKnownYetError extends Error {
  override name = 'DriversNotKnownYetError';
}

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
   * empty area), and DriversNotKnownYetError when none could be reserved but the area may not be
   * empty: drivers were found whose state is not known yet (a record waiting to be rebuilt after
   * a shard moved, or a reply that did not come back), or the area's shard changed recently and
   * its drivers are still pinging in. `deadline` (performance.now() ms):
   * no new Redis step starts after it, so a slow driver shard costs the caller one command
   * timeout, not one per batch. Whatever the deadline (rounds have none), the pick is over once
   * its first reservation is PICK_WITHIN_MS old, replies still out included.
   */
  async pick(ride: RideToMatch, radiusKm: number, exclude: Set<string>, deadline = Infinity): Promise<Candidate[]> {
    const wanted = this.policy.batchSize;
    const holdMs = this.policy.roundTimeoutMs + RESERVATION_MARGIN_MS;
    const picked: Candidate[] = [];
    let batches = 0;
    let notKnownYet = 0;
    let firstReservedAt = Infinity;
    // The first reservations always go out: a search that answered late is not thrown away.
    const late = () => batches > 0 && performance.now() >= Math.min(deadline, firstReservedAt + PICK_WITHIN_MS);
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
        const answers = await this.reserveBatch(ride.id, batch, holdMs, Math.min(firstReservedAt, sentAt) + PICK_WITHIN_MS);
        batch.forEach((c, i) => answers[i] === 'reserved' && picked.push(c));
        notKnownYet += answers.filter((a) => a === 'unknown').length;
        if (answers.includes('reserved')) firstReservedAt = Math.min(firstReservedAt, sentAt);
      }
      if (candidates.length < limit) break; // the area has no more drivers that fit
    }
    if (picked.length === 0 && notKnownYet > 0) throw new DriversNotKnownYetError(`${notKnownYet} driver(s) found whose state is not known yet`);
    if (picked.length === 0 && this.locations.refilling(ride.pickupLat, ride.pickupLng, radiusKm)) {
      throw new DriversNotKnownYetError('the area changed shard recently and its drivers are still pinging in');
    }
    return picked.sort((a, b) => a.distanceKm - b.distanceKm);
  }

  /**
   * Reserves a batch, waiting for replies until `cutAt` at most (a slow shard may take a whole
   * command timeout). A reply still out then counts as 'unknown', and if it comes back reserved
   * later that reservation is given back: its driver is not in this round.
   */
  private async reserveBatch(rideId: string, batch: Candidate[], holdMs: number, cutAt: number): Promise<Reservation[]> {
    const replies = batch.map((c) => this.records.reserve(c.driverId, rideId, holdMs).catch((): Reservation => 'unknown'));
    const answers: Array<Reservation | null> = batch.map(() => null);
    const all = Promise.all(replies.map((reply, i) => reply.then((answer) => void (answers[i] = answer))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, cutAt - performance.now()))))]);
    clearTimeout(timer);
    return answers.map((answer, i) => {
      if (answer !== null) return answer;
      void replies[i]!.then(async (late) => {
        if (late === 'reserved') await this.release(rideId, [batch[i]!]);
      });
      return 'unknown';
    });
  }

  /** Gives reservations back (the round they were for did not happen). */
  async release(rideId: string, drivers: Candidate[]): Promise<void> {
    await Promise.all(drivers.map((c) => this.records.release(c.driverId, rideId).catch(() => {})));
  }
}
