// Which ride statuses mean what, in one place (the state machine, the access rules, the driver
// reconciler and the one-live-ride constraint all ask the same questions).
import type { RideStatus } from '../generated/prisma/enums.ts';

/** A driver is on the ride: from assignment until it ends (on the way, at the pickup, driving). */
export const TRIP_STATUSES = ['ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS'] as const satisfies readonly RideStatus[];

/** The rider's live ride, a booked one included (at most one, by a partial unique index). */
export const LIVE_STATUSES = ['SCHEDULED', 'SEARCHING', ...TRIP_STATUSES] as const satisfies readonly RideStatus[];

/** The rider may still call it off (not once the trip has started). */
export const CANCELLABLE_STATUSES = ['SCHEDULED', 'SEARCHING', 'ASSIGNED', 'DRIVER_ARRIVED'] as const satisfies readonly RideStatus[];

export const isTrip = (status: RideStatus) => (TRIP_STATUSES as readonly RideStatus[]).includes(status);
export const isLive = (status: RideStatus) => (LIVE_STATUSES as readonly RideStatus[]).includes(status);
export const isCancellable = (status: RideStatus) => (CANCELLABLE_STATUSES as readonly RideStatus[]).includes(status);
