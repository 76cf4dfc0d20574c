// The per-ride claim record in Redis: the fast path of "first accept wins" (see lua/claim.lua).
// A claim is PENDING until Postgres commits the assignment; only then markTaken() makes every
// other driver hear TAKEN. Losing this record (shard died) is safe: claims answer MISSING and
// Postgres alone decides.
import { rideKey, rideRoute } from '../redis/keys.ts';
import { NoHealthyShardError, type Router } from '../redis/router.ts';

export type ClaimVerdict = 'WON' | 'MISSING' | 'PENDING' | 'NOT_OFFERED' | 'TAKEN' | 'CLOSED' | 'EXPIRED';

/** Long enough to outlive any ride's matching; refreshed on every round. */
const CLAIM_RECORD_TTL_MS = 6 * 3_600_000;
/** A pending claim whose instance died stops blocking others after this (a confirm takes ms). */
export const PENDING_CLAIM_HOLD_MS = 2_000;

export class RideClaims {
  constructor(private readonly router: Router) {}

  /** Adds a round's offers, valid for `validForMs` by Redis' clock; returns the record's status. */
  async open(rideId: string, driverIds: string[], validForMs: number): Promise<string> {
    return String(
      await this.router.write(rideRoute(rideId), (redis, tag) => redis.offer(rideKey(rideId, tag), CLAIM_RECORD_TTL_MS, validForMs, ...driverIds)),
    );
  }

  async claim(rideId: string, driverId: string): Promise<ClaimVerdict> {
    try {
      return (await this.router.write(rideRoute(rideId), (redis, tag) => redis.claim(rideKey(rideId, tag), driverId, PENDING_CLAIM_HOLD_MS))) as ClaimVerdict;
    } catch (err) {
      if (err instanceof NoHealthyShardError) return 'MISSING'; // Postgres can still decide
      throw err;
    }
  }

  /** Drops this driver's pending claim (Postgres did not confirm it). */
  async unclaim(rideId: string, driverId: string): Promise<void> {
    await this.router.write(rideRoute(rideId), (redis, tag) => redis.unclaim(rideKey(rideId, tag), driverId));
  }

  /** After Postgres recorded the winner (also rebuilds a lost record, so losers stay fast). */
  async markTaken(rideId: string, driverId: string): Promise<void> {
    await this.router.write(rideRoute(rideId), (redis, tag) => {
      const key = rideKey(rideId, tag);
      return redis.multi().hset(key, 'status', 'TAKEN', 'winner', driverId).hdel(key, 'pending', 'pendingUntil').pexpire(key, CLAIM_RECORD_TTL_MS).exec();
    });
  }

  /** Cancelled, ended without a driver, or the assignment was cancelled: nobody can claim any more. */
  async close(rideId: string): Promise<void> {
    await this.router.write(rideRoute(rideId), (redis, tag) => {
      const key = rideKey(rideId, tag);
      return redis.multi().hset(key, 'status', 'CLOSED').hdel(key, 'winner', 'pending', 'pendingUntil').pexpire(key, CLAIM_RECORD_TTL_MS).exec();
    });
  }

  /** A declined or revoked offer can no longer be claimed. */
  async withdraw(rideId: string, driverIds: string[]): Promise<void> {
    if (driverIds.length === 0) return;
    await this.router.write(rideRoute(rideId), (redis, tag) => redis.hdel(rideKey(rideId, tag), ...driverIds.map((id) => `o:${id}`)));
  }
}
