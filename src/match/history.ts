// The ride's append-only history (table "RideEvent", model RideHistory): what happened, in order,
// for time-to-match and acceptance analytics. These are the entry types.
export const History = {
  REQUESTED: 'REQUESTED',
  DISPATCH_STARTED: 'DISPATCH_STARTED',
  ROUND_STARTED: 'ROUND_STARTED',
  ROUND_EMPTY: 'ROUND_EMPTY',
  OFFER_DECLINED: 'OFFER_DECLINED',
  OFFER_EXPIRED: 'OFFER_EXPIRED',
  ASSIGNED: 'ASSIGNED',
  CANCELLED: 'CANCELLED',
  ASSIGNMENT_CANCELLED: 'ASSIGNMENT_CANCELLED',
  NO_DRIVERS_AVAILABLE: 'NO_DRIVERS_AVAILABLE',
  DRIVER_ARRIVED: 'DRIVER_ARRIVED',
  TRIP_STARTED: 'TRIP_STARTED',
  COMPLETED: 'COMPLETED',
  FORCE_CANCELLED: 'FORCE_CANCELLED',
  FORCE_COMPLETED: 'FORCE_COMPLETED',
} as const;

export type HistoryType = (typeof History)[keyof typeof History];
