// (a) Ingest: many driver sockets sending updateDriverLocation as fast as acks allow (one in
// flight per socket), against the raw baseline doing the same Redis work over plain ws + JSON.
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import type { Db } from '../src/db/client.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { Samples } from '../src/sim/stats.ts';
import { boxAround, clientFor, randomPoint, registerFleet } from './lib/fleet.ts';

export interface IngestResult {
  sockets: number;
  seconds: number;
  ours: { updatesPerSecond: number; ackP50Ms: number; ackP99Ms: number };
  raw: { updatesPerSecond: number; ackP50Ms: number; ackP99Ms: number };
  ratio: number;
}

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

export async function benchIngest(opts: {
  db: Db;
  url: string;
  shards: Array<{ name: string; url: string }>;
  sockets: number;
  seconds: number;
}): Promise<IngestResult> {
  const drivers = await registerFleet(opts.db, 'ingest', opts.sockets);
  const positions = drivers.map(() => randomPoint(BOX));

  const clients = await Promise.all(drivers.map((d) => clientFor(opts.url, 'driver', d.id)));
  const ours = await drive(opts.sockets, 2_000, opts.seconds * 1000, async (i, t) => {
    await clients[i]!.updateDriverLocation({ ...positions[i]!, recordedAt: new Date(t).toISOString() });
  });
  await Promise.all(clients.map((c) => c.close()));

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
  const rawResult = await drive(opts.sockets, 2_000, opts.seconds * 1000, (i, t) => {
    const ws = sockets[i]!;
    return new Promise<void>((resolve) => {
      ws.once('message', () => resolve());
      ws.send(JSON.stringify({ id: drivers[i]!.id, ...positions[i]!, t }));
    });
  });
  for (const ws of sockets) ws.close();
  raw.kill('SIGTERM');

  return { sockets: opts.sockets, seconds: opts.seconds, ours, raw: rawResult, ratio: ours.updatesPerSecond / rawResult.updatesPerSecond };
}
