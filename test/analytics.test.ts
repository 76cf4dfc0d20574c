// Issue 14, acceptance 2: matching analytics. Known histories are inserted with exact timestamps,
// and every figure (percentiles included) is checked against what it must be by definition.
import { randomUUID } from 'node:crypto';
import { cellToLatLng, latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { regionOf } from '../src/geo/cells.ts';
import { offset } from './helpers/fixtures.ts';
import { http } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
let admin: string;
beforeAll(async () => {
  stack = await startStack();
  admin = await stack.token('admin', 'ops-1');
});
afterAll(() => stack?.stop());

const QUERY = /* GraphQL */ `
  query ($window: AnalyticsWindow!) {
    matchingAnalytics(window: $window) {
      ridesRequested
      timeToFirstOffer { count p50Ms p90Ms p99Ms }
      timeToAssignment { count p50Ms p90Ms p99Ms }
      offersMade offersAccepted acceptanceRate
      ridesWithoutDriver cancelledByRider cancelledByOperator
      cells(first: 10) { cell demand supply }
    }
  }`;
const gql = (window: Record<string, unknown>, token = admin) => http(stack.httpUrl, QUERY, { window }, token);

const DAY_START = Date.parse('2030-01-01T00:00:00Z');
const WINDOW = { from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z' };

/** A centre well inside one region, and four pickup cells around it (three in that region, one far away). */
const region1 = regionOf(12.9716, 77.5946);
const [cLat, cLng] = cellToLatLng(region1);
const spots = {
  A: { lat: cLat, lng: cLng },
  B: offset(cLat, cLng, 2.5),
  C: offset(cLat, cLng, 0, -2.5),
  D: { lat: 35.6895, lng: 139.6917 }, // Tokyo: another region
};
const cellOf = (k: keyof typeof spots) => latLngToCell(spots[k].lat, spots[k].lng, 7);

interface RideSpec {
  spot: keyof typeof spots;
  /** ms after DAY_START. */
  at: number;
  status: string;
  scheduled?: boolean;
  /** [type, ms after `at`] */
  history: Array<[string, number]>;
  /** [driver suffix, offer status] */
  offers: Array<[string, string]>;
}

const tag = uniqueId('an');
const S = 1000;
const RIDES: RideSpec[] = [
  { spot: 'A', at: 0, status: 'COMPLETED', history: [['REQUESTED', 0], ['ROUND_STARTED', 0], ['ASSIGNED', 4 * S], ['COMPLETED', 600 * S]], offers: [['1', 'ACCEPTED'], ['2', 'DECLINED']] },
  { spot: 'A', at: 60 * S, status: 'COMPLETED', history: [['REQUESTED', 0], ['ROUND_STARTED', 1 * S], ['OFFER_EXPIRED', 16 * S], ['ROUND_STARTED', 16 * S], ['ASSIGNED', 20 * S]], offers: [['1', 'ACCEPTED'], ['3', 'EXPIRED'], ['4', 'EXPIRED']] },
  { spot: 'A', at: 120 * S, status: 'NO_DRIVERS_AVAILABLE', history: [['REQUESTED', 0], ['ROUND_STARTED', 2 * S], ['NO_DRIVERS_AVAILABLE', 47 * S]], offers: [['2', 'EXPIRED'], ['5', 'EXPIRED']] },
  { spot: 'B', at: 180 * S, status: 'CANCELLED', history: [['REQUESTED', 0], ['ROUND_STARTED', 500], ['CANCELLED', 3 * S]], offers: [['6', 'REVOKED']] },
  { spot: 'B', at: 240 * S, status: 'CANCELLED', history: [['REQUESTED', 0], ['ROUND_STARTED', 3 * S], ['ASSIGNED', 8 * S], ['ASSIGNMENT_CANCELLED', 60 * S]], offers: [['6', 'ACCEPTED']] },
  // Booked ahead: its clock starts at DISPATCH_STARTED, five hours after the request.
  { spot: 'C', at: 3_600 * S, status: 'CANCELLED', scheduled: true, history: [['REQUESTED', 0], ['DISPATCH_STARTED', 18_000 * S], ['ROUND_STARTED', 18_001.5 * S], ['ASSIGNED', 18_006 * S], ['FORCE_CANCELLED', 18_100 * S]], offers: [['7', 'ACCEPTED']] },
  { spot: 'D', at: 300 * S, status: 'COMPLETED', history: [['REQUESTED', 0], ['ROUND_STARTED', 10 * S], ['ASSIGNED', 30 * S]], offers: [['1', 'ACCEPTED'], ['2', 'DECLINED'], ['3', 'DECLINED'], ['8', 'EXPIRED']] },
  // The day before: in no figure.
  { spot: 'A', at: -60 * S, status: 'COMPLETED', history: [['REQUESTED', 0], ['ROUND_STARTED', 99 * S], ['ASSIGNED', 99 * S]], offers: [['1', 'ACCEPTED']] },
];

async function insertRides(): Promise<void> {
  const db = stack.services.db;
  await db.rider.create({ data: { id: `${tag}-r`, name: 'Analytics rider' } });
  for (let i = 1; i <= 8; i++) {
    await db.driver.create({ data: { id: `${tag}-d${i}`, name: `Driver ${i}`, carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.8, vehicle: 'Car' } });
  }
  for (const r of RIDES) {
    const id = randomUUID();
    const p = spots[r.spot];
    const requestedAt = new Date(DAY_START + r.at);
    await db.ride.create({
      data: {
        id, riderId: `${tag}-r`, pickupLat: p.lat, pickupLng: p.lng, dropoffLat: p.lat + 0.01, dropoffLng: p.lng, carType: 'ECONOMY', paymentMethod: 'CARD',
        status: r.status as 'COMPLETED', requestedAt, pickupCell: cellOf(r.spot), pickupRegion: regionOf(p.lat, p.lng),
        scheduledAt: r.scheduled ? new Date(DAY_START + r.at + 18_600 * S) : null,
      },
    });
    await db.rideHistory.createMany({ data: r.history.map(([type, after]) => ({ rideId: id, type, at: new Date(DAY_START + r.at + after) })) });
    await db.rideOffer.createMany({
      data: r.offers.map(([driver, status]) => ({
        id: randomUUID(), rideId: id, driverId: `${tag}-d${driver}`, round: 1, status: status as 'OFFERED', pickupDistanceKm: 1,
        sentAt: requestedAt, expiresAt: new Date(requestedAt.getTime() + 15 * S),
      })),
    });
  }
}

beforeAll(insertRides);

/** percentile_cont: linear interpolation between the two nearest of the sorted values. */
function percentile(sorted: number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
}

function expectPercentiles(got: any, values: number[]): void {
  const sorted = [...values].sort((a, b) => a - b);
  expect(got.count).toBe(values.length);
  expect(got.p50Ms).toBeCloseTo(percentile(sorted, 0.5), 6);
  expect(got.p90Ms).toBeCloseTo(percentile(sorted, 0.9), 6);
  expect(got.p99Ms).toBeCloseTo(percentile(sorted, 0.99), 6);
}

describe('matchingAnalytics', () => {
  it('computes every figure of a window from the history', async () => {
    const res: any = await gql(WINDOW);
    expect(res.errors).toBeUndefined();
    const a = res.data.matchingAnalytics;
    expect(a.ridesRequested).toBe(7);
    expectPercentiles(a.timeToFirstOffer, [0, 1000, 2000, 500, 3000, 1500, 10000]);
    // The same by hand, so the definition is pinned, not only the formula: 7 rides, p90 sits 40% of
    // the way from the 6th (3,000) to the 7th (10,000).
    expect(a.timeToFirstOffer.p50Ms).toBe(1500);
    expect(a.timeToFirstOffer.p90Ms).toBeCloseTo(5800, 6);
    expectPercentiles(a.timeToAssignment, [4000, 20000, 8000, 6000, 30000]);
    expect(a.timeToAssignment.p50Ms).toBe(8000);
    expect(a.timeToAssignment.p90Ms).toBeCloseTo(26000, 6);
    expect(a.offersMade).toBe(14);
    expect(a.offersAccepted).toBe(5);
    expect(a.acceptanceRate).toBeCloseTo(5 / 14, 12);
    expect(a.ridesWithoutDriver).toBe(1);
    expect(a.cancelledByRider).toBe(2);
    expect(a.cancelledByOperator).toBe(1);
    const [first, second, ...rest] = a.cells;
    expect(first).toEqual({ cell: cellOf('A'), demand: 3, supply: 5 });
    expect(second).toEqual({ cell: cellOf('B'), demand: 2, supply: 1 });
    expect(rest).toEqual(
      [{ cell: cellOf('C'), demand: 1, supply: 1 }, { cell: cellOf('D'), demand: 1, supply: 4 }].sort((x, y) => (x.cell < y.cell ? -1 : 1)),
    );
  });

  it('narrows to one region', async () => {
    const res: any = await gql({ ...WINDOW, region: region1 });
    const a = res.data.matchingAnalytics;
    expect(a.ridesRequested).toBe(6);
    expectPercentiles(a.timeToFirstOffer, [0, 1000, 2000, 500, 3000, 1500]);
    expect(a.timeToFirstOffer.p50Ms).toBe(1250);
    expectPercentiles(a.timeToAssignment, [4000, 20000, 8000, 6000]);
    expect(a.timeToAssignment.p50Ms).toBe(7000);
    expect([a.offersMade, a.offersAccepted]).toEqual([10, 4]);
    expect(a.cells.map((c: any) => c.cell).sort()).toEqual([cellOf('A'), cellOf('B'), cellOf('C')].sort());
  });

  it('counts a ride by when it was requested: a window of one minute holds one ride', async () => {
    const res: any = await gql({ from: '2030-01-01T00:01:00Z', to: '2030-01-01T00:02:00Z' });
    const a = res.data.matchingAnalytics;
    expect(a.ridesRequested).toBe(1);
    expect(a.timeToFirstOffer).toEqual({ count: 1, p50Ms: 1000, p90Ms: 1000, p99Ms: 1000 });
    expect(a.timeToAssignment).toEqual({ count: 1, p50Ms: 20000, p90Ms: 20000, p99Ms: 20000 });
  });

  it('answers an empty window with zeros and no percentiles', async () => {
    const res: any = await gql({ from: '2031-01-01T00:00:00Z', to: '2031-01-02T00:00:00Z' });
    const a = res.data.matchingAnalytics;
    expect(a).toMatchObject({ ridesRequested: 0, offersMade: 0, acceptanceRate: null, ridesWithoutDriver: 0, cells: [] });
    expect(a.timeToFirstOffer).toEqual({ count: 0, p50Ms: null, p90Ms: null, p99Ms: null });
  });

  it('is for admins, over a bounded window, in a real region', async () => {
    const rider = await stack.token('rider', `${tag}-r`);
    expect((await gql(WINDOW, rider)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql({ from: '2030-01-01T00:00:00Z', to: '2030-03-01T00:00:00Z' })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    expect((await gql({ from: WINDOW.to, to: WINDOW.from })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    expect((await gql({ ...WINDOW, region: cellOf('A') })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'region' });
  });
});
