// Issue 3, acceptance 5: every Lua script on its own, against a real redis-server.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalRedis, type LocalRedis } from '../src/redis/local-servers.ts';
import { driverKey, regionKeys, rideKey, SHARD_EPOCH_KEY } from '../src/redis/keys.ts';
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
  it('sweeps more stale drivers in one call than Lua can unpack at once (issue 10: sweep)', async () => {
    const members: Array<string | number> = [];
    for (let i = 0; i < 9_000; i++) members.push(now() - 60_000, `gone${i}`);
    await redis.zadd(SEEN, ...members);
    expect(await redis.sweep(...keys, 30_000, 100_000)).toBe(9_000);
    expect(await redis.exists(SEEN)).toBe(0);
  });

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

describe('ping.lua', () => {
  const K = driverKey('d1');
  // rate 1000/s and burst 1000: the bucket never gets in the way unless a test wants it to
  const ping = (recordedAt: number, region = R, rate = 1_000, burst = 1_000) =>
    redis.driverPing(K, recordedAt, region, 60_000, 'AVAILABLE', at.lat, at.lng, rate, burst, 15_000, 2_000) as Promise<Array<string | number>>;

  it('creates a record whose dispatch state is UNKNOWN until restored', async () => {
    expect(await ping(1000)).toEqual(['ok', '', 'AVAILABLE', 'UNKNOWN', '', 0]);
    expect(await redis.pttl(K)).toBeGreaterThan(50_000);
    expect(await redis.hget(K, 'lat')).toBe(String(at.lat));
  });

  it('returns the previous region and refuses an older report without writing it', async () => {
    await ping(1000, 'region-a');
    expect((await ping(2000, 'region-b')).slice(0, 4)).toEqual(['ok', 'region-a', 'AVAILABLE', 'UNKNOWN']);
    expect((await ping(1500, 'region-c')).slice(0, 4)).toEqual(['stale', 'region-b', 'AVAILABLE', 'UNKNOWN']);
    expect(await redis.hget(K, 'region')).toBe('region-b');
  });

  it('keeps duty and dispatch state across pings', async () => {
    await ping(1000);
    await redis.hset(K, 'duty', 'OFFLINE', 'state', 'ON_RIDE', 'ride', 'r1');
    expect((await ping(2000)).slice(0, 5)).toEqual(['ok', R, 'OFFLINE', 'ON_RIDE', 'r1']);
  });

  it('limits pings with a token bucket: over the burst nothing is written and it says when to retry', async () => {
    for (let i = 1; i <= 3; i++) expect((await ping(i * 1000, R, 0.5, 3))[0]).toBe('ok');
    const limited = await ping(4000, 'elsewhere', 0.5, 3);
    expect(limited[0]).toBe('limited');
    expect(Number(limited[5])).toBeGreaterThan(1_000); // about 2 s at 0.5 per second
    expect(Number(limited[5])).toBeLessThanOrEqual(2_000);
    expect(await redis.hget(K, 'region')).toBe(R);
    expect(await redis.hget(K, 'at')).toBe('3000');
  });

  it('asks for a check against Postgres once per interval for a held driver, after the hold settled', async () => {
    await ping(1000);
    const now = Number((await redis.time())[0]) * 1000;
    await redis.hset(K, 'state', 'ON_RIDE', 'ride', 'r1', 'since', now - 10_000);
    expect((await ping(2000))[5]).toBe(1);
    expect((await ping(3000))[5]).toBe(0); // checked a moment ago
    await redis.hset(K, 'since', now); // just assigned: may not be committed yet
    await redis.hdel(K, 'checked');
    expect((await ping(4000))[5]).toBe(0);
  });
});

