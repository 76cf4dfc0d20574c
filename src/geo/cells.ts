// Cells and regions. A position maps to an H3 cell at CELL_RESOLUTION (reported back to drivers,
// handy for heat maps later) and to its region: the coarser H3 cell at REGION_RESOLUTION that
// contains the point. A region is the unit of sharding: its drivers live in one set of Redis keys
// on one shard. Why resolution 5 (≈250 km², edge ≈8.5 km): a metro spreads over ~19 regions, so
// shards share it (busiest of 3 shards holds 48% on average vs 57% at resolution 4, whose worst
// case put 94% of a metro on one shard), while a 1 km search still touches 1.27 regions on average
// (queried in parallel). README "Choosing the region size"; bench/region-resolution.ts measures it.
//
// The region is the containing coarse cell, not cellToParent(cell): H3 children are not nested
// exactly inside their parent (descendants poke out of the parent hexagon by kilometres at these
// levels), and the search finds regions by their hexagon outline (regionsWithin), so storage must
// use the same geometric rule or drivers near a border could be missed.
import { cellToBoundary, getHexagonAreaAvg, getHexagonEdgeLengthAvg, gridDisk, latLngToCell, POLYGON_TO_CELLS_FLAGS, polygonToCellsExperimental, UNITS } from 'h3-js';

export const CELL_RESOLUTION = 8;
export const REGION_RESOLUTION = 5;

/** Redis GEO's earth radius (geohash_helper.c), so our distances agree with GEOSEARCH's. */
export const EARTH_RADIUS_KM = 6372.797560856;

/** Redis GEO accepts latitudes only within this range (EPSG:900913 limits). */
export const MAX_GEO_LATITUDE = 85.05112878;

export function cellOf(lat: number, lng: number): string {
  return latLngToCell(lat, lng, CELL_RESOLUTION);
}

export function regionOf(lat: number, lng: number, resolution = REGION_RESOLUTION): string {
  return latLngToCell(lat, lng, resolution);
}

const toRad = (deg: number) => (deg * Math.PI) / 180;

export function haversineKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const dLat = toRad(lat2 - lat1);
  const dLng = toRad(lng2 - lng1);
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(lat1)) * Math.cos(toRad(lat2)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

const boundaries = new Map<string, Array<[number, number]>>();
function boundaryOf(region: string): Array<[number, number]> {
  let b = boundaries.get(region);
  if (!b) {
    if (boundaries.size > 50_000) boundaries.clear();
    b = cellToBoundary(region);
    boundaries.set(region, b);
  }
  return b;
}

/** Shortest distance (km) from a point to a cell's outline, in a local flat projection. */
function distanceToOutlineKm(lat: number, lng: number, outline: Array<[number, number]>): number {
  const kx = EARTH_RADIUS_KM * Math.cos(toRad(lat));
  const project = ([pLat, pLng]: [number, number]): [number, number] => {
    let dLng = pLng - lng;
    if (dLng > 180) dLng -= 360;
    if (dLng < -180) dLng += 360;
    return [toRad(dLng) * kx, toRad(pLat - lat) * EARTH_RADIUS_KM];
  };
  let best = Infinity;
  for (let i = 0; i < outline.length; i++) {
    const [ax, ay] = project(outline[i]!);
    const [bx, by] = project(outline[(i + 1) % outline.length]!);
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
    best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
  }
  return best;
}

/**
 * Every region a circle touches: the pickup's own region, plus neighbours whose outline comes
 * within the radius. A little slack is added (the flat projection is not exact): asking one region
 * too many costs a cheap query, missing one would miss drivers.
 */
export function regionsWithin(lat: number, lng: number, radiusKm: number, resolution = REGION_RESOLUTION): string[] {
  const home = latLngToCell(lat, lng, resolution);
  // H3 cells at one resolution vary in size; half the average edge is a safe lower bound of a
  // cell's inradius, so k rings surely cover the circle.
  const minInradiusKm = getHexagonEdgeLengthAvg(resolution, UNITS.km) / 2;
  const rings = Math.ceil(radiusKm / minInradiusKm) + 1;
  const slackKm = radiusKm * 0.01 + 0.05;
  return gridDisk(home, rings).filter(
    (region) => region === home || distanceToOutlineKm(lat, lng, boundaryOf(region)) <= radiusKm + slackKm,
  );
}

/** A box on the map, in degrees (west < east: boxes across the antimeridian are not served). */
export interface BoundingBox {
  south: number;
  west: number;
  north: number;
  east: number;
}

/** Every cell of a resolution that overlaps the box (not only those whose centre lies inside). */
export function cellsCovering(box: BoundingBox, resolution: number): string[] {
  const { south, west, north, east } = box;
  const ring = [[south, west], [south, east], [north, east], [north, west], [south, west]];
  return polygonToCellsExperimental(ring, resolution, POLYGON_TO_CELLS_FLAGS.containmentOverlapping);
}

/** The box's area in km² (flat at its middle latitude: these boxes are city-sized). */
export function boxAreaKm2(box: BoundingBox): number {
  const lat = (box.south + box.north) / 2;
  return haversineKm(lat, box.west, lat, box.east) * haversineKm(box.south, box.west, box.north, box.west);
}

/** The average area of a cell of this resolution, km². */
export const cellAreaKm2 = (resolution: number) => getHexagonAreaAvg(resolution, UNITS.km2);
