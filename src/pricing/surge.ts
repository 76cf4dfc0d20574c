// Surge per H3 cell (resolution 7, ≈5 km²) around the pickup, per car type, from live supply and
// recent demand in the cell and its neighbours (k-ring 1):
// - supply: drivers of that car type online in the ring (the geo index in Redis), less those
//   Postgres has on a trip or holding a live offer, counted only until they reach the demand
//   (past it the multiplier is 1, however many more there are);
// - demand: rides of that car type requested in the ring within SURGE_DEMAND_WINDOW_MS (Postgres);
// - raw = 1 + sensitivity × (demand / supply − 1) when demand exceeds supply, else 1;
// - smoothed towards raw with a time constant (in Redis, by Redis' clock), then stepped (0.1) and
//   capped (3.0). Losing the Redis value only loses the smoothing: the next estimate recomputes it.
import { cellToLatLng, getHexagonEdgeLengthAvg, gridDisk, latLngToCell, UNITS } from 'h3-js';
import type { PricingPolicy } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { CarType } from '../generated/prisma/enums.ts';
import type { LocationIndex } from '../geo/location-index.ts';
import { TRIP_STATUSES } from '../match/ride-status.ts';
import type { Router } from '../redis/router.ts';
import { surgeKey, surgeRoute } from '../redis/keys.ts';

export const SURGE_RESOLUTION = 7;
/** The ring's outer cells reach about 2.5 edges from the centre; search a little beyond. */
const RING_RADIUS_KM = getHexagonEdgeLengthAvg(SURGE_RESOLUTION, UNITS.km) * 3;
/** A reading's first search reads this many drivers at most; the wider ones, up to MAX_COUNTED. */
const FIRST_COUNTED = 64;
const MAX_COUNTED = 1_000;
const STORED_FOR_MS = 3_600_000;
/** Readings an instance keeps (cells × car types); beyond it the oldest go. */
const MAX_REMEMBERED = 10_000;

export interface SurgeReading {
  cell: string;
  carType: CarType;
  multiplier: number;
  supply: number;
  demand: number;
  updatedAt: Date | null;
}

export const surgeCellOf = (lat: number, lng: number) => latLngToCell(lat, lng, SURGE_RESOLUTION);

export class Surge {
  constructor(
    private readonly locations: LocationIndex,
    private readonly db: Db,
    private readonly router: Router,
    private readonly policy: PricingPolicy['surge'],
  ) {}

  /**
   * This instance's latest reading per cell and car type, and until when (performance.now()) it
   * stands. A reading costs a search of up to MAX_COUNTED drivers and two Postgres counts; a
   * burst of estimates in one cell (a stadium emptying, or one client looping) shares one.
   */
  private readonly recent = new Map<string, { reading: Promise<SurgeReading>; until: number }>();

  /** The multiplier for a pickup now (and the figures behind it), at most SURGE_RECOMPUTE_MS old. */
  at(lat: number, lng: number, carType: CarType): Promise<SurgeReading> {
    const cell = surgeCellOf(lat, lng);
    const key = `${cell}|${carType}`;
    const now = performance.now();
    const hit = this.recent.get(key);
    if (hit && hit.until > now) return hit.reading;
    const reading = this.compute(cell, lat, lng, carType);
    if (this.policy.recomputeMs > 0) {
      this.recent.delete(key); // re-inserted last: the Map's order is oldest first
      this.recent.set(key, { reading, until: now + this.policy.recomputeMs });
      if (this.recent.size > MAX_REMEMBERED) this.recent.delete(this.recent.keys().next().value!);
      reading.catch(() => this.recent.delete(key)); // a failure is not remembered
    }
    return reading;
  }

  private async compute(cell: string, lat: number, lng: number, carType: CarType): Promise<SurgeReading> {
    const ring = gridDisk(cell, 1);
    const demandCount = this.demand(ring, carType);
    demandCount.catch(() => {}); // awaited below; a failure is thrown from there
    const supply = await this.supply(lat, lng, ring, carType, demandCount);
    const demand = await demandCount;
    const { sensitivity, smoothingMs } = this.policy;
    const raw = demand > supply ? 1 + sensitivity * (demand / Math.max(supply, 1) - 1) : 1;
    const smoothed = await this.router
      .write(surgeRoute(cell), (redis) => redis.smoothSurge(surgeKey(cell), carType, raw, smoothingMs, supply, demand, STORED_FOR_MS))
      .then(Number, () => raw); // no shard: no smoothing, still a price
    return { cell, carType, multiplier: this.stepped(smoothed), supply, demand, updatedAt: new Date() };
  }

