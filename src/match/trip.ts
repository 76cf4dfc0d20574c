// The trip, from assignment to drop-off: ASSIGNED → DRIVER_ARRIVED (arrivedAtPickup) →
// IN_PROGRESS (startTrip) → COMPLETED (completeRide). Each step is the assigned driver's only,
// from the right state only, timestamped by Postgres, and answers the same when repeated.
// The fare charged at the end is metered from the distance the driver's pings covered while
// IN_PROGRESS (the odometer on the driver's Redis record) and the minutes it took, capped by the
// quote (pricing/fare.ts). If Redis lost the odometer, the quote's expected distance is used.
import type { PricingPolicy } from '../config.ts';
import { DomainError, notFound } from '../errors.ts';
import { Prisma, type Ride } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { RideStatus } from '../generated/prisma/enums.ts';
import { chargedFare, expectedTrip } from '../pricing/fare.ts';
import type { Tariffs } from '../pricing/tariffs.ts';
import type { MatchDeps } from './deps.ts';
import { History, type HistoryType } from './history.ts';
import { validateRideId } from './ride-ids.ts';
import { toRideView, type RideView } from './ride-view.ts';
import type { Effect } from './transitions.ts';
import { moveInOneStatement, readRideAndNow } from './trip-sql.ts';

type Step = { from: RideStatus; to: RideStatus; history: HistoryType; set: Prisma.Sql };
const ARRIVE: Step = { from: 'ASSIGNED', to: 'DRIVER_ARRIVED', history: History.DRIVER_ARRIVED, set: Prisma.sql`"arrivedAt" = now()` };
const START: Step = { from: 'DRIVER_ARRIVED', to: 'IN_PROGRESS', history: History.TRIP_STARTED, set: Prisma.sql`"startedAt" = now()` };
/** What completion sets (the fare) is computed per ride: see complete(). */
const COMPLETE: Step = { from: 'IN_PROGRESS', to: 'COMPLETED', history: History.COMPLETED, set: Prisma.empty };

/** Besides the move: what else runs once it committed, the history entry's detail, the log line. */
interface StepExtras {
  after?: Effect;
  detail?: string;
  report?: (ride: Ride) => void;
}

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

  startTrip(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<RideView> {
    return this.step(driverId, rideId, START, log, { after: () => this.deps.records.startOdometer(driverId, rideId) });
  }

  /** The assigned driver dropped the rider off: COMPLETED, the fare charged, the driver free again. */
  async complete(driverId: string, rideId: string, log: Logger = this.deps.log): Promise<RideView> {
    validateRideId(rideId);
    const { records, telemetry, db } = this.deps;
    // The fare is computed from the ride as read, without a lock: nothing it uses changes while
    // the ride is IN_PROGRESS, and the move below happens only if it still is. The odometer
    // (Redis) and the tariff are read between the two statements, never while a connection is held.
    const read = await readRideAndNow(db, rideId);
    if (!read) throw notFound('ride', rideId);
    const { ride: before, now } = read;
    const early = whyNot(driverId, before, COMPLETE);
    if (early === 'already') return toRideView(before);
    if (early) throw early;
    const odometer = await records.odometer(driverId, rideId).catch(() => null);
    const tariff = await this.tariffs.of(before.carType);
    const travelledKm = Math.round((odometer ?? expectedTrip({ lat: before.pickupLat, lng: before.pickupLng }, { lat: before.dropoffLat, lng: before.dropoffLng }, this.pricing).distanceKm) * 100) / 100;
    const tripMinutes = Math.round(((now.getTime() - (before.startedAt ?? now).getTime()) / 60_000) * 100) / 100;
    const quote = { total: before.quotedTotal ?? Number.MAX_SAFE_INTEGER, surgeMultiplier: before.surgeMultiplier ?? 1 };
    const finalFare = chargedFare(tariff, quote, travelledKm, tripMinutes);
    const completion: Step = {
      ...COMPLETE,
      set: Prisma.sql`"endedAt" = ${now}::timestamptz, "travelledKm" = ${travelledKm}::float8, "tripMinutes" = ${tripMinutes}::float8,
                      "finalFare" = ${finalFare}::int, currency = ${before.currency ?? tariff.currency}`,
    };
    return this.step(driverId, rideId, completion, log, {
      after: () => records.release(driverId, rideId),
      detail: `${travelledKm} km, ${tripMinutes} min, fare ${finalFare}${odometer === null ? ' (expected distance: odometer lost)' : ''}`,
      report: (ride) => telemetry.ended(log.child({ travelledKm, tripMinutes, finalFare }), ride, 'completed'),
    });
  }

  /**
   * The step's move in one statement (trip-sql.ts), then its effects once committed. A ride that
   * did not move is explained: another driver's, the step already done (the same answer again),
   * or the wrong state.
   */
  private async step(
    driverId: string,
    rideId: string,
    step: Step,
    log: Logger,
    { after, detail, report = (ride) => this.deps.telemetry.tripStep(log, ride) }: StepExtras = {},
  ): Promise<RideView> {
    validateRideId(rideId);
    const outcome = await moveInOneStatement(this.deps.db, { rideId, driverId, ...step, detail });
    if (!outcome) throw notFound('ride', rideId);
    const { ride, moved } = outcome;
    if (!moved) {
      const refusal = whyNot(driverId, ride, step);
      if (refusal && refusal !== 'already') throw refusal;
      return toRideView(ride);
    }
    await this.deps.transitions.runEffects([() => this.deps.notifier.rideChanged(ride), async () => report(ride), ...(after ? [after] : [])]);
    return toRideView(ride);
  }
}

/** Why this driver cannot take the ride through the step; 'already' when the step is done. */
function whyNot(driverId: string, ride: Ride, step: Step): DomainError | 'already' | null {
  if (ride.driverId !== driverId) return new DomainError('FORBIDDEN', 'only the assigned driver can do this');
  if (ride.status === step.to) return 'already';
  if (ride.status !== step.from) return new DomainError('INVALID_STATE', `the ride is ${ride.status}, not ${step.from}`);
  return null;
}
