// Issue 3, acceptance 5: every Lua script on its own, against a real redis-server.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../src/redis/local-servers.ts';
import { driverKey, regionKeys, rideKey } from '../src/redis/keys.ts';
import { defineScripts, type ScriptedRedis } from '../src/redis/scripts.ts';

let server: LocalRedis;
let redis: ScriptedRedis;
const R = '842a107ffffffff';
const keys = regionKeys(R);
const [GEO, SEEN, META] = keys;
// Bengaluru, and points ~0.3, ~1.5 and ~3.5 km east of it.
const at = { lng: 77.5946, lat: 12.9716 };
const east = (km: number) => at.lng + km / (111.32 * Math.cos((at.lat * Math.PI) / 180));

beforeAll(async () => {
  [server] = (await startLocalRedis(1)) as [LocalRedis];
  redis = defineScripts(new Redis(server.port));
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(() => redis.flushall());

const now = () => Date.now();
const nearest = (args: { want?: number; start?: number; max?: number; ttl?: number; car?: string; pay?: string; min?: number; exclude?: string[] } = {}) =>
  redis.nearest(...keys, at.lng, at.lat, args.start ?? 0.5, args.max ?? 5, args.want ?? 10, args.ttl ?? 30_000, args.car ?? '', args.pay ?? '', args.min ?? -1, ...(args.exclude ?? [])) as Promise<string[]>;
const ids = (flat: string[]) => flat.filter((_, i) => i % 5 === 0);

describe('location.lua', () => {
  it('writes position, last-heard time and metadata together', async () => {
    expect(await redis.location(...keys, 'd1', at.lng, at.lat, 'ECONOMY|ANY|4.5', 1000)).toBe(1);
    expect(await redis.geopos(GEO, 'd1')).toHaveLength(1);
    expect(Math.abs(Number(await redis.zscore(SEEN, 'd1')) - now())).toBeLessThan(2_000);
    expect(await redis.hget(META, 'd1')).toBe('ECONOMY|ANY|4.5|1000');
  });

  it('never moves a driver back to an older or equal report', async () => {
    await redis.location(...keys, 'd1', at.lng, at.lat, 'ECONOMY|ANY|4.5', 2000);
    expect(await redis.location(...keys, 'd1', east(3), at.lat, 'ECONOMY|ANY|4.5', 1999)).toBe(0);
    expect(await redis.location(...keys, 'd1', east(3), at.lat, 'ECONOMY|ANY|4.5', 2000)).toBe(0);
    const [[lng]] = (await redis.geopos(GEO, 'd1')) as [[string, string]];
    expect(Number(lng)).toBeCloseTo(at.lng, 4);
  });
});

describe('nearest.lua', () => {
  beforeEach(async () => {
    const put = (id: string, km: number, meta: string) => redis.location(...keys, id, east(km), at.lat, meta, 1);
    await put('near-cash', 0.3, 'ECONOMY|CASH|4.9');
    await put('mid-card', 1.5, 'ECONOMY|CARD|4.2');
    await put('far-any', 3.5, 'ECONOMY|ANY|4.7');
    await put('xl', 0.2, 'XL|ANY|5');
  });

  it('returns nearest first with distance, coordinates and last-heard time', async () => {
    const flat = await nearest();
    expect(ids(flat)).toEqual(['xl', 'near-cash', 'mid-card', 'far-any']);
    expect(Number(flat[1])).toBeCloseTo(0.2, 1);
    expect(Number(flat[2])).toBeCloseTo(east(0.2), 4);
    expect(Math.abs(Number(flat[4]) - now())).toBeLessThan(2_000);
  });

  it('widens from the first radius until enough drivers fit, and stops at the cap', async () => {
    expect(ids(await nearest({ car: 'ECONOMY', pay: 'CARD', want: 2, start: 0.5 }))).toEqual(['mid-card', 'far-any']);
    expect(ids(await nearest({ car: 'ECONOMY', pay: 'CARD', want: 2, start: 0.5, max: 2 }))).toEqual(['mid-card']);
  });

  it('filters car type, payment and rating', async () => {
    expect(ids(await nearest({ car: 'XL' }))).toEqual(['xl']);
    expect(ids(await nearest({ car: 'ECONOMY', pay: 'CASH' }))).toEqual(['near-cash', 'far-any']);
    expect(ids(await nearest({ car: 'ECONOMY', pay: 'CARD' }))).toEqual(['mid-card', 'far-any']);
    expect(ids(await nearest({ min: 4.6 }))).toEqual(['xl', 'near-cash', 'far-any']);
  });

  it('skips excluded drivers and drivers not heard from within the window', async () => {
    await redis.zadd(SEEN, now() - 60_000, 'near-cash');
    expect(ids(await nearest({ exclude: ['xl'] }))).toEqual(['mid-card', 'far-any']);
  });

  it('stops as soon as it has enough', async () => {
    expect(ids(await nearest({ want: 1 }))).toEqual(['xl']);
  });
});

describe('remove.lua and sweep.lua', () => {
  it('removes drivers from all three keys', async () => {
    await redis.location(...keys, 'd1', at.lng, at.lat, 'ECONOMY|ANY|4', 1);
    await redis.location(...keys, 'd2', at.lng, at.lat, 'ECONOMY|ANY|4', 1);
    expect(await redis.removeDrivers(...keys, 'd1', 'nobody')).toBe(1);
    expect(ids(await nearest())).toEqual(['d2']);
    expect(await redis.hexists(META, 'd1')).toBe(0);
  });

  it('sweeps stale drivers in bounded batches and leaves no keys behind', async () => {
    for (let i = 0; i < 5; i++) await redis.location(...keys, `old${i}`, at.lng, at.lat, 'ECONOMY|ANY|4', 1);
    await redis.location(...keys, 'fresh', at.lng, at.lat, 'ECONOMY|ANY|4', 1);
    for (let i = 0; i < 5; i++) await redis.zadd(SEEN, now() - 60_000, `old${i}`);
    expect(await redis.sweep(...keys, 30_000, 3)).toBe(3);
    expect(await redis.sweep(...keys, 30_000, 3)).toBe(2);
    expect(await redis.sweep(...keys, 30_000, 3)).toBe(0);
    expect(await redis.zcard(GEO)).toBe(1);
    await redis.zadd(SEEN, now() - 60_000, 'fresh');
    expect(await redis.sweep(...keys, 30_000, 3)).toBe(1);
    expect(await redis.exists(GEO, SEEN, META)).toBe(0);
  });
});

describe('driver_record.lua', () => {
  const K = driverKey('d1');
  const record = (recordedAt: number, region = R) => redis.driverRecord(K, recordedAt, region, 60_000, 'AVAILABLE', at.lat, at.lng) as Promise<string[]>;

  it('creates a record whose dispatch state is UNKNOWN until restored', async () => {
    expect(await record(1000)).toEqual(['ok', '', 'AVAILABLE', 'UNKNOWN']);
    expect(await redis.pttl(K)).toBeGreaterThan(50_000);
    expect(await redis.hget(K, 'lat')).toBe(String(at.lat));
  });

  it('returns the previous region and refuses an older report without writing', async () => {
    await record(1000, 'region-a');
    expect(await record(2000, 'region-b')).toEqual(['ok', 'region-a', 'AVAILABLE', 'UNKNOWN']);
    expect(await record(1500, 'region-c')).toEqual(['stale', 'region-b', 'AVAILABLE', 'UNKNOWN']);
    expect(await redis.hget(K, 'region')).toBe('region-b');
  });

  it('keeps duty and dispatch state across pings', async () => {
    await record(1000);
    await redis.hset(K, 'duty', 'OFFLINE', 'state', 'ON_RIDE');
    expect(await record(2000)).toEqual(['ok', R, 'OFFLINE', 'ON_RIDE']);
  });
});

describe('reserve.lua, release.lua, assign.lua, restore.lua', () => {
  const K = driverKey('d1');
  const reserve = (ride: string, until = now() + 10_000) => redis.reserve(K, ride, until);

  it('reserves a FREE driver for one ride only, idempotently', async () => {
    await redis.hset(K, 'state', 'FREE', 'duty', 'AVAILABLE');
    expect(await reserve('ride-1')).toBe(1);
    expect(await reserve('ride-1')).toBe(1);
    expect(await reserve('ride-2')).toBe(0);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['OFFERED', 'ride-1']);
  });

  it('refuses UNKNOWN, OFFLINE, ON_RIDE and missing drivers', async () => {
    expect(await reserve('r')).toBe(0);
    await redis.hset(K, 'state', 'UNKNOWN');
    expect(await reserve('r')).toBe(0);
    await redis.hset(K, 'state', 'FREE', 'duty', 'OFFLINE');
    expect(await reserve('r')).toBe(0);
    await redis.hset(K, 'state', 'ON_RIDE', 'duty', 'AVAILABLE');
    expect(await reserve('r')).toBe(0);
  });

  it('treats an expired reservation as free', async () => {
    await redis.hset(K, 'state', 'OFFERED', 'ride', 'old', 'until', now() - 1);
    expect(await reserve('new')).toBe(1);
  });

  it('releases only the ride the driver is held for', async () => {
    await redis.hset(K, 'state', 'FREE');
    await reserve('ride-1');
    expect(await redis.release(K, 'ride-2')).toBe(0);
    expect(await redis.release(K, 'ride-1')).toBe(1);
    expect(await redis.hget(K, 'state')).toBe('FREE');
  });

  it('assign creates a lost record as ON_RIDE with a TTL', async () => {
    expect(await redis.assign(K, 'ride-9', 60_000)).toBe(1);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['ON_RIDE', 'ride-9']);
    expect(await redis.pttl(K)).toBeGreaterThan(0);
    expect(await reserve('other')).toBe(0);
  });

  it('restore only fills an UNKNOWN state', async () => {
    await redis.hset(K, 'state', 'UNKNOWN');
    expect(await redis.restore(K, 'ON_RIDE', 'ride-3', '')).toBe(1);
    expect(await redis.restore(K, 'FREE', '', '')).toBe(0);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['ON_RIDE', 'ride-3']);
  });
});

