// A driver's answers to offers: accept (first valid accept wins), decline, and the end of a trip.
//
// Accepting: claim.lua in Redis answers races in one round trip, and the claim stays PENDING
// until Postgres, the arbiter, commits the assignment (row lock, one-ride-per-driver constraint).
// A driver who finds another's claim pending waits for it (bounded) instead of hearing "taken"
// too early: TAKEN is only said once a winner is committed. Whenever Redis says no for any other
// reason (not offered, expired, closed, record lost), Postgres has the final word, so an offer a
// driver was told about is always acceptable while it is live.
import { isUniqueViolation } from '../db/errors.ts';
import { DomainError, notFound } from '../errors.ts';
import type { Ride, RideOffer } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { History } from './history.ts';
import type { MatchDeps } from './deps.ts';
import type { RoundScheduler } from './rounds.ts';
import { validateRideId } from './ride-ids.ts';
import { isTrip } from './ride-status.ts';
import { toRideView, type RideView } from './ride-view.ts';
import { acceptInOneStatement } from './accept-sql.ts';
import type { Tx } from './transitions.ts';

export type AcceptResult =
  | { kind: 'assigned'; ride: RideView; driverId: string }
  | { kind: 'taken'; rideId: string }
  | { kind: 'not-found'; rideId: string }
  | { kind: 'expired'; rideId: string };

export type DeclineResult = { kind: 'declined'; rideId: string } | { kind: 'not-found'; rideId: string } | { kind: 'expired'; rideId: string };

/** How long an accept waits for another driver's pending claim before answering RETRYABLE. */
const PENDING_WAIT_MS = 2_500;

/**
 * What accepting means for this driver, from Postgres' rows and clock alone. The driver's own
 * offer speaks first: an offer that ran out is OfferExpired whatever happened to the ride after.
 */
