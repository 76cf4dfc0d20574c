// The trip, from assignment to drop-off: ASSIGNED → DRIVER_ARRIVED (arrivedAtPickup) →
// IN_PROGRESS (startTrip) → COMPLETED (completeRide). Each step is the assigned driver's only,
// from the right state only, timestamped by Postgres, and answers the same when repeated.
// The fare charged at the end is metered from the distance the driver's pings covered while
// IN_PROGRESS (the odometer on the driver's Redis record) and the minutes it took, capped by the
// quote (pricing/fare.ts). If Redis lost the odometer, the quote's expected distance is used.
import type { PricingPolicy } from '../config.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RideStatus } from '../generated/prisma/enums.ts';
import { chargedFare, expectedTrip } from '../pricing/fare.ts';
import type { Tariffs } from '../pricing/tariffs.ts';
import type { MatchDeps } from './deps.ts';
import { History } from './history.ts';
import { validateRideId } from './ride-ids.ts';
import { toRideView, type RideView } from './ride-view.ts';

type Step = { from: RideStatus; to: RideStatus; history: string };
const ARRIVE: Step = { from: 'ASSIGNED', to: 'DRIVER_ARRIVED', history: History.DRIVER_ARRIVED };
const START: Step = { from: 'DRIVER_ARRIVED', to: 'IN_PROGRESS', history: History.TRIP_STARTED };

export class Trip {
  constructor(
    private readonly deps: MatchDeps,
    private readonly tariffs: Tariffs,
    private readonly pricing: PricingPolicy,
  ) {}

  // `log` on each step: the logger of the request being served (its lines name the request).

  arrivedAtPickup(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<RideView> {
    return this.step(driverId, rideId, ARRIVE, log);
  }

  async startTrip(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<RideView> {
    return this.step(driverId, rideId, START, log, () => this.deps.records.startOdometer(driverId, rideId));
  }

  /** The assigned driver dropped the rider off: COMPLETED, the fare charged, the driver free again. */
  async complete(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<RideView> {
    validateRideId(rideId);
    const { transitions, records, notifier, telemetry, db } = this.deps;
    // Redis and the tariff are read before the transaction (no I/O but Postgres inside it).
    const before = await db.ride.findUnique({ where: { id: rideId } });
    const odometer = before?.driverId === driverId ? await records.odometer(driverId, rideId).catch(() => null) : null;
    const tariff = before ? await this.tariffs.of(before.carType) : null;
    return transitions.run(rideId, async (tx, { ride, now }, effects) => {
      if (ride.driverId !== driverId) throw new DomainError('FORBIDDEN', 'only the assigned driver can complete a ride');
      if (ride.status === 'COMPLETED') return toRideView(ride);
      if (ride.status !== 'IN_PROGRESS') throw new DomainError('INVALID_STATE', `the trip has not started: the ride is ${ride.status}`);
      const travelledKm = Math.round((odometer ?? expectedTrip({ lat: ride.pickupLat, lng: ride.pickupLng }, { lat: ride.dropoffLat, lng: ride.dropoffLng }, this.pricing).distanceKm) * 100) / 100;
      const tripMinutes = Math.round(((now.getTime() - (ride.startedAt ?? now).getTime()) / 60_000) * 100) / 100;
      const quote = { total: ride.quotedTotal ?? Number.MAX_SAFE_INTEGER, surgeMultiplier: ride.surgeMultiplier ?? 1 };
      const finalFare = chargedFare(tariff!, quote, travelledKm, tripMinutes);
      const updated = await tx.ride.update({
        where: { id: rideId },
        data: { status: 'COMPLETED', endedAt: now, travelledKm, tripMinutes, finalFare, currency: ride.currency ?? tariff!.currency, version: { increment: 1 } },
      });
      await tx.rideHistory.create({
        data: { rideId, type: History.COMPLETED, driverId, detail: `${travelledKm} km, ${tripMinutes} min, fare ${finalFare}${odometer === null ? ' (expected distance: odometer lost)' : ''}`, at: now },
      });
      effects.push(() => records.release(driverId, rideId), () => notifier.rideChanged(updated));
      effects.push(async () => telemetry.ended(log.child({ travelledKm, tripMinutes, finalFare }), updated, 'completed'));
      return toRideView(updated);
    });
  }

  private step(driverId: string, rideId: string, step: Step, log: Logger, after?: () => Promise<unknown>): Promise<RideView> {
    return this.deps.transitions.run(rideId, async (tx, { ride, now }, effects) => {
      if (ride.driverId !== driverId) throw new DomainError('FORBIDDEN', 'only the assigned driver can do this');
      if (ride.status === step.to) return toRideView(ride); // a retry: the same answer
      if (ride.status !== step.from) throw new DomainError('INVALID_STATE', `the ride is ${ride.status}, not ${step.from}`);
      const stamp = step.to === 'DRIVER_ARRIVED' ? { arrivedAt: now } : { startedAt: now };
      const updated = await tx.ride.update({ where: { id: rideId }, data: { status: step.to, ...stamp, version: { increment: 1 } } });
      await tx.rideHistory.create({ data: { rideId, type: step.history, driverId, at: now } });
      effects.push(() => this.deps.notifier.rideChanged(updated), async () => this.deps.telemetry.tripStep(log, updated));
      if (after) effects.push(after);
      return toRideView(updated);
    });
  }
}
