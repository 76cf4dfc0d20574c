// One transition of a ride: a short Postgres transaction that first locks the ride's row (so a
// decline, an accept, a cancel and a round check of the same ride never interleave), then the
// post-commit effects (Redis state, events). No Redis or bus I/O ever runs inside the
// transaction: a slow shard must not hold a pooled connection (see rounds.ts for how a round
// that needs a driver search is split around it).
import type { Db } from '../db/client.ts';
import { notFound } from '../errors.ts';
import type { Prisma, Ride } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { validateRideId } from './ride-ids.ts';

export type Tx = Prisma.TransactionClient;
export type Effect = () => Promise<unknown>;

/** The locked ride and the transaction's Postgres now(): the clock every ride deadline uses. */
export interface Locked {
  ride: Ride;
  now: Date;
}

const TX_OPTIONS = { maxWait: 10_000, timeout: 15_000 };

export class RideTransitions {
  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  async run<T>(rideId: string, change: (tx: Tx, locked: Locked, effects: Effect[]) => Promise<T>): Promise<T> {
    validateRideId(rideId);
    const effects: Effect[] = [];
    const result = await this.db.$transaction(async (tx) => {
      const locked = await lockRide(tx, rideId);
      if (!locked) throw notFound('ride', rideId);
      return change(tx, locked, effects);
    }, TX_OPTIONS);
    await this.runEffects(effects);
    return result;
  }

  /**
   * Post-commit side effects, run concurrently (each is independent and correct in any order).
   * A failure is logged and never undoes the commit: Postgres already holds the truth, and the
   * Redis state it would have fixed heals by expiry, on the driver's next ping or by the
   * reconciler.
   */
  async runEffects(effects: Effect[]): Promise<void> {
    await Promise.all(
      effects.map((effect) => effect().catch((err) => this.log.warn({ err }, 'post-commit step failed (state in Postgres is correct)'))),
    );
  }
}

export async function lockRide(tx: Tx, rideId: string): Promise<Locked | null> {
  const locked = await tx.$queryRaw<Array<{ now: Date }>>`SELECT now() AS now FROM "Ride" WHERE id = ${rideId}::uuid FOR UPDATE`;
  if (locked.length === 0) return null;
  const ride = await tx.ride.findUniqueOrThrow({ where: { id: rideId } });
  return { ride, now: locked[0]!.now };
}
