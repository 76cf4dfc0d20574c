// The live city map for operators: snapshots of a view (a box and a zoom), computed on a timer
// that runs only while someone watches. Nothing here is called by the location or offer paths:
// a snapshot reads what those paths already keep (Redis' region indexes, Postgres' rides and
// offers), so an empty map page costs them nothing.
//
// Three levels, the finest the zoom asks for that fits the caps:
// - DETAIL: every driver (FREE / OFFERED / ON_TRIP), searching ride, offer and assignment;
// - CELL: per H3 res-7 cell (≈5 km², the rides' pickupCell), drivers and searching rides;
// - REGION: per H3 region (res 5, ≈250 km²), live drivers counted by Redis (ZCOUNT on seen:{r}).
// A view holding more than maxPositions drivers shows regions (no positions are read); more than
// maxItems items in a level means the next coarser one. A view wider than maxRegions regions is
// narrowed around its centre.
import { latLngToCell } from 'h3-js';
import type { CityMapPolicy } from '../config.ts';
import type { Db } from '../db/client.ts';
import { badInput } from '../errors.ts';
import { boxAreaKm2, cellAreaKm2, cellsCovering, REGION_RESOLUTION, type BoundingBox } from '../geo/cells.ts';
import type { LivePosition, LocationIndex } from '../geo/location-index.ts';
import type { Logger } from '../logger.ts';
import { SURGE_RESOLUTION } from '../pricing/surge.ts';

export type MapLevel = 'REGION' | 'CELL' | 'DETAIL';
export type MapDriverState = 'FREE' | 'OFFERED' | 'ON_TRIP';

export interface LatLng {
  lat: number;
  lng: number;
}

export interface MapCell {
  cell: string;
  resolution: number;
  drivers: number;
  searchingRides: number;
}

export interface MapDriver extends LatLng {
  id: string;
  state: MapDriverState;
}

export interface MapRide extends LatLng {
  id: string;
  round: number;
}

export interface MapLine {
  rideId: string;
  driverId: string;
  /** The driver's position. */
  from: LatLng;
  /** The pickup (the dropoff once the trip is under way). */
  to: LatLng;
}

export interface MapAssignment extends MapLine {
  status: string;
}

export interface MapSnapshot {
  at: Date;
  level: MapLevel;
  /** The box served: the one asked for, or its centre part when it was wider than allowed. */
  bbox: BoundingBox;
  narrowed: boolean;
  /** Live drivers in the regions the box touches (every level). */
  liveDrivers: number;
  cells: MapCell[];
  drivers: MapDriver[];
  rides: MapRide[];
  offers: MapLine[];
  assignments: MapAssignment[];
}

/** The cell resolution for the CELL level: the rides' pickupCell is at this resolution too. */
const CELL_RESOLUTION = SURGE_RESOLUTION;

interface SearchingRow {
  id: string;
  lat: number;
  lng: number;
  round: number;
}

interface HoldRow {
  driverId: string;
  rideId: string;
  kind: 'OFFER' | 'TRIP';
  status: string;
  toLat: number;
  toLng: number;
}

export function validateView(box: BoundingBox, zoom: number): void {
  const inRange = (v: number, limit: number) => Number.isFinite(v) && Math.abs(v) <= limit;
  if (![box.south, box.north].every((v) => inRange(v, 85)) || box.south >= box.north) throw badInput('bbox', 'needs -85 ≤ south < north ≤ 85');
  if (![box.west, box.east].every((v) => inRange(v, 180)) || box.west >= box.east) throw badInput('bbox', 'needs -180 ≤ west < east ≤ 180');
  if (!Number.isInteger(zoom) || zoom < 0 || zoom > 24) throw badInput('zoom', 'must be an integer from 0 to 24');
}

