// npm run bench:map — the live city map (src/admin/city-map.ts) with 50,000 drivers online in one
// metro. Starts the server (exactly `npm start`, with its local shards) against a fresh database
// (MAP_BENCH_DATABASE_URL), puts the fleet online straight into the shards as the matching bench
// does (bench/lib/fleet.ts: registerFleet + putOnline, the same LocationIndex code as
// updateDriverLocation), adds trips, searching rides and offers in Postgres, then:
// 1. times CityMap.snapshot (the very code the subscription runs, with the server's defaults) for
//    views that ask for REGION, CELL and DETAIL, --rounds times each after a warm-up;
// 2. watches each view through the server's `cityMap` subscription for --watch seconds (one
//    snapshot a second) and reads the server's event-loop delay (nodejs_eventloop_lag_*, reset by
//    each scrape) and CPU for that window, next to an idle window with nobody watching.
// Writes bench/results/city-map-<date>.md with every round. Never asserts timings.
// Flags: --drivers N (50000) --rounds N (25) --watch S (25).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cellToBoundary, cellToLatLng, latLngToCell } from 'h3-js';
import { createClient } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import { CityMap, type MapSnapshot } from '../src/admin/city-map.ts';
import { signToken } from '../src/auth.ts';
import { loadConfig, parseShardList } from '../src/config.ts';
import { recreateDatabase } from '../src/db/admin.ts';
import { createDb } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { REGION_RESOLUTION, type BoundingBox } from '../src/geo/cells.ts';
import { ShardRouter } from '../src/redis/shard-router.ts';
import { scrape, type Scrape } from '../src/sim/scrape.ts';
import { startChildServer } from '../src/sim/server-process.ts';
import { cpuMsOf } from './lib/proc-cpu.ts';
import { benchLocationIndex, boxAround, JWT_SECRET, METRICS_TOKEN, putOnline, registerFleet } from './lib/fleet.ts';

const { values } = parseArgs({ options: { drivers: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '25' }, watch: { type: 'string', default: '25' } } });
const DRIVERS = Number(values.drivers);
const ROUNDS = Number(values.rounds);
const WATCH_S = Number(values.watch);
const TRIPS = Math.round(DRIVERS * 0.04); // 4% on a trip
const SEARCHING = Math.round(DRIVERS * 0.006); // searching rides, each with one live offer
const DRIVER_TTL_MS = 3_600_000; // nobody pings during the bench: keep the fleet live throughout
const DATABASE_URL = process.env.MAP_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_map_bench';
const CENTRE = { lat: 12.9716, lng: 77.5946 };
const CITY = boxAround(CENTRE.lat, CENTRE.lng, 30); // 900 km², as bench/run.ts: 50k drivers ≈ 55 per km²
const started = Date.now();
const log = (line: string) => console.log(`[bench:map +${Math.round((Date.now() - started) / 1000)}s] ${line}`);

const serverEnv = {
  DATABASE_URL,
  JWT_SECRET,
  METRICS_TOKEN,
  LOG_LEVEL: 'warn',
  NODE_ENV: 'development',
  DRIVER_TTL_MS: String(DRIVER_TTL_MS),
  SWEEP_INTERVAL_MS: '600000',
};

log(`drivers ${DRIVERS}, trips ${TRIPS}, searching rides ${SEARCHING}, rounds ${ROUNDS}, watch ${WATCH_S} s`);
await recreateDatabase(DATABASE_URL);
await migrate(DATABASE_URL);
const { db } = createDb(DATABASE_URL);
const server = await startChildServer(serverEnv);
const router = new ShardRouter(parseShardList(server.shards.map((s) => `${s.name}=${s.url}`).join(' ')), {
  healthIntervalMs: 1_000,
  downAfterMisses: 3,
  upAfterSuccesses: 3,
  commandTimeoutMs: 5_000,
  readWindowMs: DRIVER_TTL_MS,
});
await router.start();
log(`server up on ${server.url}`);

// The fleet, online at random points of the city.
let t0 = performance.now();
const fleet = await registerFleet(db, 'map', DRIVERS);
const registerS = (performance.now() - t0) / 1000;
t0 = performance.now();
const positions = await putOnline(router, db, fleet, CITY, DRIVER_TTL_MS);
const indexS = (performance.now() - t0) / 1000;
log(`registered in ${registerS.toFixed(1)} s, indexed in ${indexS.toFixed(1)} s`);

