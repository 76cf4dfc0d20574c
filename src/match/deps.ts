// What the matching modules (requests, rounds, assignment, queries) share, built once in app.ts.
import type { MatchPolicy } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { DriverRecords } from '../drivers/driver-records.ts';
import type { Logger } from '../logger.ts';
import type { DriverPicker } from './driver-picker.ts';
import type { Notifier } from './notifier.ts';
import type { RideClaims } from './ride-claims.ts';
import type { RideTelemetry } from './telemetry.ts';
import type { RideTransitions } from './transitions.ts';

/**
 * Seams for tests that must hold a race open at an exact point (no mocks of Redis or Postgres:
 * the real calls run, only later). Empty in production.
 */
export interface MatchSeams {
  /** After an accept's Redis claim was won, before Postgres is asked to confirm it. */
  afterClaim?: (rideId: string, driverId: string) => Promise<void>;
}

export interface MatchDeps {
  db: Db;
  transitions: RideTransitions;
  picker: DriverPicker;
  claims: RideClaims;
  records: DriverRecords;
  notifier: Notifier;
  telemetry: RideTelemetry;
  policy: MatchPolicy;
  driverTtlMs: number;
  log: Logger;
  seams: MatchSeams;
}

/** Next look at a searching ride: the round's end, or earlier to catch drivers who fell silent. */
export function silenceCheckMs(deps: Pick<MatchDeps, 'policy' | 'driverTtlMs'>): number {
  return Math.max(deps.policy.pollMs, deps.driverTtlMs / 2);
}
