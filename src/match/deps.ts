// What the matching modules (requests, rounds, assignment, queries) share, built once in app.ts.
import type { MatchPolicy } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { DriverRecords } from '../drivers/driver-records.ts';
import type { Logger } from '../logger.ts';
import type { DriverPicker } from './driver-picker.ts';
import type { Notifier } from './notifier.ts';
import type { RideClaims } from './ride-claims.ts';
import type { RideTransitions } from './transitions.ts';

export interface MatchDeps {
  db: Db;
  transitions: RideTransitions;
  picker: DriverPicker;
  claims: RideClaims;
  records: DriverRecords;
  notifier: Notifier;
  policy: MatchPolicy;
  driverTtlMs: number;
  log: Logger;
}

/** Next look at a searching ride: the round's end, or earlier to catch drivers who fell silent. */
export function silenceCheckMs(deps: Pick<MatchDeps, 'policy' | 'driverTtlMs'>): number {
  return Math.max(deps.policy.pollMs, deps.driverTtlMs / 2);
}