describe('reserve.lua, release.lua, assign.lua, correct.lua', () => {
  const K = driverKey('d1');
  const reserve = (ride: string, forMs = 10_000) => redis.reserve(K, ride, forMs);

  it('reserves a FREE driver for one ride only, idempotently, until an expiry stamped by Redis', async () => {
    await redis.hset(K, 'state', 'FREE', 'duty', 'AVAILABLE');
    expect(await reserve('ride-1')).toBe(1);
    expect(await reserve('ride-1')).toBe(1);
    expect(await reserve('ride-2')).toBe(0);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['OFFERED', 'ride-1']);
    const now = Number((await redis.time())[0]) * 1000;
    expect(Math.abs(Number(await redis.hget(K, 'until')) - (now + 10_000))).toBeLessThan(2_000);
  });

  // Chaos run 2026-12-03T073828: a driver held two live offers after a shard froze. A reserve
  // whose reply timed out still ran on the thaw; the round that offered that ride next reserved the
  // driver again, and the old stamps stayed: the ping path judged the hold settled and freed it
  // before the new offer was committed (and its expiry was the old attempt's, not the offer's).
  it('a reservation taken again for the same ride is stamped anew: it holds as long as the new offer and is not judged settled yet', async () => {
    await redis.hset(K, 'state', 'FREE', 'duty', 'AVAILABLE');
    expect(await reserve('ride-1', 300)).toBe(1); // the earlier attempt's, about to run out
    await redis.hset(K, 'since', now() - 60_000); // and long settled
    expect(await reserve('ride-1', 10_000)).toBe(1); // the round that offers the ride now
    const stampedAt = Number((await redis.time())[0]) * 1000;
    expect(Number(await redis.hget(K, 'since'))).toBeGreaterThan(stampedAt - 2_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await reserve('ride-2')).toBe(0); // past the earlier attempt's expiry, still held for ride-1
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['OFFERED', 'ride-1']);
  });

  // The ping path's check reads Postgres after the ping saw the hold; if the hold is taken again
  // for the same ride meanwhile, state and ride still match, and only its stamp tells them apart.
  it('correct leaves a hold alone that was taken again for the same ride after the caller saw it', async () => {
    await redis.hset(K, 'state', 'FREE', 'duty', 'AVAILABLE');
    await reserve('ride-1');
    await redis.hset(K, 'since', now() - 60_000);
    const seenSince = (await redis.hget(K, 'since'))!; // what the ping saw
    await reserve('ride-1'); // the next round's reservation, its offer not committed yet
    expect(await redis.correct(K, 'OFFERED', 'ride-1', 'FREE', '', '', seenSince)).toBe(0);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['OFFERED', 'ride-1']);
    // Seen as it is now, the correction goes through.
    expect(await redis.correct(K, 'OFFERED', 'ride-1', 'FREE', '', '', (await redis.hget(K, 'since'))!)).toBe(1);
    expect(await redis.hget(K, 'state')).toBe('FREE');
  });

  it('refuses OFFLINE and ON_RIDE drivers, and says when it does not know the driver yet (missing, UNKNOWN)', async () => {
    expect(await reserve('r')).toBe(2);
    await redis.hset(K, 'state', 'UNKNOWN');
    expect(await reserve('r')).toBe(2);
    expect(await redis.hget(K, 'state')).toBe('UNKNOWN');
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

  it('assign creates a lost record as ON_RIDE with a TTL, and says whether it changed anything', async () => {
    expect(await redis.assign(K, 'ride-9', 60_000)).toBe(1);
    expect(await redis.assign(K, 'ride-9', 60_000)).toBe(0);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['ON_RIDE', 'ride-9']);
    expect(await redis.pttl(K)).toBeGreaterThan(0);
    expect(await reserve('other')).toBe(0);
  });

  it('correct only changes a record that still holds what the caller saw', async () => {
    await redis.hset(K, 'state', 'UNKNOWN');
    expect(await redis.correct(K, 'UNKNOWN', '', 'ON_RIDE', 'ride-3', '')).toBe(1);
    expect(await redis.correct(K, 'UNKNOWN', '', 'FREE', '', '')).toBe(0);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['ON_RIDE', 'ride-3']);
    expect(await redis.correct(K, 'ON_RIDE', 'ride-3', 'FREE', '', '')).toBe(1);
    expect(await redis.hmget(K, 'state', 'ride')).toEqual(['FREE', null]);
  });
});

