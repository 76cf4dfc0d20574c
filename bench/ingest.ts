// (a) Ingest: many driver sockets sending updateDriverLocation as fast as acks allow (one in
// flight per socket), on one API process and on two (WORKERS=2, same port), against the raw
// baseline doing the same Redis work over plain ws + JSON. Rounds alternate (1 worker, 2 workers,
// raw) so all three see the same machine. Also measured, in the measured window of each of our
// rounds: the server's CPU per update (/proc) and Redis time per update (INFO commandstats).
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import type { Redis } from 'ioredis';
import type { Db } from '../src/db/client.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { Latency } from './lib/latency.ts';
import { boxAround, clientFor, randomPoint, registerFleet } from './lib/fleet.ts';
import { cpuMsBetween, cpuMsOf, withChildren } from './lib/proc-cpu.ts';
import { redisBetween, sampleRedis, type RedisSample } from './lib/redis-stats.ts';

export interface Throughput {
  /** Acknowledged updates (failures not counted) per second of the measured window. */
  updatesPerSecond: number;
  /** Ack latency; a failed update ranks +infinity (shown as "failed"). */
  ackP50Ms: number;
  ackP99Ms: number;
  /** Updates that failed (an error answer or a broken socket) in the measured window. */
  failures: number;
}

/** Our rounds also say what an update cost the API processes and Redis (CPU of the shards, and time in scripts). */
export interface Ingest extends Throughput {
  apiCpuUsPerUpdate: number;
  redisCpuUsPerUpdate: number;
  redisScriptUsPerUpdate: number;
}

export interface IngestResult {
  sockets: number;
  secondsPerRound: number;
  /** Rounds alternate one worker / two workers / raw, so all see the same machine; medians are reported. */
  rounds: Array<{ ours: Ingest; twoWorkers: Ingest; raw: Throughput; ratio: number }>;
  ours: Ingest;
  twoWorkers: Ingest;
  raw: Throughput;
  /** The median of the rounds' own ratios (ours / raw of the same round), and the smallest. */
  ratio: number;
  ratioMin: number;
}

/** The middle value (odd counts; the upper middle of an even count). */
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianOf = <T extends Throughput>(list: T[]): T =>
  Object.fromEntries(Object.keys(list[0]!).map((k) => [k, median(list.map((t) => t[k as keyof T] as number))])) as unknown as T;

const BOX = boxAround(12.9716, 77.5946, 20);
const IDLE_SAMPLE_MS = 1_500;

/** Called when the measured window opens and closes (to sample CPU and Redis counters around it). */
export interface Window {
  open(): void;
  close(): void;
}

