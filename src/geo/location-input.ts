// What a location update must satisfy before anything is written. Each failure names the field.
import { badInput, DomainError } from '../errors.ts';
import { MAX_GEO_LATITUDE } from './cells.ts';

export interface LocationUpdate {
  lat: number;
  lng: number;
  heading?: number | null;
  speedKmh?: number | null;
  accuracyM?: number | null;
  recordedAt: Date;
}

/** Phones' clocks drift; a report stamped further ahead than this is refused. */
export const MAX_CLOCK_SKEW_MS = 5_000;
const MAX_SPEED_KMH = 400;
const MAX_ACCURACY_M = 10_000;

/** Why a latitude is unusable (Redis GEO's range), or null. */
export function latitudeProblem(lat: number): string | null {
  if (typeof lat !== 'number' || !Number.isFinite(lat)) return 'must be a finite number';
  return Math.abs(lat) > MAX_GEO_LATITUDE ? `must be within ±${MAX_GEO_LATITUDE.toFixed(5)}` : null;
}

/** Why a longitude is unusable, or null. */
export function longitudeProblem(lng: number): string | null {
  if (typeof lng !== 'number' || !Number.isFinite(lng)) return 'must be a finite number';
  return Math.abs(lng) > 180 ? 'must be within ±180' : null;
}

/** A point in a request (pickup, dropoff, a search centre): BAD_USER_INPUT naming `<prefix>lat|lng`. */
export function validatePoint(p: { lat: number; lng: number }, prefix = ''): void {
  const lat = latitudeProblem(p.lat);
  if (lat) throw badInput(`${prefix}lat`, lat);
  const lng = longitudeProblem(p.lng);
  if (lng) throw badInput(`${prefix}lng`, lng);
}

const invalid = (field: string, message: string) =>
  new DomainError('INVALID_LOCATION', `${field}: ${message}`, { field });

function finite(field: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, 'must be a finite number');
}

/** Throws INVALID_LOCATION naming the first bad field. `livenessMs`: older reports are useless. */
export function validateLocation(u: LocationUpdate, now: number, livenessMs: number): void {
  const lat = latitudeProblem(u.lat);
  if (lat) throw invalid('lat', lat);
  const lng = longitudeProblem(u.lng);
  if (lng) throw invalid('lng', lng);
  if (u.heading != null) {
    finite('heading', u.heading);
    if (u.heading < 0 || u.heading >= 360) throw invalid('heading', 'must be in [0, 360)');
  }
  if (u.speedKmh != null) {
    finite('speedKmh', u.speedKmh);
    if (u.speedKmh < 0 || u.speedKmh > MAX_SPEED_KMH) throw invalid('speedKmh', `must be in [0, ${MAX_SPEED_KMH}]`);
  }
  if (u.accuracyM != null) {
    finite('accuracyM', u.accuracyM);
    if (u.accuracyM <= 0 || u.accuracyM > MAX_ACCURACY_M) throw invalid('accuracyM', `must be in (0, ${MAX_ACCURACY_M}]`);
  }
  const at = u.recordedAt instanceof Date ? u.recordedAt.getTime() : NaN;
  if (!Number.isFinite(at)) throw invalid('recordedAt', 'must be a valid time');
  if (at > now + MAX_CLOCK_SKEW_MS) throw invalid('recordedAt', `is more than ${MAX_CLOCK_SKEW_MS / 1000} s in the future`);
  if (at < now - livenessMs) throw invalid('recordedAt', `is older than the ${livenessMs / 1000} s liveness window`);
}
