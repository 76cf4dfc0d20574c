// Drivers for the benchmark: registered in Postgres in bulk, put "online" in the shards through
// the same LocationIndex code as updateDriverLocation (fast, without sockets), or connected as
// real driver apps through the SDK.
import { signToken } from '../../src/auth.ts';
import type { Db } from '../../src/db/client.ts';
import { createClock } from '../../src/clock.ts';
import { DriverRecords } from '../../src/drivers/driver-records.ts';
import { LocationIndex } from '../../src/geo/location-index.ts';
import type { ShardRouter } from '../../src/redis/shard-router.ts';
import type { DriverProfile } from '../../src/registry/registry.ts';
import { createRidematchClient, type RidematchClient } from '../../src/sdk/node.ts';
import type { BoundingBox } from '../../src/sim/simulation.ts';

export const JWT_SECRET = 'bench-secret-0123456789-0123456789-0123';
/** The benchmark's servers serve /metrics on their public port, behind this token. */
export const METRICS_TOKEN = 'bench-metrics-0123456789';

export function randomPoint(b: BoundingBox) {
  return { lat: b.minLat + Math.random() * (b.maxLat - b.minLat), lng: b.minLng + Math.random() * (b.maxLng - b.minLng) };
}

export function boxAround(lat: number, lng: number, sideKm: number): BoundingBox {
  const dLat = sideKm / 2 / 110.574;
  const dLng = sideKm / 2 / (111.32 * Math.cos((lat * Math.PI) / 180));
  return { minLat: lat - dLat, maxLat: lat + dLat, minLng: lng - dLng, maxLng: lng + dLng };
}

export async function registerFleet(db: Db, prefix: string, count: number): Promise<DriverProfile[]> {
  const drivers: DriverProfile[] = Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    name: `Bench driver ${i}`,
    carType: 'ECONOMY',
    paymentPreference: 'ANY',
    rating: 4.7,
    vehicle: 'Bench car',
    duty: 'AVAILABLE',
    suspendReason: null,
  }));
  for (let i = 0; i < drivers.length; i += 5_000) {
    await db.driver.createMany({ data: drivers.slice(i, i + 5_000).map(({ duty: _duty, suspendReason: _suspended, ...d }) => d), skipDuplicates: true });
  }
  return drivers;
}

/** The index as the server builds it, for the benchmark's direct writes and searches. */
export function benchLocationIndex(router: ShardRouter, db: Db, driverTtlMs: number): LocationIndex {
  const records = new DriverRecords(router, db, { recordTtlMs: 3_600_000, reconcileIntervalMs: 60_000, location: { ratePerS: 1_000, burst: 1_000 } });
  return new LocationIndex(router, records, createClock(), { driverTtlMs, sweepIntervalMs: 60_000, sweepBatch: 500 });
}

/**
 * Puts drivers online (live, FREE) at random points of the box, as if each had just reported.
 * Returns where each one is.
 */
export async function putOnline(
  router: ShardRouter,
  db: Db,
  drivers: DriverProfile[],
  box: BoundingBox,
  driverTtlMs: number,
): Promise<Map<string, { lat: number; lng: number }>> {
  const positions = new Map(drivers.map((d) => [d.id, randomPoint(box)]));
  // A first ping makes a record UNKNOWN, restored (FREE) from Postgres as the server would.
  const index = benchLocationIndex(router, db, driverTtlMs);
  for (let i = 0; i < drivers.length; i += 2_000) {
    await Promise.all(drivers.slice(i, i + 2_000).map((d) => index.report(d, { ...positions.get(d.id)!, recordedAt: new Date() })));
  }
  return positions;
}

export async function clientFor(url: string, role: 'driver' | 'rider' | 'admin', id: string, transport: 'ws' | 'http' = 'ws'): Promise<RidematchClient> {
  return createRidematchClient({ url, token: await signToken(JWT_SECRET, { role, id }), transport, retryAttempts: 0 });
}
