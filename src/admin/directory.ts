// The operator's lists and lookups: drivers (by standing, car type, region, online) and rides
// (by status, time window, rider, driver), one page at a time with a cursor, and one driver's
// live state as Redis and Postgres each hold it, side by side.
import type { Db } from '../db/client.ts';
import type { DriverRecords } from '../drivers/driver-records.ts';
import { badInput } from '../errors.ts';
import type { CarType, RideStatus } from '../generated/prisma/enums.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { regionKeys, regionRoute } from '../redis/keys.ts';
import type { Router } from '../redis/router.ts';
import { isValidCell, getResolution } from 'h3-js';
import { REGION_RESOLUTION } from '../geo/cells.ts';
import { TRIP_STATUSES } from '../match/ride-status.ts';
import { toRideView, type RideView } from '../match/ride-view.ts';
import type { DriverProfile } from '../registry/registry.ts';

export type DriverStanding = 'AVAILABLE' | 'OFFLINE' | 'SUSPENDED';

export interface DriverFilter {
  status?: DriverStanding | null;
  carType?: CarType | null;
  /** H3 region (resolution 5): drivers indexed there and heard from lately. */
  region?: string | null;
  /** Heard from within the liveness window (true) or not (false). */
  online?: boolean | null;
}

export interface RideFilter {
  status?: RideStatus | null;
  from?: Date | null;
  to?: Date | null;
  riderId?: string | null;
  driverId?: string | null;
}

export interface Page {
  after?: string;
  before?: string;
  limit: number;
  inverted: boolean;
}

export interface DriverLiveState {
  driverId: string;
  postgres: { duty: string; suspendReason: string | null; rideId: string | null; rideStatus: string | null; offeredRideId: string | null };
  redis: { state: string | null; rideId: string | null; region: string | null; duty: string | null; silentForMs: number | null; lat: number | null; lng: number | null } | null;
  /** True when both sides agree on what the driver is doing. */
  consistent: boolean;
}

/** Online drivers (filter without a region) are found among at most this many rows per page asked. */
const ONLINE_SCAN_FACTOR = 10;

export class Directory {
  constructor(
    private readonly db: Db,
    private readonly router: Router,
    private readonly records: DriverRecords,
    private readonly driverTtlMs: number,
  ) {}

  async drivers(filter: DriverFilter, page: Page): Promise<DriverProfile[]> {
    const where: Prisma.DriverWhereInput = {
      ...(filter.carType ? { carType: filter.carType } : {}),
      ...(filter.status === 'SUSPENDED' ? { suspendedAt: { not: null } } : filter.status ? { suspendedAt: null, duty: filter.status } : {}),
    };
    if (filter.region) where.id = { in: await this.liveInRegion(filter.region) };
    const order = page.inverted ? 'desc' : 'asc';
    const cursor = page.inverted ? page.before : page.after;
    const take = filter.online === undefined || filter.online === null || filter.region ? page.limit : page.limit * ONLINE_SCAN_FACTOR;
    const rows = await this.db.driver.findMany({
      where: { AND: [where, cursor ? { id: page.inverted ? { lt: cursor } : { gt: cursor } } : {}] },
      orderBy: { id: order },
      take,
    });
    let profiles = rows.map((row) => ({ ...row, suspendReason: row.suspendedAt ? (row.suspendReason ?? 'suspended') : null }));
    if (filter.online !== undefined && filter.online !== null && !filter.region) {
      const silent = await this.records.silentAmong(profiles.map((p) => p.id), this.driverTtlMs);
      profiles = profiles.filter((p) => silent.has(p.id) !== filter.online);
    } else if (filter.online === false && filter.region) {
      return []; // drivers of a region are, by definition, online there
    }
    return profiles.slice(0, page.limit);
  }

  async rides(filter: RideFilter, page: Page): Promise<RideView[]> {
    const where: Prisma.RideWhereInput = {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.riderId ? { riderId: filter.riderId } : {}),
      ...(filter.driverId ? { driverId: filter.driverId } : {}),
      ...(filter.from || filter.to ? { requestedAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } } : {}),
    };
    // Newest first; the cursor is "requestedAt|id" of the row it follows.
    const cursor = page.inverted ? page.before : page.after;
    const [at, id] = cursor ? cursor.split('|') : [];
    if (cursor && (!at || !id || Number.isNaN(Date.parse(at)))) throw badInput(page.inverted ? 'before' : 'after', 'is not a cursor of this list');
    const beyond: Prisma.RideWhereInput = cursor
      ? page.inverted
        ? { OR: [{ requestedAt: { gt: new Date(at!) } }, { requestedAt: new Date(at!), id: { gt: id } }] }
        : { OR: [{ requestedAt: { lt: new Date(at!) } }, { requestedAt: new Date(at!), id: { lt: id } }] }
      : {};
    const dir = page.inverted ? 'asc' : 'desc';
    const rows = await this.db.ride.findMany({ where: { AND: [where, beyond] }, orderBy: [{ requestedAt: dir }, { id: dir }], take: page.limit });
    return rows.map(toRideView);
  }

  async driverState(driverId: string): Promise<DriverLiveState | null> {
    const driver = await this.db.driver.findUnique({ where: { id: driverId } });
    if (!driver) return null;
    const [trip, offer, record] = await Promise.all([
      this.db.ride.findFirst({ where: { driverId, status: { in: [...TRIP_STATUSES] } }, select: { id: true, status: true } }),
      this.db.$queryRaw<Array<{ rideId: string }>>`
        SELECT "rideId"::text AS "rideId" FROM "RideOffer" WHERE "driverId" = ${driverId} AND status = 'OFFERED' AND "expiresAt" > now() LIMIT 1`,
      this.records.inspect(driverId).catch(() => null),
    ]);
    const f = record?.fields ?? null;
    const redis = f && Object.keys(f).length > 0
      ? { state: f.state ?? null, rideId: f.ride ?? null, region: f.region ?? null, duty: f.duty ?? null, silentForMs: record!.silentForMs, lat: f.lat ? Number(f.lat) : null, lng: f.lng ? Number(f.lng) : null }
      : null;
    const expected = trip ? 'ON_RIDE' : offer[0] ? 'OFFERED' : 'FREE';
    const consistent = !redis || (redis.state === expected && (expected === 'FREE' || redis.rideId === (trip?.id ?? offer[0]?.rideId)));
    return {
      driverId,
      postgres: { duty: driver.duty, suspendReason: driver.suspendedAt ? (driver.suspendReason ?? 'suspended') : null, rideId: trip?.id ?? null, rideStatus: trip?.status ?? null, offeredRideId: offer[0]?.rideId ?? null },
      redis,
      consistent,
    };
  }

  private async liveInRegion(region: string): Promise<string[]> {
    if (!isValidCell(region) || getResolution(region) !== REGION_RESOLUTION) throw badInput('region', `must be an H3 cell of resolution ${REGION_RESOLUTION}`);
    const answers = await this.router.readAll(regionRoute(region), (redis) => redis.liveInRegion(regionKeys(region)[1], this.driverTtlMs) as Promise<string[]>);
    return [...new Set(answers.flat())];
  }
}