describe('offer.lua, claim.lua, unclaim.lua', () => {
  const K = rideKey('ride-1');
  const open = (validForMs: number, ...drivers: string[]) => redis.offer(K, 60_000, validForMs, ...drivers);
  const claim = (driver: string, holdMs = 2_000) => redis.claim(K, driver, holdMs);

  it('first claim is pending: the others hear PENDING (not TAKEN) until it is committed', async () => {
    expect(await open(10_000, 'a', 'b')).toBe('OPEN');
    expect(await claim('a')).toBe('WON');
    expect(await claim('b')).toBe('PENDING');
    expect(await claim('a')).toBe('WON'); // the claimer asking again
    await redis.hset(K, 'status', 'TAKEN', 'winner', 'a'); // what markTaken writes after the commit
    expect(await claim('b')).toBe('TAKEN');
    expect(await claim('a')).toBe('WON');
  });

  it('a pending claim that Postgres refused is dropped, and another driver may claim', async () => {
    await open(10_000, 'a', 'b');
    await claim('a');
    expect(await redis.unclaim(K, 'b')).toBe(0);
    expect(await redis.unclaim(K, 'a')).toBe(1);
    expect(await claim('b')).toBe('WON');
  });

  it('a pending claim whose instance died stops blocking after its hold', async () => {
    await open(10_000, 'a', 'b');
    expect(await claim('a', 50)).toBe('WON');
    await new Promise((r) => setTimeout(r, 80));
    expect(await claim('b')).toBe('WON');
  });

  it('answers NOT_OFFERED, EXPIRED, CLOSED and MISSING', async () => {
    expect(await claim('a')).toBe('MISSING');
    await open(-1, 'a');
    await open(10_000, 'b');
    expect(await claim('stranger')).toBe('NOT_OFFERED');
    expect(await claim('a')).toBe('EXPIRED');
    await redis.hset(K, 'status', 'CLOSED');
    expect(await claim('b')).toBe('CLOSED');
  });

  it('adds offers while a claim is pending, but none to a ride that is taken', async () => {
    await open(10_000, 'a');
    await claim('a');
    expect(await open(10_000, 'round-2')).toBe('OPEN');
    expect(await redis.hexists(K, 'o:round-2')).toBe(1);
    await redis.hset(K, 'status', 'TAKEN', 'winner', 'a');
    expect(await open(10_000, 'late')).toBe('TAKEN');
    expect(await redis.hexists(K, 'o:late')).toBe(0);
  });
});

describe('shard_epoch.lua', () => {
  const epoch = (known: string, fresh: string, fence: boolean) => redis.shardEpoch(SHARD_EPOCH_KEY, known, fresh, fence ? '1' : '0') as Promise<[string, string]>;

  it('join (start-up): stamps a new shard, adopts an existing epoch, never empties', async () => {
    await redis.set('data', 'x');
    expect(await epoch('', 'e1', false)).toEqual(['e1', 'joined']);
    expect(await epoch('', 'e2', false)).toEqual(['e1', 'joined']);
    expect(await epoch('e0', 'e3', false)).toEqual(['e1', 'joined']);
    expect(await redis.get('data')).toBe('x');
  });

  it('rejoin: the first instance that saw the epoch go down empties the shard and stamps a new one', async () => {
    await epoch('', 'e1', false);
    await redis.set('stale', 'x');
    expect(await epoch('e1', 'e2', true)).toEqual(['e2', 'fenced']);
    expect(await redis.get('stale')).toBeNull();
    expect(await redis.get(SHARD_EPOCH_KEY)).toBe('e2');
    expect(await redis.dbsize()).toBe(1);
  });

  it('rejoin: a later instance (it knew the old epoch) adopts the new one and keeps what was written since', async () => {
    await epoch('', 'e1', false);
    await epoch('e1', 'e2', true);
    await redis.set('fresh', 'x');
    expect(await epoch('e1', 'e3', true)).toEqual(['e2', 'joined']);
    expect(await redis.get('fresh')).toBe('x');
  });

  it('rejoin after a restart (no epoch): empties what instances that never saw it down wrote, and stamps', async () => {
    await redis.set('written-unfenced', 'x');
    expect(await epoch('e1', 'e2', true)).toEqual(['e2', 'fenced']);
    expect(await redis.get('written-unfenced')).toBeNull();
  });

  it('rejoin by an instance that never read an epoch adopts the one there (it cannot tell what is stale)', async () => {
    await epoch('', 'e1', false);
    await redis.set('data', 'x');
    expect(await epoch('', 'e2', true)).toEqual(['e1', 'joined']);
    expect(await redis.get('data')).toBe('x');
  });
});

it('scripts survive SCRIPT FLUSH (EVALSHA falls back and reloads)', async () => {
  await redis.location(...keys, 'd1', at.lng, at.lat, 'ECONOMY|ANY|4', 1);
  await redis.script('FLUSH');
  expect(ids(await nearest())).toEqual(['d1']);
});
