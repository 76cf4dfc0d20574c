// npm run simulate -- [--drivers 1000] [--ride-rate 20] [--riders 200] [--duration 60]
//                     [--bbox minLat,minLng,maxLat,maxLng] [--report-interval 10] [--accept 0.7]
//                     [--answer-delay 1000,4000] [--trip 20000,60000] [--url http://host:4000/graphql]
// Without --url it starts its own server (exactly `npm start`, local shards included) and stops
// it at the end. Prints a live progress line and a summary.
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { startChildServer, type ChildServer } from '../src/sim/server-process.ts';
import { Simulation, type BoundingBox } from '../src/sim/simulation.ts';

const { values } = parseArgs({
  options: {
    drivers: { type: 'string', default: '1000' },
    riders: { type: 'string', default: '200' },
    'ride-rate': { type: 'string', default: '20' },
    duration: { type: 'string', default: '60' },
    bbox: { type: 'string', default: '12.90,77.55,13.00,77.65' }, // central Bengaluru, ~11 × 11 km
    'report-interval': { type: 'string', default: '10' },
    accept: { type: 'string', default: '0.7' },
    'answer-delay': { type: 'string', default: '1000,4000' },
    trip: { type: 'string', default: '20000,60000' },
    url: { type: 'string' },
  },
});

const numbers = (s: string) => s.split(',').map(Number);
const [minLat, minLng, maxLat, maxLng] = numbers(values.bbox!);
const bbox: BoundingBox = { minLat: minLat!, minLng: minLng!, maxLat: maxLat!, maxLng: maxLng! };
if (Object.values(bbox).some((v) => !Number.isFinite(v)) || bbox.minLat >= bbox.maxLat || bbox.minLng >= bbox.maxLng) {
  console.error('--bbox must be minLat,minLng,maxLat,maxLng');
  process.exit(2);
}

let server: ChildServer | null = null;
let url = values.url;
if (!url) {
  console.log('starting a server (npm start) for the simulation...');
  server = await startChildServer({ DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch' });
  url = server.url;
}

const sim = new Simulation({
  url,
  jwtSecret: loadConfig().jwt.secret,
  drivers: Number(values.drivers),
  riders: Number(values.riders),
  rideRatePerSecond: Number(values['ride-rate']),
  bbox,
  reportIntervalMs: Number(values['report-interval']) * 1000,
  acceptProbability: Number(values.accept),
  answerDelayMs: numbers(values['answer-delay']!) as [number, number],
  tripMs: numbers(values.trip!) as [number, number],
  idPrefix: `sim${Date.now().toString(36)}-`,
});

await sim.register((line) => console.log(line));
await sim.start();
const tty = process.stdout.isTTY;
const startedAt = Date.now();
const progress = setInterval(() => {
  const line = `[${Math.round((Date.now() - startedAt) / 1000)}s] ${sim.progressLine()}`;
  if (tty) process.stdout.write(`\r${line.padEnd(150)}`);
  else console.log(line);
}, 1_000);

let finishing = false;
async function finish(): Promise<void> {
  if (finishing) return;
  finishing = true;
  clearInterval(progress);
  if (tty) process.stdout.write('\n');
  const s = sim.stats;
  const t = s.timeToMatch.summary();
  console.log(
    `summary: ${s.updates} location updates (${s.failedUpdates} failed), ${s.requested} rides requested, ${s.assigned} assigned, ` +
      `${s.noDriver} without a driver; time to match p50 ${(t.p50 / 1000).toFixed(1)} s, p99 ${(t.p99 / 1000).toFixed(1)} s`,
  );
  await sim.stop();
  await server?.stop();
  process.exit(0);
}
setTimeout(() => void finish(), Number(values.duration) * 1000);
process.on('SIGINT', () => void finish());
