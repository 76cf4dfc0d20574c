// Who exists: drivers and riders, registered by an admin (no sign-up here), stored in Postgres.
// Profiles are read on every location ping (car type, payment preference, rating go beside the
// position in Redis), so they are cached per instance; a change on any instance invalidates the
// caches of all instances (wired in app.ts through pub/sub).
import { badInput, notFound } from '../errors.ts';
import { cleanText } from '../input.ts';
import { BatchedReads } from '../db/batched-reads.ts';
import type { Db } from '../db/client.ts';
import type { CarType, DriverDuty, PaymentPreference } from '../generated/prisma/enums.ts';

export interface DriverProfile {
  id: string;
  name: string;
  carType: CarType;
  paymentPreference: PaymentPreference;
  rating: number;
  vehicle: string;
  duty: DriverDuty;
  /** Why an admin suspended the driver (never offered a ride meanwhile); null when active. */
  suspendReason: string | null;
}

export interface RiderProfile {
  id: string;
  name: string;
}

/** What an admin registers; duty is the driver's own choice (setDriverStatus). */
export type DriverInput = Omit<DriverProfile, 'duty' | 'suspendReason'>;

/** What a driver row looks like to the rest of the code. */
function profileOf(row: { id: string; name: string; carType: CarType; paymentPreference: PaymentPreference; rating: number; vehicle: string; duty: DriverDuty; suspendedAt: Date | null; suspendReason: string | null }): DriverProfile {
  return {
    id: row.id,
    name: row.name,
    carType: row.carType,
    paymentPreference: row.paymentPreference,
    rating: row.rating,
    vehicle: row.vehicle,
    duty: row.duty,
    suspendReason: row.suspendedAt ? (row.suspendReason ?? 'suspended') : null,
  };
}

/** Ids appear in Redis keys and hash tags: keep them to a plain, bounded alphabet. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function validateId(field: string, id: string): void {
  if (!ID_PATTERN.test(id)) throw badInput(field, 'must be 1-64 characters of letters, digits, _ . : - (starting with a letter or digit)');
}

interface CacheEntry<T> {
  value: T | null;
  expiresAt: number;
}

export class Registry {
  private readonly drivers = new Map<string, CacheEntry<DriverProfile>>();
  private readonly riders = new Map<string, CacheEntry<RiderProfile>>();
  private readonly changeListeners: Array<(kind: 'driver' | 'rider', id: string) => void> = [];

  constructor(
    private readonly db: Db,
    private readonly cacheTtlMs = 30_000,
  ) {}

  /** Told about every change made through this instance (to fan out cache invalidation). */
  onChange(listener: (kind: 'driver' | 'rider', id: string) => void): void {
    this.changeListeners.push(listener);
  }

  /** Drops a cached profile (called when another instance changed it). */
  invalidate(kind: 'driver' | 'rider', id: string): void {
    (kind === 'driver' ? this.drivers : this.riders).delete(id);
  }

  async upsertDriver(input: DriverInput): Promise<DriverProfile> {
    validateId('id', input.id);
    const name = cleanText('name', input.name, 100);
    const vehicle = cleanText('vehicle', input.vehicle, 100);
    if (!Number.isFinite(input.rating) || input.rating < 0 || input.rating > 5) {
      throw badInput('rating', 'must be between 0 and 5');
    }
    const data = { name, vehicle, carType: input.carType, paymentPreference: input.paymentPreference, rating: input.rating };
    const row = await this.db.driver.upsert({ where: { id: input.id }, create: { id: input.id, ...data }, update: data });
    this.changed('driver', row.id);
    return profileOf(row);
  }

  async upsertRider(input: { id: string; name: string }): Promise<RiderProfile> {
    validateId('id', input.id);
    const name = cleanText('name', input.name, 100);
    const row = await this.db.rider.upsert({ where: { id: input.id }, create: { id: input.id, name }, update: { name } });
    this.changed('rider', row.id);
    return { id: row.id, name: row.name };
  }

  async setDuty(driverId: string, duty: DriverDuty): Promise<DriverProfile> {
    const row = await this.db.driver.update({ where: { id: driverId }, data: { duty } });
    this.changed('driver', driverId);
    return profileOf(row);
  }

  /** Suspends (a reason) or reinstates (null) a driver; returns the profile before and after. */
  async setSuspension(driverId: string, reason: string | null): Promise<{ before: DriverProfile; after: DriverProfile }> {
    const before = await this.db.driver.findUnique({ where: { id: driverId } });
    if (!before) throw notFound('driver', driverId);
    const row = await this.db.driver.update({
      where: { id: driverId },
      data: reason ? { suspendedAt: new Date(), suspendReason: reason } : { suspendedAt: null, suspendReason: null },
    });
    this.changed('driver', driverId);
    return { before: profileOf(before), after: profileOf(row) };
  }

  async driver(id: string): Promise<DriverProfile | null> {
    return this.cached(this.drivers, id, () => this.driverRows.read(id));
  }

  /** Drivers reconnecting together (each socket's start reads its profile) share one query. */
  private readonly driverRows = new BatchedReads<string, DriverProfile | null>(async (ids) => {
    const rows = await this.db.driver.findMany({ where: { id: { in: ids } } });
    return new Map(rows.map((row) => [row.id, profileOf(row)]));
  }, null);

  async rider(id: string): Promise<RiderProfile | null> {
    return this.cached(this.riders, id, async () => {
      const row = await this.db.rider.findUnique({ where: { id } });
      return row && { id: row.id, name: row.name };
    });
  }

  private changed(kind: 'driver' | 'rider', id: string): void {
    this.invalidate(kind, id);
    for (const listener of this.changeListeners) listener(kind, id);
  }

  private async cached<T>(cache: Map<string, CacheEntry<T>>, id: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = cache.get(id);
    const now = Date.now();
    if (hit && hit.expiresAt > now) return hit.value;
    const value = await load();
    // Unknown ids are cached briefly too: a flood of pings from an unregistered token stays cheap.
    cache.set(id, { value, expiresAt: now + (value ? this.cacheTtlMs : Math.min(this.cacheTtlMs, 2_000)) });
    if (cache.size > 200_000) cache.clear();
    return value;
  }
}
