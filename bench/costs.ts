// (f) What one operation costs on each tier, for the capacity model (README "Scaling"): on the
// benchmark server with the large fleet online, RIDES riders each request a ride at the position
// of a probe driver of their own (connected, listening to its offers feed), then every probe
// accepts its ride. Each phase is timed alone and measured on every tier:
//   - API: the server process' CPU time (/proc), less its idle CPU over as long (the round poller);
//   - Redis: the shards' CPU (INFO cpu) less their idle CPU, and the time in scripts and in
//     PUBLISH (INFO commandstats; the first shard also carries the event bus in this set-up);
//   - Redis per script: each script's own server time (SLOWLOG at a 0 µs threshold, see
//     lib/script-times.ts), e.g. the claim of an accept apart from the rest of it;
//   - Postgres: CPU time of the backends serving this database (/proc of the pg_stat_activity
//     pids), less their idle CPU, and the transactions and rows per ride (pg_stat_database, read
//     after the statistics are flushed).
// Then the probes drive their rides to the end: arrive and start (one phase, two steps per ride)
// and complete, each measured the same way.
import type { Redis } from 'ioredis';
import pg from 'pg';
import type { Db } from '../src/db/client.ts';
import type { RidematchClient } from '../src/sdk/client.ts';
import type { BoundingBox } from '../src/sim/simulation.ts';
import { clientFor, randomPoint, registerFleet } from './lib/fleet.ts';
import { cpuMsBetween, cpuMsOf } from './lib/proc-cpu.ts';
import { redisBetween, sampleRedis } from './lib/redis-stats.ts';
import { timeScripts, type TimeByName } from './lib/script-times.ts';
import { SCRIPT_NAMES } from '../src/redis/scripts.ts';

export interface PhaseCost {
  operations: number;
  seconds: number;
  apiCpuUs: number;
  redisCpuUs: number;
  redisScriptUs: number;
  /** PUBLISH time: the event bus, which a deployment keeps on its own Redis. */
  busUs: number;
  redisByCommand: Record<string, { calls: number; usec: number }>;
  /** Redis server time by script name (and plain command), summed over the phase. */
  redisByScript: TimeByName;
  postgresCpuUs: number;
}

export interface CostResult {
  onlineDrivers: number;
  /** Accepts that won (a probe can be busy with a neighbour's offer and miss its own ride). */
  acceptsWon: number;
  request: PhaseCost;
  accept: PhaseCost;
  /** arrivedAtPickup and startTrip: two operations per ride. */
  tripSteps: PhaseCost;
  complete: PhaseCost;
  /** Per ride, from request to completion (pg_stat_database). */
  postgresPerRide: { transactions: number; inserted: number; updated: number; activeMs: number };
}

const RIDES = 200;
const CONCURRENCY = 10;
/** How long the idle cost is sampled before each phase. */
const IDLE_MS = 3_000;
/** PostgreSQL 15 backends publish their statistics at most every 1 s, and when idle after 10 s. */
const PG_STATS_FLUSH_MS = 11_000;

/** Runs `work` over the items, CONCURRENCY at a time. */
async function inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