  /**
   * The multiplier as last computed for the pickup's cell (one Redis read), computing it when
   * there is none: what a ride requested without an estimate is priced at, off the hot path's
   * searches.
   */
  async lastKnown(lat: number, lng: number, carType: CarType): Promise<number> {
    const cell = surgeCellOf(lat, lng);
    const stored = await this.router.write(surgeRoute(cell), (redis) => redis.hget(surgeKey(cell), carType)).catch(() => null);
    if (!stored) return (await this.at(lat, lng, carType)).multiplier;
    return this.stepped(Number(stored.split('|')[0]));
  }

  private stepped(value: number): number {
    const { step, cap } = this.policy;
    return Math.round(Math.min(cap, Math.max(1, Math.round(value / step) * step)) * 100) / 100;
  }

  /** What was last computed for the cells around a point (the admin's view). */
  async around(lat: number, lng: number, k = 1): Promise<SurgeReading[]> {
    const readings = await Promise.all(
      gridDisk(surgeCellOf(lat, lng), k).map(async (cell) => {
        const stored = await this.router.write(surgeRoute(cell), (redis) => redis.hgetall(surgeKey(cell))).catch(() => ({}));
        return Object.entries(stored as Record<string, string>).map(([carType, value]) => {
          const [m, at, supply, demand] = value.split('|').map(Number);
          return { cell, carType: carType as CarType, multiplier: this.stepped(m!), supply: supply!, demand: demand!, updatedAt: new Date(at!) };
        });
      }),
    );
    return readings.flat();
  }

  /**
   * Free drivers in the ring, counted only as far as the price needs: once they are at least the
   * demand the multiplier is 1 whatever more there are, so the count stops there (then it is a
   * lower bound). Most readings cost one search of FIRST_COUNTED drivers, not of MAX_COUNTED: a
   * search's cost grows with the drivers it reads, and it holds the region's shard meanwhile.
   */
  private async supply(lat: number, lng: number, ring: string[], carType: CarType, demand: Promise<number>): Promise<number> {
    const inRing = new Set(ring);
    for (let limit = FIRST_COUNTED; ; limit = Math.min(limit * 4, MAX_COUNTED)) {
      const found = await this.locations.search({ lat, lng, startRadiusKm: 0.5, maxRadiusKm: RING_RADIUS_KM, limit, carType });
      const online = found.filter((c) => inRing.has(surgeCellOf(c.lat, c.lng))).map((c) => c.driverId);
      const free = online.length - (await this.busyAmong(online));
      // Fewer than the limit: every driver in the circle was read (of the regions that answered).
      if (found.length < limit || limit === MAX_COUNTED || free >= (await demand)) return free;
    }
  }

  /** Of these drivers, those Postgres has on a trip or holding a live offer. */
  private async busyAmong(driverIds: string[]): Promise<number> {
    if (driverIds.length === 0) return 0;
    const [busy] = await this.db.$queryRaw<Array<{ n: number }>>`
      SELECT count(DISTINCT d)::int AS n FROM (
        SELECT "driverId" AS d FROM "Ride" WHERE "driverId" = ANY(${driverIds}) AND status::text = ANY(${[...TRIP_STATUSES]})
        UNION ALL
        SELECT o."driverId" FROM "RideOffer" o
         WHERE o."driverId" = ANY(${driverIds}) AND o.status = 'OFFERED' AND o."expiresAt" > now()
      ) held`;
    return busy!.n;
  }

  private async demand(ring: string[], carType: CarType): Promise<number> {
    const seconds = this.policy.demandWindowMs / 1000;
    const [row] = await this.db.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM "Ride"
       WHERE "pickupCell" = ANY(${ring}) AND "carType" = ${carType}::"CarType"
         AND "requestedAt" > now() - make_interval(secs => ${seconds})`;
    return row!.n;
  }
}

/** The centre of a surge cell (for maps and the admin's view). */
export const surgeCellCentre = (cell: string) => {
  const [lat, lng] = cellToLatLng(cell);
  return { lat, lng };
};
