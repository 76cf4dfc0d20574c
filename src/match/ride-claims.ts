// The per-ride claim record in Redis: the fast path of "first accept wins". claim.lua answers a
// race in one round trip so losers never reach Postgres; Postgres then confirms the winner (see
// dispatcher.ts). Losing this record (shard died) is safe: claims answer MISSING and Postgres alone
// decides.
import { rideKey, rideRoute } from '../redis/keys.ts';
import { NoHealthyShardError, type ShardRouter } from '../redis/shard-router.ts';

export type ClaimVerdict = 'WON' | 'MISSING' | 'NOT_OFFERED' | 'TAKEN' | 'CLOSED' | 'EXPIRED';

/** Long enough to outlive any ride's matching; refreshed on every round. */
const CLAIM_RECORD_TTL_MS = 6 * 3_600_000;

export class RideClaims {
  constructor(private readonly router: ShardRouter) {}

  /** Adds a round's offers; returns the record's status (offers are only added while OPEN). */
  async open(rideId: string, offers: Array<{ driverId: string; expiresAt: Date }>): Promise<string> {
    const pairs = offers.flatMap((o) => [o.driverId, o.expiresAt.getTime()]);
    return String(await this.router.write(rideRoute(rideId), (redis) => redis.offer(rideKey(rideId), CLAIM_RECORD_TTL_MS, ...pairs)));
  }

  async claim(rideId: string, driverId: string): Promise<ClaimVerdict> {
    try {
      return (await this.router.write(rideRoute(rideId), (redis) => redis.claim(rideKey(rideId), driverId))) as ClaimVerdict;
    } catch (err) {
      if (err instanceof NoHealthyShardError) return 'MISSING'; // Postgres can still decide
      throw err;
    }
  }

  /** Undo a claim Postgres refused; `leave` is the status the record keeps. */
  async unclaim(rideId: string, driverId: string, leave: 'OPEN' | 'CLOSED'): Promise<void> {
    await this.router.write(rideRoute(rideId), (redis) => redis.unclaim(rideKey(rideId), driverId, leave));
  }

  /** After Postgres recorded the winner (also rebuilds a lost record, so losers stay fast). */
  async markTaken(rideId: string, driverId: string): Promise<void> {
    await this.router.write(rideRoute(rideId), (redis) =>
      redis.multi().hset(rideKey(rideId), 'status', 'TAKEN', 'winner', driverId).pexpire(rideKey(rideId), CLAIM_RECORD_TTL_MS).exec(),
    );
  }

  /** Cancelled, ended without a driver, or the assignment was cancelled: nobody can claim any more. */
  async close(rideId: string): Promise<void> {
    await this.router.write(rideRoute(rideId), (redis) =>
      redis.multi().hset(rideKey(rideId), 'status', 'CLOSED').hdel(rideKey(rideId), 'winner').pexpire(rideKey(rideId), CLAIM_RECORD_TTL_MS).exec(),
    );
  }

  /** A declined or revoked offer can no longer be claimed. */
  async withdraw(rideId: string, driverIds: string[]): Promise<void> {
    if (driverIds.length === 0) return;
    await this.router.write(rideRoute(rideId), (redis) => redis.hdel(rideKey(rideId), ...driverIds.map((id) => `o:${id}`)));
  }
}
