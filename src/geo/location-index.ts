// The sharded driver geo index: where every available driver is, who was heard from lately, and
// the nearest-driver search. A location ping is two script calls: the driver's record (on the
// shard owning the driver id: out-of-order guard, region pointer, duty) and the region's index (on
// the shard owning the region). See ../../README.md "Redis layout".
import type { Config } from '../config.ts';
import type { DriverDuty } from '../generated/prisma/enums.ts';
import { driverKey, driverRoute, regionKeys, regionOfSeenKey, regionRoute, SEEN_KEY_PATTERN } from '../redis/keys.ts';
import type { ShardRouter } from '../redis/shard-router.ts';
import type { DriverProfile } from '../registry/registry.ts';
import { cellOf, regionOf, regionsWithin } from './cells.ts';
import { validateLocation, type LocationUpdate } from './location-input.ts';

export type LocationIndexOptions = Config['geo'];

export type DispatchState = 'UNKNOWN' | 'FREE' | 'OFFERED' | 'ON_RIDE';

export interface LocationAck {
  driverId: string;
  cell: string;
  region: string;
  acceptedAt: Date;
  /** True when an equal or newer report was already accepted: nothing was written. */
  outOfOrder: boolean;
  /** False when the driver is OFFLINE: the position is not searchable. */
  searchable: boolean;
}

export interface SearchQuery {
  lat: number;
  lng: number;
  /** The search starts at this radius and doubles up to maxRadiusKm while too few drivers fit. */
  startRadiusKm: number;
  maxRadiusKm: number;
  limit: number;
  carType?: string;
  /** The rider's payment method (CASH | CARD); drivers accepting ANY always fit. */
  paymentMethod?: string;
  minRating?: number | null;
  exclude?: Iterable<string>;
}

export interface Candidate {
  driverId: string;
  distanceKm: number;
  lat: number;
  lng: number;
  lastSeenAt: number;
}

export interface SweepReport {
  regions: number;
  removed: number;
}

/** Pack the metadata the search filters on; nearest.lua parses the same layout. */
export function packMeta(d: Pick<DriverProfile, 'carType' | 'paymentPreference' | 'rating'>): string {
  return `${d.carType}|${d.paymentPreference}|${d.rating}`;
}

export class LocationIndex {
  private sweeper: NodeJS.Timeout | null = null;
  /** Called when a driver's record is new (state UNKNOWN) so dispatch can restore it from Postgres. */
  onUnknownState: (driverId: string) => Promise<void> = async () => {};

  constructor(
    private readonly router: ShardRouter,
    readonly options: LocationIndexOptions,
  ) {}

  /** Validates and stores one location report. Throws INVALID_LOCATION (nothing written) on bad input. */
  async report(driver: DriverProfile, update: LocationUpdate): Promise<LocationAck> {
    const now = Date.now();
    validateLocation(update, now, this.options.driverTtlMs);
    const cell = cellOf(update.lat, update.lng);
    const region = regionOf(update.lat, update.lng);
    const recordedAt = update.recordedAt.getTime();
    const ack = { driverId: driver.id, cell, region, acceptedAt: new Date(now) };

    const [verdict, previousRegion, duty, state] = (await this.router.write(driverRoute(driver.id), (redis) =>
      redis.driverRecord(
        driverKey(driver.id),
        recordedAt,
        region,
        this.options.driverRecordTtlMs,
        driver.duty,
        update.lat,
        update.lng,
      ),
    )) as [string, string, DriverDuty, DispatchState];
    if (verdict === 'stale') return { ...ack, outOfOrder: true, searchable: duty !== 'OFFLINE' };

    // Restoring from Postgres may fail (database down): the record then stays UNKNOWN, which is
    // never reserved, and the next ping tries again. The position is still indexed.
    if (state === 'UNKNOWN') await this.onUnknownState(driver.id).catch(() => {});
    const moved = previousRegion !== '' && previousRegion !== region;
    const searchable = duty !== 'OFFLINE';
    await Promise.all([
      searchable
        ? this.router.write(regionRoute(region), (redis) =>
            redis.location(...regionKeys(region), driver.id, update.lng, update.lat, packMeta(driver), recordedAt),
          )
        : null,
      // Leaving a region (or going offline) must not leave a second, older copy searchable.
      moved || (!searchable && previousRegion) ? this.removeFromRegion(previousRegion, [driver.id]) : null,
    ]);
    return { ...ack, outOfOrder: false, searchable };
  }

