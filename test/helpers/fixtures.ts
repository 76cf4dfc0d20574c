// Test data: drivers and riders registered straight in Postgres, positions around a point,
// and a seeded random generator so every run sees the same "random" city.
import type { Services } from '../../src/app.ts';
import type { CarType, PaymentPreference } from '../../src/generated/prisma/enums.ts';
import type { DriverProfile } from '../../src/registry/registry.ts';

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The point `km` east and `northKm` north of (lat, lng). */
export function offset(lat: number, lng: number, eastKm: number, northKm = 0): { lat: number; lng: number } {
  return { lat: lat + northKm / 110.574, lng: lng + eastKm / (111.32 * Math.cos((lat * Math.PI) / 180)) };
}

export interface DriverSpec {
  id: string;
  carType?: CarType;
  paymentPreference?: PaymentPreference;
  rating?: number;
}

export async function registerDrivers(services: Services, specs: DriverSpec[]): Promise<DriverProfile[]> {
  const rows = specs.map((s) => ({
    id: s.id,
    name: `Driver ${s.id}`,
    carType: s.carType ?? 'ECONOMY',
    paymentPreference: s.paymentPreference ?? 'ANY',
    rating: s.rating ?? 4.8,
    vehicle: 'Test car',
  }));
  await services.db.driver.createMany({ data: rows });
  return rows.map((r) => ({ ...r, duty: 'AVAILABLE' as const, suspendReason: null }));
}

export async function registerRider(services: Services, id: string): Promise<void> {
  await services.db.rider.create({ data: { id, name: `Rider ${id}` } });
}

/** Reports a position through the location index (the same code updateDriverLocation runs). */
export async function report(services: Services, driver: DriverProfile, p: { lat: number; lng: number }, recordedAt = Date.now()) {
  return services.locations.report(driver, { ...p, recordedAt: new Date(recordedAt) });
}
