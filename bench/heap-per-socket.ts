// By hand: where an idle driver socket's memory goes. Starts a fresh server, opens a few driver
// sockets with their offers feed (warm-up), takes a heap snapshot, opens N more, takes another,
// and prints the retained-by-kind difference per socket: self size grouped by constructor or
// closure name, largest first. `npx tsx bench/heap-per-socket.ts [N]` (needs Postgres at
// DATABASE_URL or the local default). Snapshots are written to os.tmpdir().
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb } from '../src/db/client.ts';
import { recreateDatabase } from '../src/db/admin.ts';
import { migrate } from '../src/db/migrate.ts';
import { startChildServer } from '../src/sim/server-process.ts';
import { clientFor, JWT_SECRET, METRICS_TOKEN, registerFleet } from './lib/fleet.ts';

const N = Number(process.argv[2] ?? 2_000);
const WARM = 20;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_heap';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size by "type:name" over every node of a .heapsnapshot. */
function sizesByKind(file: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt, width] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size'), fields.length];
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    let name = snap.strings[snap.nodes[i + nameAt]!]!;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    if (type === 'number') name = '(number)';
    const key = `${type}:${name.slice(0, 60)}`;
    const entry = out.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snap.nodes[i + sizeAt]!;
    entry.count += 1;
    out.set(key, entry);
  }
  return out;
}

async function snapshotOf(pid: number, dir: string, label: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR1');
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length > 0) {
      const file = path.join(dir, fresh[0]!);
      const size = statSync(file).size;
      await new Promise((r) => setTimeout(r, 2_000));
      if (size > 0 && statSync(file).size === size) {
        console.log(`${label}: ${file} (${(size / 2 ** 20).toFixed(1)} MiB)`);
        return file;
      }
    }
  }
}

await recreateDatabase(DATABASE_URL);
await migrate(DATABASE_URL);
const { db } = createDb(DATABASE_URL);
const fleet = await registerFleet(db, 'heap', WARM + N);
const dir = path.join(os.tmpdir(), `ridematch-heap-${process.pid}`);
const server = await startChildServer(
  { DATABASE_URL, JWT_SECRET, METRICS_TOKEN, NODE_ENV: 'development', LOG_LEVEL: 'warn', SWEEP_INTERVAL_MS: '600000', DRIVER_TTL_MS: '3600000', LOCATION_RATE_PER_S: '1000000', OPERATION_LIMIT: '1000000' },
  ['--heapsnapshot-signal=SIGUSR1', `--diagnostic-dir=${dir}`],
);
try {
  (await import('node:fs')).mkdirSync(dir, { recursive: true });
  const connect = async (ids: string[]) => {
    for (let i = 0; i < ids.length; i += 200) {
      const batch = await Promise.all(ids.slice(i, i + 200).map((id) => clientFor(server.url, 'driver', id)));
      // HEAP_FEEDS=k opens k offers feeds per socket (k=2 against k=1 gives one feed's own cost).
      for (const c of batch) for (let k = 0; k < Number(process.env.HEAP_FEEDS ?? 1); k++) c.driverOffers({ next: () => {} });
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 3_000));
  };
  await connect(fleet.slice(0, WARM).map((d) => d.id));
  const a = sizesByKind(await snapshotOf(server.child.pid!, dir, 'warm'));
  await connect(fleet.slice(WARM).map((d) => d.id));
  const b = sizesByKind(await snapshotOf(server.child.pid!, dir, `after ${N} more`));
  const rows = [...b].map(([kind, v]) => {
    const old = a.get(kind) ?? { bytes: 0, count: 0 };
    return { kind, bytesPerSocket: (v.bytes - old.bytes) / N, countPerSocket: (v.count - old.count) / N };
  });
  rows.sort((x, y) => y.bytesPerSocket - x.bytesPerSocket);
  const total = rows.reduce((s, r) => s + r.bytesPerSocket, 0);
  console.log(`JS heap per socket: ${(total / 1024).toFixed(2)} KiB`);
  if (process.env.HEAP_ROWS) (await import('node:fs')).writeFileSync(process.env.HEAP_ROWS, JSON.stringify(rows));
  for (const r of rows.slice(0, 45)) console.log(`${r.bytesPerSocket.toFixed(0).padStart(7)} B  ${r.countPerSocket.toFixed(2).padStart(6)} ×  ${r.kind}`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await server.stop();
  await db.$disconnect();
  // HEAP_KEEP=1 keeps the two snapshots (open them in Chrome DevTools' Memory tab, "Comparison").
  if (!process.env.HEAP_KEEP) rmSync(dir, { recursive: true, force: true });
  process.exit();
}