  /** Records the driver's duty; OFFLINE takes them out of search at once. */
  async setDuty(driverId: string, duty: DriverDuty): Promise<void> {
    const region = await this.router.write(driverRoute(driverId), async (redis) => {
      const key = driverKey(driverId);
      const [[, region]] = (await redis
        .multi()
        .hget(key, 'region')
        .hset(key, 'duty', duty)
        .pexpire(key, this.options.driverRecordTtlMs)
        .exec()) as [[unknown, string | null]];
      return region;
    });
    if (duty === 'OFFLINE' && region) await this.removeFromRegion(region, [driverId]);
  }

  /** Removes drivers from a region on every shard that may hold it (current and recent owners). */
  async removeFromRegion(region: string, driverIds: string[]): Promise<void> {
    await this.router.readAll(regionRoute(region), (redis) => redis.removeDrivers(...regionKeys(region), ...driverIds));
  }

  /** The nearest live drivers that fit, across every region (and shard) the search circle touches. */
  async search(q: SearchQuery): Promise<Candidate[]> {
    const exclude = q.exclude ? [...q.exclude] : [];
    const args = [
      q.lng,
      q.lat,
      Math.min(q.startRadiusKm, q.maxRadiusKm),
      q.maxRadiusKm,
      q.limit,
      this.options.driverTtlMs,
      q.carType ?? '',
      q.paymentMethod ?? '',
      q.minRating ?? -1,
      ...exclude,
    ];
    const regions = regionsWithin(q.lat, q.lng, q.maxRadiusKm);
    const answers = await Promise.all(
      regions.map((region) =>
        this.router.readAll(regionRoute(region), (redis) => redis.nearest(...regionKeys(region), ...args) as Promise<string[]>),
      ),
    );
    // A driver can appear twice for one liveness window (moved region, or shard ownership moved):
    // keep the copy heard from most recently.
    const best = new Map<string, Candidate>();
    for (const flat of answers.flat()) {
      for (let i = 0; i < flat.length; i += 5) {
        const c: Candidate = {
          driverId: flat[i]!,
          distanceKm: Number(flat[i + 1]),
          lng: Number(flat[i + 2]),
          lat: Number(flat[i + 3]),
          lastSeenAt: Number(flat[i + 4]),
        };
        const known = best.get(c.driverId);
        if (!known || known.lastSeenAt < c.lastSeenAt) best.set(c.driverId, c);
      }
    }
    return [...best.values()].sort((a, b) => a.distanceKm - b.distanceKm).slice(0, q.limit);
  }

  /** One sweep over every region on every healthy shard; bounded per region per call. */
  async sweepOnce(): Promise<SweepReport> {
    const report: SweepReport = { regions: 0, removed: 0 };
    for (const shard of this.router.healthyShards()) {
      try {
        let cursor = '0';
        do {
          const [next, keys] = await shard.redis.scan(cursor, 'MATCH', SEEN_KEY_PATTERN, 'COUNT', 1000, 'TYPE', 'zset');
          cursor = next;
          for (const key of keys) {
            const region = regionOfSeenKey(key);
            if (!region) continue;
            report.regions += 1;
            report.removed += Number(
              await shard.redis.sweep(...regionKeys(region), this.options.driverTtlMs, this.options.sweepBatch),
            );
          }
        } while (cursor !== '0');
      } catch {
        // A shard dying mid-sweep is the health checker's business; the next sweep retries.
      }
    }
    return report;
  }

  startSweeper(): void {
    this.sweeper = setInterval(() => void this.sweepOnce(), this.options.sweepIntervalMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
