// (a) Ingest: many driver sockets sending updateDriverLocation as fast as acks allow (one in
// flight per socket), against the raw baseline doing the same Redis work over plain ws + JSON.
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import type { Db } from '../src/db/client.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { Samples } from '../src/sim/stats.ts';
import { boxAround, clientFor, randomPoint, registerFleet } from './lib/fleet.ts';

export interface Throughput {
  updatesPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
}

export interface IngestResult {
  sockets: number;
  secondsPerRound: number;
  /** Rounds alternate ours / raw, so both see the same machine; medians are reported. */
  rounds: Array<{ ours: Throughput; raw: Throughput }>;
  ours: Throughput;
  raw: Throughput;
  ratio: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianOf = (list: Throughput[]): Throughput => ({
  updatesPerSecond: median(list.map((t) => t.updatesPerSecond)),
  ackP50Ms: median(list.map((t) => t.ackP50Ms)),
  ackP99Ms: median(list.map((t) => t.ackP99Ms)),
});

const BOX = boxAround(12.9716, 77.5946, 20);

/** Runs `send` in a loop on every socket for warmup + measure seconds; counts what lands in the window. */
async function drive(sockets: number, warmupMs: number, measureMs: number, send: (i: number, t: number) => Promise<void>) {
  const latency = new Samples();
  let done = 0;
  const start = Date.now();
  const from = start + warmupMs;
  const until = from + measureMs;
  await Promise.all(
    Array.from({ length: sockets }, async (_, i) => {
      let t = Date.now();
      while (Date.now() < until) {
        t = Math.max(Date.now(), t + 1); // strictly increasing recordedAt per driver
        const sent = performance.now();
        await send(i, t);
        const now = Date.now();
        if (now >= from && now < until) {
          done += 1;
          latency.add(performance.now() - sent);
        }
      }
    }),
  );
  return { updatesPerSecond: done / (measureMs / 1000), ackP50Ms: latency.percentile(50), ackP99Ms: latency.percentile(99) };
}

/** Keeps `sockets` drivers sending updates on our API, one in flight each, for `seconds`. */
export async function loadOurs(url: string, drivers: Array<{ id: string }>, warmupMs: number, seconds: number) {
  const positions = drivers.map(() => randomPoint(BOX));
  const clients = await Promise.all(drivers.map((d) => clientFor(url, 'driver', d.id)));
  try {
    return await drive(drivers.length, warmupMs, seconds * 1000, async (i, t) => {
      await clients[i]!.updateDriverLocation({ ...positions[i]!, recordedAt: new Date(t).toISOString() });
    });
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

export async function benchIngest(opts: {
  db: Db;
  url: string;
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
      return new Promise<void>((resolve) => {
        ws.once('message', () => resolve());
        ws.send(JSON.stringify({ id: drivers[i]!.id, ...positions[i]!, t }));
      });
    });

  const rounds: IngestResult['rounds'] = [];
  try {
    for (let r = 0; r < opts.rounds; r++) {
      const ours = await loadOurs(opts.url, drivers, 2_000, opts.seconds);
      rounds.push({ ours, raw: await loadRaw() });
    }
  } finally {
    for (const ws of sockets) ws.close();
    raw.kill('SIGTERM');
  }
  const ours = medianOf(rounds.map((r) => r.ours));
  const rawMedian = medianOf(rounds.map((r) => r.raw));
  return { sockets: opts.sockets, secondsPerRound: opts.seconds, rounds, ours, raw: rawMedian, ratio: ours.updatesPerSecond / rawMedian.updatesPerSecond };
}
