// What operators see of a ride's life. For each state change, once Postgres committed it: one info
// log line with the ride's (and driver's) ids, and the metrics that move with it. Each method takes
// the logger of the request that caused the change (schema/request-log.ts: its lines carry the
// request's id and caller), or the service's own for the round poller. Offers that end one by one
// (declined, expired) are counted and logged at debug level only: they are not ride state changes.
import type { Ride } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { Metrics, RideOutcome } from '../metrics.ts';

export class RideTelemetry {
  constructor(private readonly metrics: Metrics) {}

  requested(log: Logger, ride: { id: string; riderId: string }): void {
    this.metrics.rideRequested();
    log.info({ rideId: ride.id, riderId: ride.riderId }, 'ride requested');
  }

  /** A round's offers were announced. */
  offered(log: Logger, rideId: string, round: number, driverIds: string[], radiusKm: number): void {
    this.metrics.offersAnnounced(driverIds.length);
    log.info({ rideId, round, driverIds, radiusKm }, `ride offered (round ${round})`);
  }

  /** requestRide announced the ride's first offers; `receivedAt` is performance.now() at the call. */
  firstOffersOut(receivedAt: number): void {
    this.metrics.firstOffersOut(receivedAt);
  }

  /** `revoked`: the other drivers' live offers, ended by this accept. */
  assigned(log: Logger, ride: Ride, round: number, revoked: number): void {
    this.metrics.rideAssigned(ride.assignedAt!.getTime() - ride.requestedAt.getTime());
    this.metrics.offersEnded('accepted');
    this.metrics.offersEnded('revoked', revoked);
    log.info({ rideId: ride.id, riderId: ride.riderId, driverId: ride.driverId, round }, 'ride assigned');
  }

  /** The driver reached the pickup (DRIVER_ARRIVED) or started the trip (IN_PROGRESS). */
  tripStep(log: Logger, ride: Ride): void {
    log.info(
      { rideId: ride.id, riderId: ride.riderId, driverId: ride.driverId, status: ride.status },
      ride.status === 'DRIVER_ARRIVED' ? 'driver at the pickup' : 'trip started',
    );
  }

  /** `revoked`: live offers ended with the ride. */
  ended(log: Logger, ride: Ride, outcome: Exclude<RideOutcome, 'assigned'>, revoked = 0): void {
    this.metrics.rideEnded(outcome);
    this.metrics.offersEnded('revoked', revoked);
    log.info(
      { rideId: ride.id, riderId: ride.riderId, driverId: ride.driverId, status: ride.status, outcome, reason: ride.endReason },
      `ride ended: ${outcome.replaceAll('_', ' ')}`,
    );
  }

  offersEnded(log: Logger, rideId: string, outcome: 'declined' | 'expired', driverIds: string[]): void {
    this.metrics.offersEnded(outcome, driverIds.length);
    log.debug({ rideId, driverIds, outcome }, `offer ${outcome}`);
  }
}