/** The box, or its centre part holding about `maxRegions` regions. */
export function narrow(box: BoundingBox, maxRegions: number): { box: BoundingBox; narrowed: boolean } {
  // The covering regions include those cut by the edges: aim a little below the cap.
  const allowedKm2 = maxRegions * cellAreaKm2(REGION_RESOLUTION) * 0.6;
  const area = boxAreaKm2(box);
  if (area <= allowedKm2) return { box, narrowed: false };
  const k = Math.sqrt(allowedKm2 / area) / 2;
  const lat = (box.south + box.north) / 2;
  const lng = (box.west + box.east) / 2;
  const dLat = (box.north - box.south) * k;
  const dLng = (box.east - box.west) * k;
  return { box: { south: lat - dLat, north: lat + dLat, west: lng - dLng, east: lng + dLng }, narrowed: true };
}

export class CityMap {
  private watchers = 0;
  private timers = 0;
  private computed = 0;

  constructor(
    private readonly db: Db,
    private readonly locations: LocationIndex,
    private readonly policy: CityMapPolicy,
    private readonly log: Logger,
  ) {}

  /** Open map subscriptions, timers pending, and snapshots computed since the start (tests read these). */
  stats(): { watchers: number; timers: number; snapshots: number } {
    return { watchers: this.watchers, timers: this.timers, snapshots: this.computed };
  }