/** Runs `send` in a loop on every socket for warmup + measure seconds; counts what lands in the window. */
async function drive(sockets: number, warmupMs: number, measureMs: number, send: (i: number, t: number) => Promise<void>, window?: Window) {
  const latency = new Latency();
  let done = 0;
  let failures = 0;
  const start = Date.now();
  const from = start + warmupMs;
  const until = from + measureMs;
  const opened = setTimeout(() => window?.open(), warmupMs);
  const closed = setTimeout(() => window?.close(), warmupMs + measureMs);
  await Promise.all(
    Array.from({ length: sockets }, async (_, i) => {
      let t = Date.now();
      while (Date.now() < until) {
        t = Math.max(Date.now(), t + 1); // strictly increasing recordedAt per driver
        const sent = performance.now();
        const ok = await send(i, t).then(() => true, () => false);
        const now = Date.now();
        if (now >= from && now < until) {
          if (ok) {
            done += 1;
            latency.add(performance.now() - sent);
          } else {
            failures += 1;
            latency.fail();
          }
        }
        // A broken socket fails at once: do not spin on it.
        if (!ok) await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
  clearTimeout(opened);
  clearTimeout(closed);
  return { updatesPerSecond: done / (measureMs / 1000), ackP50Ms: latency.percentile(50), ackP99Ms: latency.percentile(99), failures };
}

/** Keeps `sockets` drivers sending updates on our API, one in flight each, for `seconds`. */
export async function loadOurs(url: string, drivers: Array<{ id: string }>, warmupMs: number, seconds: number, window?: Window) {
  const positions = drivers.map(() => randomPoint(BOX));
  const clients = await Promise.all(drivers.map((d) => clientFor(url, 'driver', d.id)));
  try {
    return await drive(drivers.length, warmupMs, seconds * 1000, async (i, t) => {
      await clients[i]!.updateDriverLocation({ ...positions[i]!, recordedAt: new Date(t).toISOString() });
    }, window);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** An API server under test: where it listens, its process (a primary's workers count too), its shards. */
export interface Target {
  url: string;
  pid: number;
  shards: Redis[];
}

/** One of our rounds, with the API's CPU (every process of the server) and Redis time over the measured window. */
async function ourRound(target: Target, drivers: Array<{ id: string }>, seconds: number): Promise<Ingest> {
  // What the server burns with no load (round poller, health checks) is not the updates' cost:
  // measured for a moment first, and subtracted.
  const idleFrom = cpuMsOf(withChildren(target.pid));
  await new Promise((r) => setTimeout(r, IDLE_SAMPLE_MS));
  const idleMsPerS = (cpuMsBetween(idleFrom, cpuMsOf(withChildren(target.pid))) * 1000) / IDLE_SAMPLE_MS;
  let cpuBefore = new Map<number, number>();
  let cpuMs = 0;
  let redisBefore: Promise<RedisSample> | null = null;
  let redis: Promise<ReturnType<typeof redisBetween>> | null = null;
  const window: Window = {
    open: () => {
      redisBefore = sampleRedis(target.shards);
      cpuBefore = cpuMsOf(withChildren(target.pid));
    },
    close: () => {
      cpuMs = cpuMsBetween(cpuBefore, cpuMsOf(withChildren(target.pid)));
      redis = Promise.all([redisBefore!, sampleRedis(target.shards)]).then(([a, b]) => redisBetween(a, b));
    },
  };
  const t = await loadOurs(target.url, drivers, 2_000, seconds, window);
  const updates = t.updatesPerSecond * seconds;
  const r = await redis!;
  return { ...t, apiCpuUsPerUpdate: ((cpuMs - idleMsPerS * seconds) * 1000) / updates, redisCpuUsPerUpdate: r.cpuUs / updates, redisScriptUsPerUpdate: r.scriptUs / updates };
}

export async function benchIngest(opts: {
  db: Db;
  oneWorker: Target;
  twoWorkers: Target;
  /** The raw baseline's shards (the one-worker server's). */
  shards: Array<{ name: string; url: string }>;
  sockets: number;
  seconds: number;
  rounds: number;
}): Promise<IngestResult> {
  const drivers = await registerFleet(opts.db, 'ingest', opts.sockets);
  const positions = drivers.map(() => randomPoint(BOX));

  const port = await freePort();
  const raw = spawn(process.execPath, ['--import', 'tsx', 'bench/raw-ingest-server.ts'], {
    env: { ...process.env, RAW_PORT: String(port), RAW_SHARDS: opts.shards.map((s) => `${s.name}=${s.url}`).join(' ') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => raw.stdout!.once('data', () => resolve()));
  const sockets = await Promise.all(
    drivers.map(
      () =>
        new Promise<WebSocket>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
        }),
    ),
  );
  const loadRaw = () =>
    drive(opts.sockets, 2_000, opts.seconds * 1000, (i, t) => {
      const ws = sockets[i]!;
      return new Promise<void>((resolve, reject) => {
        if (ws.readyState !== WebSocket.OPEN) return reject(new Error('socket closed'));
        ws.once('message', () => resolve());
        ws.send(JSON.stringify({ id: drivers[i]!.id, ...positions[i]!, t }));
      });
    });

  const rounds: IngestResult['rounds'] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      const ours = await ourRound(opts.oneWorker, drivers, opts.seconds);
      const twoWorkers = await ourRound(opts.twoWorkers, drivers, opts.seconds);
      const raw = await loadRaw();
      rounds.push({ ours, twoWorkers, raw, ratio: ours.updatesPerSecond / raw.updatesPerSecond });
    }
  } finally {
    for (const ws of sockets) ws.close();
    raw.kill('SIGTERM');
  }
  const ours = medianOf(rounds.map((r) => r.ours));
  const rawMedian = medianOf(rounds.map((r) => r.raw));
  return {
    sockets: opts.sockets,
    secondsPerRound: opts.seconds,
    rounds,
    ours,
    twoWorkers: medianOf(rounds.map((r) => r.twoWorkers)),
    raw: rawMedian,
    ratio: median(rounds.map((r) => r.ratio)),
    ratioMin: Math.min(...rounds.map((r) => r.ratio)),
  };
}
