// (g) Reconnect storm: N drivers connect at once (at most `concurrency` handshakes in flight),
// each opening its offers feed and sending its first location, as after an instance restart.
// "Searchable" is read from the index itself: a fresh server whose shards hold only these
// drivers, polled (ZCARD of every region's GEO set) every POLL_MS until all N are in. The load
// generator speaks graphql-ws on plain `ws` sockets (the SDK's documents, persisted hashes): no
// client library's per-socket machinery, so that its CPU stays far below the server's; its CPU
// and event-loop delay during the storm are in the report, to tell whether it was the bottleneck.
import WebSocket from 'ws';
import type { Redis } from 'ioredis';
import { signToken } from '../src/auth.ts';
import type { Db } from '../src/db/client.ts';
import { topics } from '../src/pubsub.ts';
import { DriverOffersDocument, UpdateDriverLocationDocument } from '../src/sdk/generated/graphql.ts';
import { PersistedDocuments } from '../src/sdk/persisted.ts';
import type { BoundingBox } from '../src/sim/simulation.ts';
import { JWT_SECRET, randomPoint, registerFleet } from './lib/fleet.ts';
import { Latency, type LatencySummary } from './lib/latency.ts';
import { watchPhase, type PhaseConditions } from './lib/phase-monitor.ts';

export interface StormResult {
  drivers: number;
  concurrency: number;
  /** Per driver, from opening its socket: connection_ack; its location's answer (searchable: true). */
  connectMs: LatencySummary;
  firstLocationMs: LatencySummary;
  failures: { connect: number; location: number; notSearchable: number };
  /** connection_acks per second, from the storm's start to the last ack. */
  connectionsPerSecond: number;
  /** Seconds from the storm's start: the last location answer; the poll that first saw all N in the index (null: never within the deadline). */
  lastAnswerSeconds: number;
  allSearchableSeconds: number | null;
  indexedAtEnd: number;
  feedsAtEnd: number;
  pollMs: number;
  conditions: PhaseConditions;
}

const POLL_MS = 250;
/** The poll gives up this long after the last driver's answer (or at HARD_STOP_MS). */
const AFTER_LAST_MS = 5_000;
const HARD_STOP_MS = 300_000;
const persisted = new PersistedDocuments(true);

async function indexed(shards: Redis[]): Promise<number> {
  let total = 0;
  for (const shard of shards) {
    let cursor = '0';
    do {
      const [next, keys] = await shard.scan(cursor, 'MATCH', 'geo:*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) total += await shard.zcard(key);
    } while (cursor !== '0');
  }
  return total;
}

/** One driver app's start: connect, init, ack, offers feed, first location. */
function oneDriver(wsUrl: string, token: string, position: { lat: number; lng: number }, t0: number) {
  return new Promise<{ ws: WebSocket; ackMs: number | null; locationMs: number | null; searchable: boolean }>((resolve) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
    let ackMs: number | null = null;
    let searchable = false;
    const finish = (locationMs: number | null) => {
      clearTimeout(timer);
      resolve({ ws, ackMs, locationMs, searchable });
    };
    const timer = setTimeout(() => finish(null), 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('error', () => finish(null));
    ws.on('close', () => finish(null));
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { type: string; id?: string; payload?: { data?: { updateDriverLocation?: { searchable: boolean } } } };
      if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      else if (msg.type === 'connection_ack') {
        ackMs = performance.now() - t0;
        ws.send(JSON.stringify({ id: 'offers', type: 'subscribe', payload: persisted.prepare(DriverOffersDocument, {}).payload }));
        const input = { ...position, recordedAt: new Date().toISOString() };
        ws.send(JSON.stringify({ id: 'loc', type: 'subscribe', payload: persisted.prepare(UpdateDriverLocationDocument, { input }).payload }));
      } else if (msg.id === 'loc' && msg.type === 'next') {
        searchable = msg.payload?.data?.updateDriverLocation?.searchable === true;
      } else if (msg.id === 'loc' && (msg.type === 'complete' || msg.type === 'error')) {
        finish(msg.type === 'complete' ? performance.now() - t0 : null);
      }
    });
  });
}

export async function benchStorm(opts: { db: Db; url: string; shards: Redis[]; bus: Redis; box: BoundingBox; drivers: number; concurrency: number }): Promise<StormResult> {
  const drivers = await registerFleet(opts.db, 'storm', opts.drivers);
  const tokens = await Promise.all(drivers.map((d) => signToken(JWT_SECRET, { role: 'driver', id: d.id })));
  const positions = drivers.map(() => randomPoint(opts.box));
  const wsUrl = opts.url.replace(/^http/, 'ws');
  const connect = new Latency();
  const location = new Latency();
  const failures = { connect: 0, location: 0, notSearchable: 0 };
  const sockets: WebSocket[] = [];
  let lastAck = 0;
  let lastAnswer = 0;
  let allSearchableAt: number | null = null;

  const watch = await watchPhase({ serverUrl: opts.url, db: opts.db });
  const t0 = performance.now();
  let stormDone = false;
  const poller = (async () => {
    while (performance.now() - t0 < HARD_STOP_MS) {
      const n = await indexed(opts.shards);
      if (n >= opts.drivers) {
        allSearchableAt = (performance.now() - t0) / 1000;
        return;
      }
      if (stormDone && performance.now() - t0 > lastAnswer * 1000 + AFTER_LAST_MS) return; // nothing more is coming
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, opts.drivers) }, async () => {
      while (next < opts.drivers) {
        const i = next++;
        const start = performance.now();
        const r = await oneDriver(wsUrl, tokens[i]!, positions[i]!, start);
        sockets.push(r.ws);
        if (r.ackMs === null) {
          failures.connect += 1;
          connect.fail();
        } else {
          connect.add(r.ackMs);
          lastAck = Math.max(lastAck, (performance.now() - t0) / 1000);
        }
        if (r.locationMs === null) {
          failures.location += 1;
          location.fail();
        } else {
          location.add(r.locationMs);
          lastAnswer = Math.max(lastAnswer, (performance.now() - t0) / 1000);
          if (!r.searchable) failures.notSearchable += 1;
        }
      }
    }),
  );
  stormDone = true;
  await poller;
  const conditions = await watch.stop();
  const indexedAtEnd = await indexed(opts.shards);
  const feedsAtEnd = ((await opts.bus.pubsub('CHANNELS', `${topics.driverOffers('')}*`)) as string[]).length;
  for (const ws of sockets) ws.terminate();
  return {
    drivers: opts.drivers,
    concurrency: opts.concurrency,
    connectMs: connect.summary(),
    firstLocationMs: location.summary(),
    failures,
    connectionsPerSecond: (opts.drivers - failures.connect) / lastAck,
    lastAnswerSeconds: lastAnswer,
    allSearchableSeconds: allSearchableAt,
    indexedAtEnd,
    feedsAtEnd,
    pollMs: POLL_MS,
    conditions,
  };
}
