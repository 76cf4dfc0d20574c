// The raw baseline for ingest: plain `ws` + JSON, and the same work on Redis as
// updateDriverLocation (H3 cell and region, ping.lua then location.lua, through the same
// shard router with ioredis auto-pipelining). No GraphQL, no auth, no validation: the floor.
//   RAW_SHARDS="s1=redis://... s2=..." RAW_PORT=... node --import tsx bench/raw-ingest-server.ts
import { WebSocketServer } from 'ws';
import { parseShardList } from '../src/config.ts';
import { cellOf, regionOf } from '../src/geo/cells.ts';
import { driverKey, driverRoute, regionKeys, regionRoute } from '../src/redis/keys.ts';
import { ShardRouter } from '../src/redis/shard-router.ts';

const router = new ShardRouter(parseShardList(process.env.RAW_SHARDS!), {
  healthIntervalMs: 1_000,
  downAfterMisses: 3,
  upAfterSuccesses: 3,
  commandTimeoutMs: 1_000,
  readWindowMs: 30_000,
});
await router.start();

const wss = new WebSocketServer({ port: Number(process.env.RAW_PORT), perMessageDeflate: false });
wss.on('connection', (socket) => {
  socket.on('message', async (data) => {
    const m = JSON.parse(String(data)) as { id: string; lat: number; lng: number; t: number };
    const cell = cellOf(m.lat, m.lng);
    const region = regionOf(m.lat, m.lng);
    await router.write(driverRoute(m.id), (r) => r.driverPing(driverKey(m.id), m.t, region, 3_600_000, 'AVAILABLE', m.lat, m.lng, 1_000, 1_000, 15_000, 2_000));
    await router.write(regionRoute(region), (r) => r.location(...regionKeys(region), m.id, m.lng, m.lat, 'ECONOMY|ANY|4.7', m.t));
    socket.send(JSON.stringify({ id: m.id, cell, acceptedAt: Date.now() }));
  });
});
wss.on('listening', () => console.log('raw ingest server ready'));
process.on('SIGTERM', async () => {
  wss.close();
  await router.stop();
  process.exit(0);
});
