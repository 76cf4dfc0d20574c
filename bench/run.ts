// npm run bench — one command, one run: starts the server (exactly `npm start`, with its local
// shards) against a fresh benchmark database, measures (a)–(e) side by side, profiles where the
// server's time goes, and writes bench/results/<date>.md and .json. Never asserts timings.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parseShardList } from '../src/config.ts';
import { recreateDatabase } from '../src/db/admin.ts';
import { createDb } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { ShardRouter } from '../src/redis/shard-router.ts';
import { startChildServer, type ChildServer } from '../src/sim/server-process.ts';
import { benchContention } from './contention.ts';
import { benchCosts } from './costs.ts';
import { benchIngest, loadOurs } from './ingest.ts';
import { monotonicMicros, summariseProfile } from './lib/cpu-profile.ts';
import { boxAround, JWT_SECRET, METRICS_TOKEN } from './lib/fleet.ts';
import { MatchBench } from './match.ts';
import { benchMemory } from './memory.ts';
import { renderReport, type BenchReport } from './report.ts';
import { benchSearch } from './search.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SETTINGS = {
  ingestSockets: env('BENCH_INGEST_SOCKETS', 200),
  ingestSeconds: env('BENCH_INGEST_SECONDS', 5),
  ingestRounds: env('BENCH_INGEST_ROUNDS', 3),
  densities: [env('BENCH_FLEET_SMALL', 10_000), env('BENCH_FLEET_LARGE', 50_000)],
  rideRate: env('BENCH_RIDE_RATE', 20),
  rideSeconds: env('BENCH_RIDE_SECONDS', 10),
  searches: env('BENCH_SEARCHES', 1_000),
  originalSearches: env('BENCH_ORIGINAL_SEARCHES', 20),
  contentionRides: env('BENCH_CONTENTION_RIDES', 100),
  contentionPerRide: 5,
  idleConnections: env('BENCH_IDLE_CONNECTIONS', 5_000),
  driverTtlMs: 60_000,
};
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_bench';
const CITY = boxAround(12.9716, 77.5946, 30); // 900 km²: 50k drivers ≈ 55 per km²
const started = Date.now();
const log = (line: string) => console.log(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${line}`);

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0]!;
  } catch {
    return 'unknown';
  }
}

async function freshDatabase(): Promise<void> {
  await recreateDatabase(DATABASE_URL);
  await migrate(DATABASE_URL);
}

/**
 * A server for measuring: quiet sweeper (its scripts would blur INFO commandstats), long TTL, and
 * the per-identity limits out of the way: the load sends far more per driver and per rider than
 * any client may (the limits' own cost is measured by bench:abuse and counted in every update).
 */
function serverEnv(): Record<string, string> {
  return {
    DATABASE_URL,
    JWT_SECRET,
    METRICS_TOKEN,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    DRIVER_TTL_MS: String(SETTINGS.driverTtlMs),
    SWEEP_INTERVAL_MS: '600000',
    LOCATION_RATE_PER_S: '1000000',
    LOCATION_BURST: '1000',
    RIDE_REQUEST_LIMIT: '10000',
    OPERATION_LIMIT: '1000000',
    // Offers stay acceptable until (f) accepts them, however long its request phase takes here.
    MATCH_ROUND_TIMEOUT_MS: '120000',
  };
}

function routerFor(shards: Array<{ name: string; url: string }>): ShardRouter {
  return new ShardRouter(parseShardList(shards.map((s) => `${s.name}=${s.url}`).join(' ')), {
    healthIntervalMs: 1_000,
    downAfterMisses: 3,
    upAfterSuccesses: 3,
    commandTimeoutMs: 5_000,
    readWindowMs: SETTINGS.driverTtlMs,
  });
}

/**
 * Runs `load` against a fresh server started with --cpu-prof and summarises the profile of the
 * load alone (not start-up, not `prepare`).
 */
async function profiled<T>(name: string, prepare: (server: ChildServer) => Promise<T>, load: (prepared: T) => Promise<unknown>) {
  const dir = path.join(os.tmpdir(), `ridematch-prof-${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const server = await startChildServer(serverEnv(), ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const window = { from: 0, to: 0 };
  try {
    const prepared = await prepare(server);
    window.from = monotonicMicros();
    await load(prepared);
    window.to = monotonicMicros();
  } finally {
    await server.stop();
  }
  // The main thread writes the largest profile (tsx's loader thread writes a small one too).
  const file = readdirSync(dir).map((f) => path.join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
  const summary = summariseProfile(file, window, 12);
  rmSync(dir, { recursive: true, force: true });
  return summary;
}

log(`settings ${JSON.stringify(SETTINGS)}`);
await freshDatabase();
const { db } = createDb(DATABASE_URL);
const server = await startChildServer(serverEnv());
const shards = server.shards;
const router = routerFor(shards);
await router.start();
log(`server up on ${server.url} with shards ${shards.map((s) => s.url).join(' ')}`);

// The same server as two worker processes on one port (WORKERS=2), for (a) only.
const twoWorkers = await startChildServer({ ...serverEnv(), WORKERS: '2' });
const twoWorkersShards = twoWorkers.shards.map((s) => new Redis(s.url));
log(`second server (WORKERS=2) up on ${twoWorkers.url}`);

log('(a) ingest: one worker, two workers and raw, alternating');
const ingest = await benchIngest({
  db,
  oneWorker: { url: server.url, pid: server.child.pid!, shards: router.shards.map((s) => s.server) },
  twoWorkers: { url: twoWorkers.url, pid: twoWorkers.child.pid!, shards: twoWorkersShards },
  shards,
  sockets: SETTINGS.ingestSockets,
  seconds: SETTINGS.ingestSeconds,
  rounds: SETTINGS.ingestRounds,
});
log(`(a) ours ${ingest.ours.updatesPerSecond.toFixed(0)}/s, two workers ${ingest.twoWorkers.updatesPerSecond.toFixed(0)}/s, raw ${ingest.raw.updatesPerSecond.toFixed(0)}/s`);
for (const r of twoWorkersShards) r.disconnect();
await twoWorkers.stop();

log('(b) matching latency');
const match = new MatchBench({ db, url: server.url, router, box: CITY, driverTtlMs: SETTINGS.driverTtlMs, maxFleet: Math.max(...SETTINGS.densities) });
await match.setUp();
const levels = [];
for (const online of SETTINGS.densities) {
  levels.push(await match.run(online, SETTINGS.rideRate, SETTINGS.rideSeconds));
  const level = levels.at(-1)!;
  log(`(b) ${online} online: first offer p50 ${level.firstOfferMs.p50.toFixed(1)} ms; pool waits ${level.poolWait.waits} (max ${level.poolWait.maxMs.toFixed(1)} ms)`);
}

log('(c) search cost against the original design');
const search = await benchSearch({
  db,
  router,
  box: CITY,
  driverTtlMs: SETTINGS.driverTtlMs,
  fleet: match.fleetDrivers(Math.max(...SETTINGS.densities)),
  positions: match.positions,
  searches: SETTINGS.searches,
  originalSearches: SETTINGS.originalSearches,
});

log('(f) cost per operation on each tier');
const costs = await benchCosts({
  db,
  databaseUrl: DATABASE_URL,
  url: server.url,
  serverPid: server.child.pid!,
  shards: router.shards.map((s) => s.server),
  box: CITY,
  onlineDrivers: Math.max(...SETTINGS.densities),
});
log(`(f) requestRide: API ${costs.request.apiCpuUs.toFixed(0)} µs CPU, accept: API ${costs.accept.apiCpuUs.toFixed(0)} µs CPU`);
await match.tearDown();

log('(d) contention');
const contention = await benchContention({ db, url: server.url, rides: SETTINGS.contentionRides, perRide: SETTINGS.contentionPerRide });

await router.stop();
await server.stop();

// A fresh server: after the other phases the allocator would reuse memory they freed, and the RSS
// delta would flatter us.
log('(e) memory per idle connection, on a fresh server');
const memoryServer = await startChildServer(serverEnv(), ['--expose-gc']);
const bus = new Redis(memoryServer.shards[0]!.url); // npm start's default event bus is the first shard
const memory = await benchMemory({
  url: memoryServer.url,
  pid: memoryServer.child.pid!,
  bus,
  driverIds: match.fleetDrivers(SETTINGS.idleConnections).map((d) => d.id),
});
bus.disconnect();
await memoryServer.stop();

log('profiles: ingest and matching, each on its own profiled server');
const ingestProfile = await profiled(
  'ingest',
  async (s) => s.url,
  (url) => loadOurs(url, Array.from({ length: SETTINGS.ingestSockets }, (_, i) => ({ id: `ingest-${i}` })), 1_000, SETTINGS.ingestSeconds),
);
const matchProfile = await profiled(
  'match',
  async (s) => {
    const profRouter = routerFor(s.shards);
    await profRouter.start();
    const bench = new MatchBench({ db, url: s.url, router: profRouter, box: CITY, driverTtlMs: SETTINGS.driverTtlMs, maxFleet: SETTINGS.densities[0]! });
    await bench.setUp();
    return { bench, profRouter };
  },
  async ({ bench, profRouter }) => {
    await bench.run(SETTINGS.densities[0]!, SETTINGS.rideRate, SETTINGS.rideSeconds / 2);
    await bench.tearDown();
    await profRouter.stop();
  },
);
await db.$disconnect();

const report: BenchReport = {
  date: new Date().toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine: {
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.cpus().length}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    redis: version('redis-server', ['--version']),
    postgres: version('psql', ['--version']),
    shards: shards.length,
    note: `server, load generator, 3 redis-server shards and PostgreSQL share this machine (load average ${os.loadavg()[0]!.toFixed(1)} at the end: other sessions ran too)`,
  },
  settings: SETTINGS,
  ingest,
  match: levels,
  search,
  contention,
  memory,
  costs,
  profiles: { ingest: ingestProfile, match: matchProfile },
};
const { markdown, table } = renderReport(report);
// BENCH_RESULTS_DIR: somewhere else for a trial run with reduced settings (bench/results keeps full runs).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.resolve(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = report.date.slice(0, 16).replace(':', '');
const base = path.join(resultsDir, stamp);
writeFileSync(`${base}.md`, markdown);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${table}\n`);
log(`report written to ${base}.md and .json`);
process.exit(0);