  /** Snapshots of the view, at most one per interval, computed only as the subscriber takes them. */
  watch(box: BoundingBox, zoom: number): AsyncIterableIterator<MapSnapshot> {
    validateView(box, zoom);
    this.watchers += 1;
    const intervalMs = this.policy.intervalMs;
    let ended = false;
    let lastAt = -Infinity;
    let pending: { timer: NodeJS.Timeout; wake: () => void } | null = null;
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        this.timers += 1;
        const wake = () => {
          if (!pending) return;
          clearTimeout(pending.timer);
          pending = null;
          this.timers -= 1;
          resolve();
        };
        pending = { timer: setTimeout(wake, ms), wake };
      });
    const done = (): IteratorResult<MapSnapshot> => ({ value: undefined, done: true });
    const end = async () => {
      if (ended) return done();
      ended = true;
      this.watchers -= 1;
      pending?.wake();
      return done();
    };
    return {
      next: async () => {
        for (;;) {
          const wait = lastAt + intervalMs - performance.now();
          if (!ended && wait > 0) await sleep(wait);
          if (ended) return done();
          lastAt = performance.now();
          try {
            const value = await this.snapshot(box, zoom);
            return ended ? done() : { value, done: false };
          } catch (err) {
            // A shard or Postgres hiccup skips one snapshot; the next interval tries again.
            this.log.warn({ err }, 'city map snapshot failed');
          }
        }
      },
      return: end,
      throw: async (err) => {
        await end();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  async snapshot(view: BoundingBox, zoom: number): Promise<MapSnapshot> {
    this.computed += 1;
    const { maxItems, maxPositions } = this.policy;
    const { box, narrowed } = narrow(view, this.policy.maxRegions);
    const regions = cellsCovering(box, REGION_RESOLUTION);
    const [counts, searching] = await Promise.all([this.locations.liveCounts(regions), this.searchingRides(box, maxPositions)]);
    const liveDrivers = [...counts.values()].reduce((a, b) => a + b, 0);
    const base = { at: new Date(), bbox: box, narrowed, liveDrivers, cells: [], drivers: [], rides: [], offers: [], assignments: [] };

    const wanted: MapLevel = zoom >= this.policy.detailZoom ? 'DETAIL' : zoom >= this.policy.cellZoom ? 'CELL' : 'REGION';
    if (wanted !== 'REGION' && liveDrivers <= maxPositions) {
      const occupied = regions.filter((r) => (counts.get(r) ?? 0) > 0);
      const positions = await this.locations.liveInBox(occupied, box, maxPositions);
      if (wanted === 'DETAIL' && positions.length + searching.length <= maxItems) {
        const detail = await this.detail(positions, searching);
        if (detail.drivers.length + detail.rides.length + detail.offers.length + detail.assignments.length <= maxItems) {
          return { ...base, level: 'DETAIL', ...detail };
        }
      }
      const cells = aggregate(
        positions.map((p) => latLngToCell(p.lat, p.lng, CELL_RESOLUTION)),
        searching.map((r) => latLngToCell(r.lat, r.lng, CELL_RESOLUTION)),
        CELL_RESOLUTION,
      );
      if (cells.length <= maxItems) return { ...base, level: 'CELL', cells };
    }
    const regionCells = aggregate([], searching.map((r) => latLngToCell(r.lat, r.lng, REGION_RESOLUTION)), REGION_RESOLUTION);
    const byRegion = new Map(regionCells.map((c) => [c.cell, c]));
    const cells = regions
      .map((cell) => ({ cell, resolution: REGION_RESOLUTION, drivers: counts.get(cell) ?? 0, searchingRides: byRegion.get(cell)?.searchingRides ?? 0 }))
      .filter((c) => c.drivers > 0 || c.searchingRides > 0)
      .sort((a, b) => b.drivers - a.drivers || b.searchingRides - a.searchingRides)
      .slice(0, maxItems);
    return { ...base, level: 'REGION', cells };
  }

  /** Searching rides picked up in the box, read through a partial index of live rides (due rides, one live ride per rider). */
  private searchingRides(box: BoundingBox, limit: number): Promise<SearchingRow[]> {
    return this.db.$queryRaw<SearchingRow[]>`
      SELECT id::text, "pickupLat" AS lat, "pickupLng" AS lng, round FROM "Ride"
      WHERE "nextCheckAt" IS NOT NULL AND status = 'SEARCHING'
        AND "pickupLat" BETWEEN ${box.south} AND ${box.north} AND "pickupLng" BETWEEN ${box.west} AND ${box.east}
      LIMIT ${limit}`;
  }

  /** Each driver's state from Postgres (live offers, trips), with the lines they draw. */
  private async detail(positions: LivePosition[], searching: SearchingRow[]) {
    const ids = positions.map((p) => p.driverId);
    const holds = ids.length === 0 ? [] : await this.db.$queryRaw<HoldRow[]>`
      SELECT o."driverId", o."rideId"::text AS "rideId", 'OFFER' AS kind, 'OFFERED' AS status, r."pickupLat" AS "toLat", r."pickupLng" AS "toLng"
      FROM "RideOffer" o JOIN "Ride" r ON r.id = o."rideId"
      WHERE o."driverId" = ANY(${ids}::text[]) AND o.status = 'OFFERED' AND o."expiresAt" > now()
      UNION ALL
      SELECT "driverId", id::text, 'TRIP', status::text,
             CASE WHEN status = 'IN_PROGRESS' THEN "dropoffLat" ELSE "pickupLat" END,
             CASE WHEN status = 'IN_PROGRESS' THEN "dropoffLng" ELSE "pickupLng" END
      FROM "Ride" WHERE "driverId" = ANY(${ids}::text[]) AND status IN ('ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS')`;
    const at = new Map(positions.map((p) => [p.driverId, { lat: p.lat, lng: p.lng }]));
    const state = new Map<string, MapDriverState>();
    const offers: MapLine[] = [];
    const assignments: MapAssignment[] = [];
    for (const h of holds) {
      const line = { rideId: h.rideId, driverId: h.driverId, from: at.get(h.driverId)!, to: { lat: h.toLat, lng: h.toLng } };
      if (h.kind === 'TRIP') {
        state.set(h.driverId, 'ON_TRIP');
        assignments.push({ ...line, status: h.status });
      } else {
        if (!state.has(h.driverId)) state.set(h.driverId, 'OFFERED');
        offers.push(line);
      }
    }
    return {
      drivers: positions.map((p) => ({ id: p.driverId, lat: p.lat, lng: p.lng, state: state.get(p.driverId) ?? 'FREE' })),
      rides: searching.map((r) => ({ id: r.id, lat: r.lat, lng: r.lng, round: r.round })),
      offers,
      assignments,
    };
  }
}

/** Counts per cell of the given resolution (drivers' and rides' cells already at it). */
function aggregate(driverCells: string[], rideCells: string[], resolution: number): MapCell[] {
  const cells = new Map<string, MapCell>();
  const entry = (cell: string) => {
    let c = cells.get(cell);
    if (!c) cells.set(cell, (c = { cell, resolution, drivers: 0, searchingRides: 0 }));
    return c;
  };
  for (const cell of driverCells) entry(cell).drivers += 1;
  for (const cell of rideCells) entry(cell).searchingRides += 1;
  return [...cells.values()];
}