// Trips (the first TRIPS drivers), searching rides each offered to one free driver (the next SEARCHING).
const near = (p: { lat: number; lng: number }, km: number) => ({ lat: p.lat + (Math.random() - 0.5) * (km / 110.574), lng: p.lng + (Math.random() - 0.5) * (km / 108) });
const riders = Array.from({ length: TRIPS + SEARCHING }, (_, i) => ({ id: `map-rider-${i}`, name: `Rider ${i}` }));
for (let i = 0; i < riders.length; i += 5_000) await db.rider.createMany({ data: riders.slice(i, i + 5_000) });
const statuses = ['ASSIGNED', 'DRIVER_ARRIVED', 'IN_PROGRESS'] as const;
const now = new Date();
const later = new Date(Date.now() + 3_600_000);
const trips = fleet.slice(0, TRIPS).map((d, i) => {
  const at = positions.get(d.id)!;
  const pickup = near(at, 1);
  const dropoff = near(at, 8);
  return { id: randomUUID(), riderId: riders[i]!.id, driverId: d.id, status: statuses[i % 3], pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: dropoff.lat, dropoffLng: dropoff.lng, carType: 'ECONOMY' as const, paymentMethod: 'CARD' as const, version: 1, round: 1, assignedAt: now, nextCheckAt: null };
});
for (let i = 0; i < trips.length; i += 2_000) await db.ride.createMany({ data: trips.slice(i, i + 2_000) });
const offered = fleet.slice(TRIPS, TRIPS + SEARCHING);
const searching = offered.map((d, i) => {
  const pickup = near(positions.get(d.id)!, 1.5);
  const dropoff = near(pickup, 8);
  return { id: randomUUID(), riderId: riders[TRIPS + i]!.id, status: 'SEARCHING' as const, pickupLat: pickup.lat, pickupLng: pickup.lng, dropoffLat: dropoff.lat, dropoffLng: dropoff.lng, carType: 'ECONOMY' as const, paymentMethod: 'CARD' as const, round: 1, roundEndsAt: later, nextCheckAt: later };
});
await db.ride.createMany({ data: searching });
await db.rideOffer.createMany({ data: searching.map((r, i) => ({ id: randomUUID(), rideId: r.id, driverId: offered[i]!.id, round: 1, pickupDistanceKm: 0.7, expiresAt: later })) });
await db.$executeRawUnsafe('VACUUM ANALYZE');
log(`${trips.length} trips, ${searching.length} searching rides with an offer each`);

// The views. The CELL and DETAIL ones are centred on the middle of the city centre's H3 region
// (res 5), so their box touches one region; the "on a corner" ones sit where three regions meet.
const config = loadConfig({ DATABASE_URL, JWT_SECRET, NODE_ENV: 'development', REDIS_SHARDS: server.shards.map((s) => `${s.name}=${s.url}`).join(' ') });
const policy = config.cityMap;
const region = latLngToCell(CENTRE.lat, CENTRE.lng, REGION_RESOLUTION);
const [rLat, rLng] = cellToLatLng(region);
const [cLat, cLng] = cellToBoundary(region)[0]!;
const square = (lat: number, lng: number, sideKm: number): BoundingBox => {
  const b = boxAround(lat, lng, sideKm);
  return { south: b.minLat, north: b.maxLat, west: b.minLng, east: b.maxLng };
};
const views = [
  { name: 'whole city (30 × 30 km)', asks: 'REGION', zoom: 10, box: square(CENTRE.lat, CENTRE.lng, 30) },
  { name: 'a district (6 × 6 km), inside one region', asks: 'CELL', zoom: 12, box: square(rLat, rLng, 6) },
  { name: 'a few streets (1 × 1 km), inside one region', asks: 'DETAIL', zoom: 15, box: square(rLat, rLng, 1) },
  { name: 'a district (6 × 6 km), on a region corner', asks: 'CELL', zoom: 12, box: square(cLat, cLng, 6) },
  { name: 'a few streets (1 × 1 km), on a region corner', asks: 'DETAIL', zoom: 15, box: square(cLat, cLng, 1) },
];

const items = (s: MapSnapshot) => s.cells.length + s.drivers.length + s.rides.length + s.offers.length + s.assignments.length;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const what = (s: MapSnapshot) =>
  s.level === 'DETAIL'
    ? `${s.drivers.length} drivers (${s.drivers.filter((d) => d.state === 'FREE').length} free, ${s.drivers.filter((d) => d.state === 'OFFERED').length} offered, ${s.drivers.filter((d) => d.state === 'ON_TRIP').length} on a trip), ${s.rides.length} rides, ${s.offers.length} offers, ${s.assignments.length} assignments`
    : `${s.cells.length} cells (res ${s.cells[0]?.resolution ?? '-'})`;