export async function benchCosts(opts: {
  db: Db;
  databaseUrl: string;
  url: string;
  serverPid: number;
  shards: Redis[];
  box: BoundingBox;
  onlineDrivers: number;
}): Promise<CostResult> {
  const admin = new pg.Client({ connectionString: opts.databaseUrl });
  await admin.connect();
  const dbName = new URL(opts.databaseUrl).pathname.slice(1);
  const backends = async () =>
    (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName])).rows.map((r) => r.pid);
  const dbStats = async () =>
    (await admin.query<{ xact: string; ins: string; upd: string; active: number }>(
      'SELECT xact_commit + xact_rollback AS xact, tup_inserted AS ins, tup_updated AS upd, active_time AS active FROM pg_stat_database WHERE datname = $1',
      [dbName],
    )).rows[0]!;

  /** Measures one phase, less what the same processes burn idle over as long. */
  const phase = async (run: () => Promise<number>): Promise<PhaseCost> => {
    const sample = async () => ({ api: cpuMsOf([opts.serverPid]), pg: cpuMsOf(await backends()), redis: await sampleRedis(opts.shards) });
    const between = async (before: Awaited<ReturnType<typeof sample>>) => {
      const after = await sample();
      return { apiMs: cpuMsBetween(before.api, after.api), pgMs: cpuMsBetween(before.pg, after.pg), redis: redisBetween(before.redis, after.redis) };
    };
    // The idle cost (round poller, health checks) is measured just before, for as long as the
    // load then takes, and subtracted.
    const idleFrom = await sample();
    const idleStarted = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleMs = performance.now() - idleStarted;
    const idleRaw = await between(idleFrom);
    const before = await sample();
    const started = performance.now();
    const { result: operations, byName: redisByScript } = await timeScripts(opts.shards, SCRIPT_NAMES, run);
    const seconds = (performance.now() - started) / 1000;
    const load = await between(before);
    const scale = (seconds * 1000) / idleMs;
    const idle = { apiMs: idleRaw.apiMs * scale, pgMs: idleRaw.pgMs * scale, redis: { cpuUs: idleRaw.redis.cpuUs * scale } };
    return {
      operations,
      seconds,
      apiCpuUs: ((load.apiMs - idle.apiMs) * 1000) / operations,
      redisCpuUs: (load.redis.cpuUs - idle.redis.cpuUs) / operations,
      redisScriptUs: load.redis.scriptUs / operations,
      busUs: (load.redis.byCommand.publish?.usec ?? 0) / operations,
      redisByCommand: load.redis.byCommand,
      redisByScript,
      postgresCpuUs: ((load.pgMs - idle.pgMs) * 1000) / operations,
    };
  };

  const probes = await registerFleet(opts.db, 'cost', RIDES);
  const riderIds = probes.map((_, i) => `cost-rider-${i}`);
  await opts.db.rider.createMany({ data: riderIds.map((id) => ({ id, name: id })), skipDuplicates: true });
  const drivers: RidematchClient[] = await Promise.all(probes.map((p) => clientFor(opts.url, 'driver', p.id)));
  const riders: RidematchClient[] = await Promise.all(riderIds.map((id) => clientFor(opts.url, 'rider', id, 'http')));
  const stops: Array<() => void> = [];
  try {
    const positions = probes.map(() => randomPoint(opts.box));
    // Each probe listens to its feed, as a driver app does: delivering offers is part of the cost.
    for (const d of drivers) stops.push(d.driverOffers({ next: () => {} }));
    await Promise.all(drivers.map((d, i) => d.updateDriverLocation({ ...positions[i]!, recordedAt: new Date().toISOString() })));
    await new Promise((r) => setTimeout(r, 500)); // the offers feeds are subscribed

    const stats0 = await dbStats();
    const rideIds: string[] = [];
    const request = await phase(async () => {
      await inParallel([...riders.keys()], async (i) => {
        const ride = await riders[i]!.requestRide({ pickup: positions[i]!, dropoff: randomPoint(opts.box), carType: 'ECONOMY', paymentMethod: 'CARD' });
        rideIds[i] = ride.id;
      });
      return RIDES;
    });
    let accepted = 0;
    const wonBy: boolean[] = [];
    const accept = await phase(async () => {
      await inParallel([...drivers.keys()], async (i) => {
        const answer = await drivers[i]!.acceptRide(rideIds[i]!).catch(() => null);
        if (answer?.__typename === 'RideAssignment') {
          accepted += 1;
          wonBy[i] = true;
        }
      });
      return RIDES;
    });
    // The rides the probes won, driven to the end (a ride a probe did not win is not its own).
    const won = [...drivers.keys()].filter((i) => wonBy[i]);
    const tripSteps = await phase(async () => {
      await inParallel(won, async (i) => {
        await drivers[i]!.arrivedAtPickup(rideIds[i]!);
        await drivers[i]!.startTrip(rideIds[i]!);
      });
      return won.length * 2;
    });
    let completed = 0;
    const complete = await phase(async () => {
      await inParallel(won, async (i) => {
        const ride = await drivers[i]!.completeRide(rideIds[i]!).catch(() => null);
        if (ride?.status === 'COMPLETED') completed += 1;
      });
      return won.length;
    });
    await new Promise((r) => setTimeout(r, PG_STATS_FLUSH_MS));
    const stats1 = await dbStats();
    if (accepted < RIDES) console.warn(`(f) ${accepted}/${RIDES} accepts won (a probe was not among the ride's nearest drivers)`);
    if (completed < won.length) console.warn(`(f) ${completed}/${won.length} rides completed`);
    return {
      onlineDrivers: opts.onlineDrivers,
      acceptsWon: accepted,
      request,
      accept,
      tripSteps,
      complete,
      postgresPerRide: {
        transactions: (Number(stats1.xact) - Number(stats0.xact)) / RIDES,
        inserted: (Number(stats1.ins) - Number(stats0.ins)) / RIDES,
        updated: (Number(stats1.upd) - Number(stats0.upd)) / RIDES,
        activeMs: (stats1.active - stats0.active) / RIDES,
      },
    };
  } finally {
    for (const stop of stops) stop();
    await Promise.all([...drivers, ...riders].map((c) => c.close()));
    await admin.end();
  }
}
