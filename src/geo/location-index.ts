// The sharded driver geo index: where every available driver is, who was heard from lately, and
// the nearest-driver search. A location ping is two script calls: the driver's record (on the
// shard owning the driver id: rate limit, out-of-order guard, region pointer, duty; see
// drivers/driver-records.ts) and the region's index (on the shard owning the region). See
// ../../README.md "Redis layout".
import type { Clock } from '../clock.ts';
import type { DriverRecords } from '../drivers/driver-records.ts';
import type { DriverDuty } from '../generated/prisma/enums.ts';
import { regionKeys, regionOfSeenKey, regionRoute, SEEN_KEY_PATTERN } from '../redis/keys.ts';
import type { Router } from '../redis/router.ts';
import type { DriverProfile } from '../registry/registry.ts';
import { cellOf, haversineKm, regionOf, regionsWithin, type BoundingBox } from './cells.ts';
import { validateLocation, type LocationUpdate } from './location-input.ts';

export interface LocationIndexOptions {
  driverTtlMs: number;
  sweepIntervalMs: number;
  sweepBatch: number;
}

export interface LocationAck {
  driverId: string;
  cell: string;
  region: string;
  acceptedAt: Date;
  /** True when an equal or newer report was already accepted: nothing was written. */
  outOfOrder: boolean;
  /** False when the driver is OFFLINE: the position is not searchable. */
  searchable: boolean;
  /** The ride the driver is on, as Redis knows it (for tracking); null when free. */
  onRide: string | null;
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
  /**
   * True: a region whose shard did not answer fails the search (ShardTimeoutError) instead of
   * being left out. Matching sets it: an area that could not be read is not an empty one.
   */
  complete?: boolean;
}

export interface Candidate {
  driverId: string;
  distanceKm: number;
  lat: number;
  lng: number;
  lastSeenAt: number;
}

export interface LivePosition {
  driverId: string;
  lat: number;
  lng: number;
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

  constructor(
    private readonly router: Router,
    private readonly records: DriverRecords,
    private readonly clock: Clock,
    readonly options: LocationIndexOptions,
  ) {}

  /**
   * Validates and stores one location report. Throws INVALID_LOCATION (nothing written) on bad
   * input and RATE_LIMITED (nothing written) when the driver reports too often.
   */
  async report(driver: DriverProfile, update: LocationUpdate): Promise<LocationAck> {
    const now = this.clock.now();
    validateLocation(update, now, this.options.driverTtlMs);
    const cell = cellOf(update.lat, update.lng);
    const region = regionOf(update.lat, update.lng);
    const recordedAt = update.recordedAt.getTime();
    const ack = { driverId: driver.id, cell, region, acceptedAt: new Date(now) };

    const { verdict, previousRegion, duty, state, ride } = await this.records.ping(driver.id, {
      recordedAt,
      region,
      lat: update.lat,
      lng: update.lng,
      // A record rebuilt for a suspended driver starts OFFLINE: never searchable.
      dutyIfNew: driver.suspendReason ? 'OFFLINE' : driver.duty,
    });
    const onRide = state === 'ON_RIDE' && ride ? ride : null;
    if (verdict === 'stale') return { ...ack, outOfOrder: true, searchable: duty !== 'OFFLINE', onRide };

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
    return { ...ack, outOfOrder: false, searchable, onRide };
  }

  /** Records the driver's duty; OFFLINE takes them out of search at once. */
  async setDuty(driverId: string, duty: DriverDuty): Promise<void> {
    const region = await this.records.setDuty(driverId, duty);
    if (duty === 'OFFLINE' && region) await this.removeFromRegion(region, [driverId]);
  }

  /** Removes drivers from a region on every shard that may hold it (current and recent owners). */
  async removeFromRegion(region: string, driverIds: string[]): Promise<void> {
    await this.router.readAll(regionRoute(region), (redis) => redis.removeDrivers(...regionKeys(region), ...driverIds));
  }

  /**
   * Whether a region the circle touches changed shard within one driver TTL: its new shard has
   * only the drivers that pinged since (every live driver does within the TTL), so finding none
   * there does not mean there are none.
   */
  refilling(lat: number, lng: number, radiusKm: number): boolean {
    return regionsWithin(lat, lng, radiusKm).some((region) => this.router.movedWithin(regionRoute(region), this.options.driverTtlMs));
  }

  /**
   * The nearest live drivers that fit, across every region (and shard) the search circle touches.
   * A region whose shard is slow is left out, or with `complete` fails the search.
   */
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
        this.router.readAll(regionRoute(region), (redis) => redis.nearest(...regionKeys(region), ...args) as Promise<string[]>, { required: q.complete }),
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

  /**
   * Live drivers per region, counted by each region's shard on its own clock. Right after a
   * change of owner a region is read from both owners; the larger count is the better one.
   */
  async liveCounts(regions: string[]): Promise<Map<string, number>> {
    const counts = await Promise.all(
      regions.map((region) =>
        this.router.readAll(regionRoute(region), (redis) => redis.countLive(regionKeys(region)[1], this.options.driverTtlMs) as Promise<number>),
      ),
    );
    return new Map(regions.map((region, i) => [region, Math.max(0, ...counts[i]!.map(Number))]));
  }

  /** Live drivers inside a box, read from the regions that cover it (at most `limitPerRegion` from each). */
  async liveInBox(regions: string[], box: BoundingBox, limitPerRegion: number): Promise<LivePosition[]> {
    const lat = (box.south + box.north) / 2;
    const lng = (box.west + box.east) / 2;
    // GEOSEARCH's box is centred and measured in km; a little wider than the degrees, then trimmed.
    const widthKm = haversineKm(lat, box.west, lat, box.east) * 1.02 + 0.01;
    const heightKm = haversineKm(box.south, lng, box.north, lng) * 1.02 + 0.01;
    const answers = await Promise.all(
      regions.map((region) =>
        this.router.readAll(regionRoute(region), (redis) =>
          redis.liveInBox(...regionKeys(region).slice(0, 2), lng, lat, widthKm, heightKm, this.options.driverTtlMs, limitPerRegion) as Promise<string[]>,
        ),
      ),
    );
    const found = new Map<string, LivePosition>();
    for (const flat of answers.flat()) {
      for (let i = 0; i < flat.length; i += 3) {
        const p = { driverId: flat[i]!, lng: Number(flat[i + 1]), lat: Number(flat[i + 2]) };
        if (p.lat >= box.south && p.lat <= box.north && p.lng >= box.west && p.lng <= box.east) found.set(p.driverId, p);
      }
    }
    return [...found.values()];
  }

  /**
   * One sweep over every region on every healthy shard (in a cluster: every primary); bounded per
   * region per call. Keys are listed on the server itself; the sweep runs through the shard's
   * client, which in a cluster follows the slot if it moved meanwhile.
   */
  async sweepOnce(): Promise<SweepReport> {
    const report: SweepReport = { regions: 0, removed: 0 };
    for (const shard of this.router.healthyShards()) {
      try {
        let cursor = '0';
        do {
          const [next, keys] = await shard.server.scan(cursor, 'MATCH', SEEN_KEY_PATTERN, 'COUNT', 1000, 'TYPE', 'zset');
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