// 1. The snapshot computation, in this process, with the server's code and settings.
const index = benchLocationIndex(router, db, DRIVER_TTL_MS);
const map = new CityMap(db, index, policy, pino({ level: 'silent' }));
interface Timed { ms: number; level: string; items: number; liveDrivers: number; what: string }
const computed: Array<{ view: (typeof views)[number]; rounds: Timed[] }> = [];
for (const view of views) {
  await map.snapshot(view.box, view.zoom); // warm-up
  const rounds: Timed[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const s = await map.snapshot(view.box, view.zoom);
    rounds.push({ ms: performance.now() - start, level: s.level, items: items(s), liveDrivers: s.liveDrivers, what: what(s) });
  }
  computed.push({ view, rounds });
  const ms = rounds.map((r) => r.ms);
  log(`${view.name}: ${rounds[0]!.level}, ${rounds[0]!.items} items; p50 ${pct(ms, 50).toFixed(1)} ms, p95 ${pct(ms, 95).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`);
}

// 2. A subscriber watching each view through the server, and the server's event loop meanwhile.
const metricsUrl = server.url.replace(/\/graphql$/, '/metrics');
const lag = (s: Scrape) => ({
  p50: s.value('nodejs_eventloop_lag_p50_seconds') * 1000,
  p90: s.value('nodejs_eventloop_lag_p90_seconds') * 1000,
  p99: s.value('nodejs_eventloop_lag_p99_seconds') * 1000,
  max: s.value('nodejs_eventloop_lag_max_seconds') * 1000,
  mean: s.value('nodejs_eventloop_lag_mean_seconds') * 1000,
});
type Lag = ReturnType<typeof lag>;
const pid = server.child.pid!;
async function window(seconds: number, during: () => Promise<void> = () => new Promise((r) => setTimeout(r, seconds * 1000))) {
  await scrape(metricsUrl, METRICS_TOKEN); // resets the delay histogram
  const cpu0 = cpuMsOf([pid]).get(pid)!;
  const t = performance.now();
  await during();
  const wallMs = performance.now() - t;
  const cpuMs = cpuMsOf([pid]).get(pid)! - cpu0;
  return { lag: lag(await scrape(metricsUrl, METRICS_TOKEN)), cpuPct: (cpuMs / wallMs) * 100 };
}
const MAP_QUERY = `subscription($bbox: BoundingBoxInput!, $zoom: Int!) { cityMap(bbox: $bbox, zoom: $zoom) {
  at level narrowed liveDrivers cells { cell resolution drivers searchingRides } drivers { id lat lng state }
  rides { id lat lng round } offers { rideId driverId from { lat lng } to { lat lng } } assignments { rideId driverId status from { lat lng } to { lat lng } } } }`;
const token = await signToken(JWT_SECRET, { role: 'admin', id: 'bench-map' });
const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });

const idle = await window(WATCH_S);
log(`idle: event-loop delay p99 ${idle.lag.p99.toFixed(1)} ms, max ${idle.lag.max.toFixed(1)} ms`);
interface Seen { gapMs: number | null; level: string; items: number; bytes: number }
const watched: Array<{ view: (typeof views)[number]; seen: Seen[]; lag: Lag; cpuPct: number }> = [];
for (const view of views) {
  const seen: Seen[] = [];
  let last = 0;
  const result = await window(WATCH_S, async () => {
    const stop = client.subscribe<{ cityMap: any }>(
      { query: MAP_QUERY, variables: { bbox: view.box, zoom: view.zoom } },
      {
        next: (r) => {
          const t = performance.now();
          const s = r.data?.cityMap;
          if (!s) throw new Error(JSON.stringify(r.errors));
          seen.push({ gapMs: last ? t - last : null, level: s.level, items: s.cells.length + s.drivers.length + s.rides.length + s.offers.length + s.assignments.length, bytes: JSON.stringify(r).length });
          last = t;
        },
        error: (err) => console.error(err),
        complete: () => {},
      },
    );
    await new Promise((r) => setTimeout(r, WATCH_S * 1000));
    stop();
  });
  watched.push({ view, seen, ...result });
  log(`watching ${view.name}: ${seen.length} snapshots, event-loop delay p99 ${result.lag.p99.toFixed(1)} ms, max ${result.lag.max.toFixed(1)} ms, CPU ${result.cpuPct.toFixed(1)}%`);
}
await client.dispose();
await router.stop();
await server.stop();
await db.$disconnect();