describe('offer.lua, claim.lua, unclaim.lua', () => {
  const K = rideKey('ride-1');
  const open = (...offers: Array<[string, number]>) => redis.offer(K, 60_000, ...offers.flat());

  it('first claim wins; the others hear TAKEN; the winner asking again hears WON', async () => {
    expect(await open(['a', now() + 10_000], ['b', now() + 10_000])).toBe('OPEN');
    expect(await redis.claim(K, 'a')).toBe('WON');
    expect(await redis.claim(K, 'b')).toBe('TAKEN');
    expect(await redis.claim(K, 'a')).toBe('WON');
  });

  it('answers NOT_OFFERED, EXPIRED, CLOSED and MISSING', async () => {
    expect(await redis.claim(K, 'a')).toBe('MISSING');
    await open(['a', now() - 1], ['b', now() + 10_000]);
    expect(await redis.claim(K, 'stranger')).toBe('NOT_OFFERED');
    expect(await redis.claim(K, 'a')).toBe('EXPIRED');
    await redis.hset(K, 'status', 'CLOSED');
    expect(await redis.claim(K, 'b')).toBe('CLOSED');
  });

  it('unclaim is only for the winner and reopens the ride', async () => {
    await open(['a', now() + 10_000], ['b', now() + 10_000]);
    await redis.claim(K, 'a');
    expect(await redis.unclaim(K, 'b', 'OPEN')).toBe(0);
    expect(await redis.unclaim(K, 'a', 'OPEN')).toBe(1);
    expect(await redis.claim(K, 'b')).toBe('WON');
  });

  it('adds no offers to a ride that is no longer open', async () => {
    await open(['a', now() + 10_000]);
    await redis.claim(K, 'a');
    expect(await open(['late', now() + 10_000])).toBe('TAKEN');
    expect(await redis.hexists(K, 'o:late')).toBe(0);
  });
});

it('scripts survive SCRIPT FLUSH (EVALSHA falls back and reloads)', async () => {
  await redis.location(...keys, 'd1', at.lng, at.lat, 'ECONOMY|ANY|4', 1);
  await redis.script('FLUSH');
  expect(ids(await nearest())).toEqual(['d1']);
});