export function acceptVerdict(
  ride: Pick<Ride, 'status' | 'driverId'>,
  offer: Pick<RideOffer, 'status' | 'expiresAt'> | null,
  driverId: string,
  now: Date,
): 'assigned' | 'assignable' | 'taken' | 'expired' | 'not-found' {
  if (isTrip(ride.status) && ride.driverId === driverId) return 'assigned'; // the winner asking again
  if (!offer) return 'not-found';
  if (offer.status === 'EXPIRED' || (offer.status === 'OFFERED' && offer.expiresAt <= now)) return 'expired';
  if (isTrip(ride.status) || ride.status === 'COMPLETED') return 'taken';
  if (ride.status !== 'SEARCHING' || offer.status !== 'OFFERED') return 'not-found';
  return 'assignable';
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Assignment {
  constructor(
    private readonly deps: MatchDeps,
    private readonly rounds: RoundScheduler,
  ) {}

  // `log` on each entry point: the logger of the request being served (its lines name the request).

  async accept(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<AcceptResult> {
    validateRideId(rideId);
    const { claims } = this.deps;
    const verdict = await this.claimOrWait(rideId, driverId);
    if (verdict === 'TAKEN') return { kind: 'taken', rideId };
    if (verdict === 'NOT_OFFERED' || verdict === 'CLOSED' || verdict === 'EXPIRED') {
      // Redis' view may lag (claim record lost, written after the offer was read): ask Postgres.
      const answer = await this.readVerdict(driverId, rideId);
      if (answer) return answer;
    }
    if (verdict === 'WON') await this.deps.seams.afterClaim?.(rideId, driverId);
    let result: AcceptResult;
    try {
      result = await this.confirm(rideId, driverId, log);
    } catch (err) {
      if (verdict === 'WON') await claims.unclaim(rideId, driverId).catch(() => {});
      if (err instanceof DomainError) throw err;
      if (isUniqueViolation(err)) throw new DomainError('INVALID_STATE', 'you already have an active ride');
      log.error({ err, rideId, driverId }, 'recording the assignment failed');
      throw new DomainError('RETRYABLE', 'the assignment could not be recorded; nothing changed, try again');
    }
    if (verdict === 'WON' && result.kind !== 'assigned') {
      await this.afterRefusedClaim(rideId, driverId).catch((err) => log.warn({ err, rideId }, 'claim record not synced'));
    }
    return result;
  }

  /** Claims in Redis; while another driver's claim is pending, waits for its outcome (bounded). */
  private async claimOrWait(rideId: string, driverId: string) {
    const waitUntil = Date.now() + PENDING_WAIT_MS;
    let pause = 2;
    for (;;) {
      const verdict = await this.deps.claims.claim(rideId, driverId);
      if (verdict !== 'PENDING') return verdict;
      if (Date.now() >= waitUntil) {
        throw new DomainError('RETRYABLE', "another driver's accept is being recorded; nothing changed, ask again");
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 50);
    }
  }

  /** Postgres' answer without locking; null when the offer is assignable (go and take it). */
  private async readVerdict(driverId: string, rideId: string): Promise<AcceptResult | null> {
    const [row] = await this.deps.db.$queryRaw<
      Array<Pick<Ride, 'status' | 'driverId'> & { offerStatus: RideOffer['status'] | null; expiresAt: Date | null; now: Date }>
    >`SELECT r.status::text AS status, r."driverId", o.status::text AS "offerStatus", o."expiresAt", now() AS now
        FROM "Ride" r LEFT JOIN "RideOffer" o ON o."rideId" = r.id AND o."driverId" = ${driverId}
       WHERE r.id = ${rideId}::uuid`;
    if (!row) throw notFound('ride', rideId);
    const offer = row.offerStatus ? { status: row.offerStatus, expiresAt: row.expiresAt! } : null;
    const verdict = acceptVerdict(row, offer, driverId, row.now);
    if (verdict === 'assignable' || verdict === 'assigned') return null;
    return { kind: verdict, rideId };
  }

  /** Postgres decides, in one statement (accept-sql.ts); the effects run after it committed. */
  private async confirm(rideId: string, driverId: string, log: Logger): Promise<AcceptResult> {
    const outcome = await acceptInOneStatement(this.deps.db, rideId, driverId);
    if (!outcome.locked) throw notFound('ride', rideId);
    const assigned = outcome.assigned;
    if (!assigned) {
      const verdict = acceptVerdict(outcome.locked, outcome.offer, driverId, outcome.locked.now);
      if (verdict !== 'assigned') return { kind: verdict === 'assignable' ? 'not-found' : verdict, rideId };
      // The winner asking again: the same answer.
      return { kind: 'assigned', ride: toRideView(await this.deps.db.ride.findUniqueOrThrow({ where: { id: rideId } })), driverId };
    }
    const { claims, records, notifier, transitions, telemetry } = this.deps;
    await transitions.runEffects([
      () => claims.markTaken(rideId, driverId),
      () => records.assign(driverId, rideId),
      ...outcome.losers.map((loser) => () => notifier.revoke(loser, rideId, 'TAKEN')),
      () => notifier.rideChanged(assigned),
      async () => telemetry.assigned(log, assigned, assigned.round, outcome.losers.length),
    ]);
    return { kind: 'assigned', ride: toRideView(assigned), driverId };
  }

  /** Postgres overruled this driver's pending claim: drop it, and close the record if the ride moved on. */
  private async afterRefusedClaim(rideId: string, driverId: string): Promise<void> {
    const { claims, db } = this.deps;
    await claims.unclaim(rideId, driverId);
    const ride = await db.ride.findUnique({ where: { id: rideId }, select: { status: true, driverId: true } });
    if (ride && isTrip(ride.status) && ride.driverId) await claims.markTaken(rideId, ride.driverId);
    else if (ride && ride.status !== 'SEARCHING') await claims.close(rideId);
  }

  async decline(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<DeclineResult> {
    return this.endOffer(driverId, rideId, 'DECLINED', log);
  }

  /** The driver went OFFLINE (or silent): every live offer they hold is revoked and its ride moves on. */
  async driverUnavailable(driverId: string, log: Logger = this.deps.log): Promise<void> {
    const offers = await this.deps.db.rideOffer.findMany({ where: { driverId, status: 'OFFERED' }, select: { rideId: true } });
    await Promise.all(
      offers.map((o) =>
        this.endOffer(driverId, o.rideId, 'EXPIRED', log).catch((err) => log.warn({ err, rideId: o.rideId, driverId }, 'offer not withdrawn')),
      ),
    );
  }

  /** Ends one driver's live offer for a ride (declined, or expired because they went away). */
  private async endOffer(driverId: string, rideId: string, as: 'DECLINED' | 'EXPIRED', log: Logger): Promise<DeclineResult> {
    let roundFinished = false;
    const { transitions, claims, records, notifier, telemetry } = this.deps;
    const result = await transitions.run(rideId, async (tx, { ride, now }, effects): Promise<DeclineResult> => {
      const offer = await tx.rideOffer.findUnique({ where: { rideId_driverId: { rideId, driverId } } });
      // Declining twice gives the same answer twice (a client may resend after a reconnect).
      if (offer?.status === 'DECLINED' && as === 'DECLINED') return { kind: 'declined', rideId };
      if (!offer || offer.status === 'DECLINED' || offer.status === 'REVOKED') return { kind: 'not-found', rideId };
      if (offer.status === 'ACCEPTED') throw new DomainError('INVALID_STATE', 'you accepted this ride; it can no longer be declined');
      if (offer.status === 'EXPIRED') return { kind: 'expired', rideId };
      await tx.rideOffer.update({ where: { id: offer.id }, data: { status: as, respondedAt: now } });
      await tx.rideHistory.create({
        data: { rideId, type: as === 'DECLINED' ? History.OFFER_DECLINED : History.OFFER_EXPIRED, round: offer.round, driverId, at: now },
      });
      effects.push(() => claims.withdraw(rideId, [driverId]));
      effects.push(as === 'EXPIRED' ? () => notifier.revoke(driverId, rideId, 'EXPIRED') : () => records.release(driverId, rideId));
      effects.push(async () => telemetry.offersEnded(log, rideId, as === 'EXPIRED' ? 'expired' : 'declined', [driverId]));
      if (ride.status === 'SEARCHING' && (await tx.rideOffer.count({ where: { rideId, status: 'OFFERED' } })) === 0) {
        // Everyone in the round said no: the next round starts now, not at the timeout.
        await tx.ride.update({ where: { id: rideId }, data: { nextCheckAt: now } });
        roundFinished = true;
      }
      return { kind: 'declined', rideId };
    });
    if (roundFinished) {
      await this.rounds.advance(rideId, { log }).catch((err) => log.warn({ err, rideId }, 'next round deferred to the poller'));
    }
    return result;
  }
}

/** Marks every live offer of a ride REVOKED and returns them (their drivers are told). */
export async function endLiveOffers(tx: Tx, rideId: string, now: Date): Promise<Array<{ driverId: string }>> {
  const live = await tx.rideOffer.findMany({ where: { rideId, status: 'OFFERED' }, select: { driverId: true } });
  if (live.length > 0) await tx.rideOffer.updateMany({ where: { rideId, status: 'OFFERED' }, data: { status: 'REVOKED', respondedAt: now } });
  return live;
}