// The report.
const f1 = (n: number) => n.toFixed(1);
const summary = computed.map(({ view, rounds }) => {
  const ms = rounds.map((r) => r.ms);
  const levels = [...new Set(rounds.map((r) => r.level))].join(', ');
  return `| ${view.name} | ${view.zoom} | ${view.asks} | ${levels} | ${rounds[0]!.liveDrivers.toLocaleString('en')} | ${rounds[0]!.items.toLocaleString('en')} | ${f1(pct(ms, 50))} | ${f1(pct(ms, 95))} | ${f1(Math.max(...ms))} |`;
});
const lagRow = (name: string, w: { lag: Lag; cpuPct: number }, extra: string) => `| ${name} | ${extra} | ${f1(w.lag.mean)} | ${f1(w.lag.p50)} | ${f1(w.lag.p99)} | ${f1(w.lag.max)} | ${f1(w.cpuPct)}% |`;
const watchRows = [
  lagRow('nobody watching (idle)', idle, '-'),
  ...watched.map((w) => {
    const gaps = w.seen.map((s) => s.gapMs).filter((g): g is number => g !== null);
    return lagRow(w.view.name, w, `${w.seen.length} (${w.seen[0]?.level ?? '-'}, gaps ${gaps.length ? `${f1(Math.min(...gaps))}-${f1(Math.max(...gaps))}` : '-'} ms)`);
  }),
];
const details = computed.map(({ view, rounds }, i) => {
  const w = watched[i]!;
  return `### ${view.name}: zoom ${view.zoom}, asks for ${view.asks}

Box: south ${view.box.south.toFixed(5)}, west ${view.box.west.toFixed(5)}, north ${view.box.north.toFixed(5)}, east ${view.box.east.toFixed(5)}. Served: ${rounds[0]!.what}.

| round | level | items | time (ms) |
| --- | --- | --- | --- |
${rounds.map((r, j) => `| ${j + 1} | ${r.level} | ${r.items} | ${f1(r.ms)} |`).join('\n')}

Watched through the subscription for ${WATCH_S} s:

| snapshot | level | items | bytes | since the previous (ms) |
| --- | --- | --- | --- | --- |
${w.seen.map((s, j) => `| ${j + 1} | ${s.level} | ${s.items} | ${s.bytes.toLocaleString('en')} | ${s.gapMs === null ? '-' : f1(s.gapMs)} |`).join('\n')}`;
});
const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '');
const file = path.resolve(import.meta.dirname, 'results', `city-map-${stamp}.md`);
writeFileSync(
  file,
  `# The live city map with ${DRIVERS.toLocaleString('en')} drivers online

\`npm run bench:map\` (bench/city-map.ts), ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores shared with other work
(figures drift between runs). The server is \`npm start\` with its three local shards,
\`DRIVER_TTL_MS=${DRIVER_TTL_MS}\` (nobody pings during the bench) and the map's defaults: interval ${policy.intervalMs} ms, at most
${policy.maxItems.toLocaleString('en')} items, ${policy.maxPositions.toLocaleString('en')} positions, ${policy.maxRegions} regions; CELL from zoom ${policy.cellZoom}, DETAIL from zoom ${policy.detailZoom}.

City: ${DRIVERS.toLocaleString('en')} drivers at random points of a 30 × 30 km box around (${CENTRE.lat}, ${CENTRE.lng}) (≈${Math.round(DRIVERS / 900)} per km²),
registered in ${f1(registerS)} s and put online in ${f1(indexS)} s (bench/lib/fleet.ts \`putOnline\`: the LocationIndex code of
\`updateDriverLocation\`, without sockets); ${trips.length.toLocaleString('en')} of them on a trip (ASSIGNED, DRIVER_ARRIVED, IN_PROGRESS), ${searching.length} searching
rides each with a live offer to a free driver. The CELL and DETAIL views are centred on the middle of the city centre's
H3 region (res 5, ${region}); the "on a region corner" ones on a vertex of it, where three regions meet.

## Snapshot computation

\`CityMap.snapshot\` (the code the subscription runs, in the bench process against the same shards and database),
${ROUNDS} rounds per view after a warm-up, one after the other. Items = cells + drivers + rides + offers + assignments;
live drivers = those in the regions the box touches (the figure that decides whether positions are read at all).

| view | zoom | asks for | served | live drivers | items | p50 (ms) | p95 (ms) | max (ms) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${summary.join('\n')}

## A subscriber watching, and the server's event loop

One graphql-ws subscription per view for ${WATCH_S} s (a snapshot a second), then the next. Event-loop delay is the
server's own \`nodejs_eventloop_lag_*\` (prom-client, \`monitorEventLoopDelay\` at 10 ms resolution, reset by the scrape that
opens the window; at that resolution an idle loop already reads about 10 ms, so compare with the idle row); CPU is the
server process's (/proc) over the window's wall time.

| window | snapshots received | delay mean (ms) | p50 (ms) | p99 (ms) | max (ms) | server CPU |
| --- | --- | --- | --- | --- | --- | --- |
${watchRows.join('\n')}

## Every round

${details.join('\n\n')}
`,
);
log(`report: ${path.relative(process.cwd(), file)}`);
process.exit(0);
