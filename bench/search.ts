// (c) Server time per nearest-driver search (Redis INFO commandstats), ours against the original
// design on the same drivers: GEORADIUS at a 100-mile radius, then one HGET of JSON metadata per
// candidate, filtering afterwards in the application.
import { Redis } from 'ioredis';
import { startLocalRedis } from '../src/redis/local-servers.ts';
import type { ShardRouter } from '../src/redis/shard-router.ts';
import type { DriverProfile } from '../src/registry/registry.ts';
import type { BoundingBox } from '../src/sim/simulation.ts';
import { Samples } from '../src/sim/stats.ts';
import type { Db } from '../src/db/client.ts';
import { benchLocationIndex, randomPoint } from './lib/fleet.ts';

export interface SearchResult {
  drivers: number;
  ours: { searches: number; serverUsPerSearch: number; clientP50Ms: number };
  original: { searches: number; serverUsPerSearch: number; candidatesPerSearch: number };
  originalCount100: { searches: number; serverUsPerSearch: number; candidatesPerSearch: number };
  ratio: number;
  ratioCount100: number;
}

/** Sum of usec over the given commands in INFO commandstats. */
async function serverUsec(redis: Redis, commands: string[]): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const command of commands) {
    const m = new RegExp(`cmdstat_${command}:calls=\\d+,usec=(\\d+)`).exec(info);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** The match's first-round search: 0.5 km doubling to 1 km, 13 candidates, car type + payment. */
const OUR_QUERY = { startRadiusKm: 0.5, maxRadiusKm: 1, limit: 13, carType: 'ECONOMY', paymentMethod: 'CARD' };

export async function benchSearch(opts: {
  db: Db;
  router: ShardRouter;
  box: BoundingBox;
  driverTtlMs: number;
  fleet: DriverProfile[];
  positions: Map<string, { lat: number; lng: number }>;
  searches: number;
  originalSearches: number;
}): Promise<SearchResult> {
  const shards = opts.router.shards.map((s) => s.redis);
  const index = benchLocationIndex(opts.router, opts.db, opts.driverTtlMs);
  await Promise.all(shards.map((r) => r.config('RESETSTAT')));
  const wall = new Samples();
  for (let i = 0; i < opts.searches; i++) {
    const t0 = performance.now();
    await index.search({ ...randomPoint(opts.box), ...OUR_QUERY });
    wall.add(performance.now() - t0);
  }
  const ourUsec = (await Promise.all(shards.map((r) => serverUsec(r, ['evalsha', 'eval'])))).reduce((a, b) => a + b, 0);

  // The original design's layout, on its own Redis: one GEO set, one hash of JSON metadata.
  const [server] = await startLocalRedis(1);
  const redis = new Redis(server!.port);
  try {
    for (let i = 0; i < opts.fleet.length; i += 5_000) {
      const batch = opts.fleet.slice(i, i + 5_000);
      const pipe = redis.pipeline();
      for (const d of batch) {
        const p = opts.positions.get(d.id)!;
        pipe.geoadd('drivers', p.lng, p.lat, d.id);
        pipe.hset('driver_meta', d.id, JSON.stringify({ car_type: d.carType, payment: d.paymentPreference, rating: d.rating, available: true }));
      }
      await pipe.exec();
    }
    const original = async (count: number | null) => {
      await redis.config('RESETSTAT');
      let candidates = 0;
      for (let i = 0; i < opts.originalSearches; i++) {
        const p = randomPoint(opts.box);
        const args: Array<string | number> = ['drivers', p.lng, p.lat, 100, 'mi', 'WITHDIST', 'ASC'];
        if (count) args.push('COUNT', count);
        const hits = (await redis.call('GEORADIUS', ...args)) as Array<[string, string]>;
        candidates += hits.length;
        const pipe = redis.pipeline();
        for (const [id] of hits) pipe.hget('driver_meta', id);
        const metas = (await pipe.exec())!.map(([, v]) => JSON.parse(v as string));
        void metas.filter((m) => m.available && m.car_type === 'ECONOMY' && m.payment !== 'CASH').slice(0, OUR_QUERY.limit);
      }
      const usec = await serverUsec(redis, ['georadius', 'hget']);
      return { searches: opts.originalSearches, serverUsPerSearch: usec / opts.originalSearches, candidatesPerSearch: candidates / opts.originalSearches };
    };
    const uncapped = await original(null);
    const capped = await original(100);
    const ours = { searches: opts.searches, serverUsPerSearch: ourUsec / opts.searches, clientP50Ms: wall.percentile(50) };
    return {
      drivers: opts.fleet.length,
      ours,
      original: uncapped,
      originalCount100: capped,
      ratio: ours.serverUsPerSearch / uncapped.serverUsPerSearch,
      ratioCount100: ours.serverUsPerSearch / capped.serverUsPerSearch,
    };
  } finally {
    redis.disconnect();
    await server!.stop();
  }
}
