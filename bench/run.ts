// npm run bench — one command, one run: starts the server (exactly `npm start`, with its local
// shards) against a fresh benchmark database, measures (a)–(g) side by side, profiles where the
// server's time goes, and writes bench/results/<date>.md, .json and .svg. Never asserts timings.
// BENCH_PHASES=ingest,match,… runs only those phases (trial runs; the report shows what ran).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import { boxAround, JWT_SECRET, METRICS_TOKEN, registerFleet } from './lib/fleet.ts';
import { MatchBench } from './match.ts';
import { benchMemory, summariseMemory, type MemoryServerResult } from './memory.ts';
import { benchStorm } from './storm.ts';
import { latencyChart } from './lib/svg-chart.ts';
import { renderReport, type BenchReport } from './report.ts';
import { benchSearch } from './search.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SETTINGS = {
  ingestSockets: env('BENCH_INGEST_SOCKETS', 200),
  ingestSeconds: env('BENCH_INGEST_SECONDS', 5),
  ingestRounds: env('BENCH_INGEST_ROUNDS', 5),
  densities: (process.env.BENCH_DENSITIES ?? '1000,10000,50000').split(',').map(Number),
  rideRate: env('BENCH_RIDE_RATE', 20),
  rideSeconds: env('BENCH_RIDE_SECONDS', 10),
  searches: env('BENCH_SEARCHES', 1_000),
  originalSearches: env('BENCH_ORIGINAL_SEARCHES', 20),
  contentionRides: env('BENCH_CONTENTION_RIDES', 100),
  contentionPerRide: 5,
  idleConnections: env('BENCH_IDLE_CONNECTIONS', 5_000),
  memoryServers: env('BENCH_MEMORY_SERVERS', 3),
  stormDrivers: env('BENCH_STORM_DRIVERS', 10_000),
  stormConcurrency: env('BENCH_STORM_CONCURRENCY', 1_000),
  driverTtlMs: 60_000,
};
const ALL_PHASES = ['ingest', 'match', 'search', 'costs', 'contention', 'storm', 'memory', 'profiles'] as const;
type Phase = (typeof ALL_PHASES)[number];
const PHASES = new Set<Phase>((process.env.BENCH_PHASES?.split(',') as Phase[] | undefined) ?? ALL_PHASES);
for (const p of PHASES) if (!ALL_PHASES.includes(p)) throw new Error(`BENCH_PHASES: unknown phase ${p} (${ALL_PHASES.join(', ')})`);
const needsMatch = PHASES.has('match') || PHASES.has('search') || PHASES.has('costs');
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_bench';
const CITY = boxAround(12.9716, 77.5946, 30); // 900 km²: 50k drivers ≈ 55 per km²
const started = Date.now();
const log = (line: string) => console.log(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${line}`);

/** Which code runs, read at the start: the commit, and whether the tree had changes on top of it. */
const CODE = `${version('git', ['rev-parse', '--short', 'HEAD'])}${version('git', ['status', '--porcelain', '--untracked-files=no']) === '' ? '' : ' + uncommitted changes'}`;

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
  // BENCH_KEEP_PROFILES=<dir>: keep the .cpuprofile (open it in Chrome DevTools) to look deeper.
  if (process.env.BENCH_KEEP_PROFILES) {
    mkdirSync(process.env.BENCH_KEEP_PROFILES, { recursive: true });
    copyFileSync(file, path.join(process.env.BENCH_KEEP_PROFILES, `${name}.cpuprofile`));
  }
  rmSync(dir, { recursive: true, force: true });
  return summary;
}

log(`settings ${JSON.stringify(SETTINGS)}; phases ${[...PHASES].join(',')}`);
const loadAverageAtStart = os.loadavg()[0]!;
await freshDatabase();
const { db } = createDb(DATABASE_URL);
const server = await startChildServer(serverEnv());
const shards = server.shards;
const router = routerFor(shards);
await router.start();
log(`server up on ${server.url} with shards ${shards.map((s) => s.url).join(' ')}`);

let ingest: BenchReport['ingest'];
if (PHASES.has('ingest')) {
  // The same server as two worker processes on one port (WORKERS=2), for (a) only.
  const twoWorkers = await startChildServer({ ...serverEnv(), WORKERS: '2' });
  const twoWorkersShards = twoWorkers.shards.map((s) => new Redis(s.url));
  log(`second server (WORKERS=2) up on ${twoWorkers.url}`);
  log('(a) ingest: one worker, two workers and raw, alternating');
  ingest = await benchIngest({
    db,
    oneWorker: { url: server.url, pid: server.child.pid!, shards: router.shards.map((s) => s.server) },
    twoWorkers: { url: twoWorkers.url, pid: twoWorkers.child.pid!, shards: twoWorkersShards },
    shards,
    sockets: SETTINGS.ingestSockets,
    seconds: SETTINGS.ingestSeconds,
    rounds: SETTINGS.ingestRounds,
  });
  log(`(a) ratios ${ingest.rounds.map((r) => r.ratio.toFixed(2)).join(' ')}; ours ${ingest.ours.updatesPerSecond.toFixed(0)}/s, two workers ${ingest.twoWorkers.updatesPerSecond.toFixed(0)}/s, raw ${ingest.raw.updatesPerSecond.toFixed(0)}/s`);
  for (const r of twoWorkersShards) r.disconnect();
  await twoWorkers.stop();
}

let levels: BenchReport['match'];
let search: BenchReport['search'];
let costs: BenchReport['costs'];
const maxFleet = Math.max(...SETTINGS.densities, SETTINGS.idleConnections + 20);
const match = new MatchBench({ db, url: server.url, router, box: CITY, driverTtlMs: SETTINGS.driverTtlMs, maxFleet });
if (needsMatch) {
  log('(b) matching latency, whole flow');
  await match.setUp();
  levels = [];
  for (const online of PHASES.has('match') ? SETTINGS.densities : [Math.max(...SETTINGS.densities)]) {
    const level = await match.run(online, SETTINGS.rideRate, SETTINGS.rideSeconds);
    levels.push(level);
    const c = level.conditions;
    log(`(b) ${online} online: first offer p50 ${level.firstOfferMs.p50} p99 ${level.firstOfferMs.p99} (${level.firstOfferMs.failures} failed); accept → ASSIGNED p50 ${level.acceptToAssignedMs.p50} p99 ${level.acceptToAssignedMs.p99}; request → ASSIGNED p99 ${level.assignedMs.p99}; estimate p99 ${level.estimateMs.p99}; server lag p99 ${c.server?.lagP99Ms.toFixed(1)} ms, gc ${c.server?.gcTotalMs.toFixed(0)} ms; generator lag p99 ${c.generator.lagP99Ms.toFixed(1)} ms; load ${c.loadAverage.end.toFixed(1)}`);
  }
  if (!PHASES.has('match')) levels = undefined;

  if (PHASES.has('search')) {
    log('(c) search cost against the original design');
    search = await benchSearch({
      db,
      router,
      box: CITY,
      driverTtlMs: SETTINGS.driverTtlMs,
      fleet: match.fleetDrivers(Math.max(...SETTINGS.densities)),
      positions: match.positions,
      searches: SETTINGS.searches,
      originalSearches: SETTINGS.originalSearches,
    });
  }

  if (PHASES.has('costs')) {
    log('(f) cost per operation on each tier');
    costs = await benchCosts({
      db,
      databaseUrl: DATABASE_URL,
      url: server.url,
      serverPid: server.child.pid!,
      shards: router.shards.map((s) => s.server),
      box: CITY,
      onlineDrivers: Math.max(...SETTINGS.densities),
    });
    const claim = costs.accept.redisByScript.claim;
    log(`(f) API CPU: requestRide ${costs.request.apiCpuUs.toFixed(0)} µs, accept ${costs.accept.apiCpuUs.toFixed(0)} µs, trip step ${costs.tripSteps.apiCpuUs.toFixed(0)} µs, complete ${costs.complete.apiCpuUs.toFixed(0)} µs; Redis per claim ${claim ? (claim.usec / claim.calls).toFixed(1) : '-'} µs`);
  }
  await match.tearDown();
}

let contention: BenchReport['contention'];
if (PHASES.has('contention')) {
  log('(d) contention');
  contention = await benchContention({ db, url: server.url, rides: SETTINGS.contentionRides, perRide: SETTINGS.contentionPerRide });
  log(`(d) claim p99 ${contention.claimMs.p99} ms, ${contention.failedAccepts} failed, ${contention.doubleAssignments} double`);
}

await router.stop();
await server.stop();

let storm: BenchReport['storm'];
if (PHASES.has('storm')) {
  // A fresh server: its shards hold only the storm's drivers, so the index count is theirs.
  log(`(g) reconnect storm: ${SETTINGS.stormDrivers} drivers, on a fresh server`);
  const stormServer = await startChildServer(serverEnv());
  const stormShards = stormServer.shards.map((s) => new Redis(s.url));
  storm = await benchStorm({ db, url: stormServer.url, shards: stormShards, bus: stormShards[0]!, box: CITY, drivers: SETTINGS.stormDrivers, concurrency: SETTINGS.stormConcurrency });
  for (const r of stormShards) r.disconnect();
  await stormServer.stop();
  log(`(g) all searchable at ${storm.allSearchableSeconds} s, ${storm.connectionsPerSecond.toFixed(0)} connections/s; generator CPU ${storm.conditions.generator.cpuPercent.toFixed(0)}%, server CPU ${storm.conditions.server?.cpuPercent.toFixed(0)}%`);
}

let memory: BenchReport['memory'];
if (PHASES.has('memory')) {
  // Fresh servers: after the other phases the allocator would reuse memory they freed, and the
  // RSS delta would flatter us. Several, because one reading spreads by several KiB.
  const memoryFleet = await registerFleet(db, 'fleet', SETTINGS.idleConnections + 20);
  const perServer: MemoryServerResult[] = [];
  for (let k = 0; k < SETTINGS.memoryServers; k++) {
    log(`(e) memory per idle connection, fresh server ${k + 1} of ${SETTINGS.memoryServers}`);
    const memoryServer = await startChildServer(serverEnv(), ['--expose-gc']);
    const bus = new Redis(memoryServer.shards[0]!.url); // npm start's default event bus is the first shard
    perServer.push(await benchMemory({ url: memoryServer.url, pid: memoryServer.child.pid!, bus, driverIds: memoryFleet.map((d) => d.id) }));
    bus.disconnect();
    await memoryServer.stop();
    log(`(e) ${perServer.at(-1)!.kibPerConnection.toFixed(1)} KiB per connection (RSS), ${perServer.at(-1)!.heapKibPerConnection.toFixed(1)} KiB of JS heap`);
  }
  memory = summariseMemory(perServer);
}

let profiles: BenchReport['profiles'];
if (PHASES.has('profiles')) {
  log('profiles: ingest and matching, each on its own profiled server');
  // The same drivers as (a), registered here too: a profile run alone must not profile refusals.
  const ingestFleet = await registerFleet(db, 'ingest', SETTINGS.ingestSockets);
  const ingestProfile = await profiled(
    'ingest',
    async (s) => s.url,
    (url) => loadOurs(url, ingestFleet, 1_000, SETTINGS.ingestSeconds),
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
  // Goal 7's storm: where the ~1.6 ms of server CPU per driver start goes.
  const stormProfile = await profiled(
    'storm',
    async (s) => s,
    async (s) => {
      const shards = s.shards.map((sh) => new Redis(sh.url));
      await benchStorm({ db, url: s.url, shards, bus: shards[0]!, box: CITY, drivers: SETTINGS.stormDrivers, concurrency: SETTINGS.stormConcurrency });
      for (const r of shards) r.disconnect();
    },
  );
  profiles = { ingest: ingestProfile, match: matchProfile, storm: stormProfile };
}
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
    commit: CODE,
    loadAverageStart: Number(loadAverageAtStart.toFixed(2)),
    loadAverageEnd: Number(os.loadavg()[0]!.toFixed(2)),
    note: `server, load generator, 3 redis-server shards and PostgreSQL share this machine with whatever else runs on it (1-minute load average ${loadAverageAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end; each phase's own is in its conditions)`,
  },
  settings: { ...SETTINGS, phases: [...PHASES] },
  ingest,
  match: levels,
  search,
  contention,
  memory,
  storm,
  costs,
  profiles,
};
// BENCH_RESULTS_DIR: somewhere else for a trial run with reduced settings (bench/results keeps full runs).
const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.resolve(import.meta.dirname, 'results');
mkdirSync(resultsDir, { recursive: true });
// To the second: runs a minute apart must not overwrite each other's reports.
const stamp = report.date.slice(0, 19).replaceAll(':', '');
const { markdown, table } = renderReport(report, `${stamp}.svg`);
const base = path.join(resultsDir, stamp);
writeFileSync(`${base}.md`, markdown);
if (report.match) writeFileSync(`${base}.svg`, latencyChart(report.match));
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\n${table}\n`);
log(`report written to ${base}.md, .json${report.match ? ' and .svg' : ''}`);
process.exit(0);
