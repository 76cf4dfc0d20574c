// What an operator may do to a ride the normal flow cannot end: cancel it whatever its state
// (offers revoked, an assigned driver told and freed), or complete a trip whose driver never
// did. Each is recorded in the ride's history with the operator and the reason.
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { endLiveOffers } from './assignment.ts';
import type { MatchDeps } from './deps.ts';
import { History } from './history.ts';
import { isLive, isTrip } from './ride-status.ts';
import { toRideView, type RideView } from './ride-view.ts';

export class OperatorActions {
  constructor(private readonly deps: MatchDeps) {}

  // `log`: the logger of the request being served (its lines name the request and the operator).

  async forceCancel(operatorId: string, rideId: string, reason: string, log: Logger = this.deps.log): Promise<RideView> {
    const { transitions, notifier, claims, telemetry } = this.deps;
    return transitions.run(rideId, async (tx, { ride, now }, effects) => {
      if (!isLive(ride.status)) throw new DomainError('INVALID_STATE', `ride is already ${ride.status}`);
      const updated = await tx.ride.update({
        where: { id: rideId },
        data: { status: 'CANCELLED', endedAt: now, nextCheckAt: null, endReason: `cancelled by an operator: ${reason}`, version: { increment: 1 } },
      });
      const live = await endLiveOffers(tx, rideId, now);
      await tx.rideHistory.create({ data: { rideId, type: History.FORCE_CANCELLED, driverId: ride.driverId, detail: `${operatorId}: ${reason}`, at: now } });
      const told = [...live.map((o) => o.driverId), ...(isTrip(ride.status) && ride.driverId ? [ride.driverId] : [])];
      effects.push(...told.map((driverId) => () => notifier.revoke(driverId, rideId, 'CANCELLED')));
      effects.push(() => claims.close(rideId), () => notifier.rideChanged(updated));
      effects.push(async () => telemetry.ended(log, updated, 'cancelled_by_operator', live.length));
      return toRideView(updated);
    });
  }

  async forceComplete(operatorId: string, rideId: string, reason: string, log: Logger = this.deps.log): Promise<RideView> {
    const { transitions, notifier, records, telemetry } = this.deps;
    return transitions.run(rideId, async (tx, { ride, now }, effects) => {
      if (!isTrip(ride.status) || !ride.driverId) throw new DomainError('INVALID_STATE', `only a ride on its trip can be completed; it is ${ride.status}`);
      const updated = await tx.ride.update({
        where: { id: rideId },
        data: { status: 'COMPLETED', endedAt: now, endReason: `completed by an operator: ${reason}`, version: { increment: 1 } },
      });
      await tx.rideHistory.create({ data: { rideId, type: History.FORCE_COMPLETED, driverId: ride.driverId, detail: `${operatorId}: ${reason}`, at: now } });
      const driverId = ride.driverId;
      effects.push(() => records.release(driverId, rideId), () => notifier.rideChanged(updated));
      effects.push(async () => telemetry.ended(log, updated, 'completed_by_operator'));
      return toRideView(updated);
    });
  }
}
