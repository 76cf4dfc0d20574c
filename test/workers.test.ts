// WORKERS=2 on the real process: one port served by two worker processes (each /health answer
// names its pid), local shards started once by the primary and used by both, and SIGTERM to the
// primary drains every worker (sockets closed with 1001) and exits 0 within SHUTDOWN_GRACE_MS + 2 s,
// leaving no process behind.
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../src/db/admin.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { UPDATE_LOCATION } from './helpers/actors.ts';
import { http, wsConnect } from './helpers/graphql.ts';
import { killAll, processTree, survivorsAfter } from './helpers/proc.ts';
import { spawnServer } from './helpers/process.ts';
import { TEST_SECRET } from './helpers/stack.ts';
import { signToken } from '../src/auth.ts';

const dbUrl = `postgresql://postgres@127.0.0.1:5432/ridematch_workers_${process.pid}`;
const SHUTDOWN_GRACE_MS = 1_500;

afterAll(() => dropDatabase(dbUrl));

/** GET /health on a fresh connection (no keep-alive), so the primary hands each one to a worker in turn. */
const healthPid = (port: number) =>
  new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve((JSON.parse(body) as { pid: number }).pid));
    })
      .on('error', reject)
      .end();
  });

describe('WORKERS=2', () => {
  it('serves one port from two workers and drains both on SIGTERM', async () => {
    await dropDatabase(dbUrl);
    const port = await freePort();
    const server = spawnServer({
      PORT: String(port),
      WORKERS: '2',
      DATABASE_URL: dbUrl,
      REDIS_SHARDS: undefined,
      JWT_SECRET: TEST_SECRET,
      NODE_ENV: 'test',
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      LOG_LEVEL: 'info',
    });
    const primary = server.child.pid!;
    try {
      await server.waitFor(/Ridematch is up: .*; 2 workers/);
      const tree = processTree(primary);
      const workers = tree.filter((p) => p.ppid === primary && p.command.includes('src/main.ts'));
      const shards = tree.filter((p) => p.command.startsWith('redis-server '));
      expect(workers).toHaveLength(2);
      // The primary started the local shards once, for both workers.
      expect(shards.map((s) => s.ppid)).toEqual([primary, primary, primary]);
      expect(server.output().match(/started 3 local Redis shards/g)).toHaveLength(1);

      const pids = new Set<number>();
      for (let i = 0; i < 10; i++) pids.add(await healthPid(port));
      expect([...pids].sort()).toEqual(workers.map((w) => w.pid).sort());

      // Both workers serve the API on the shared shards and database: a driver registered through
      // one is known to the other.
      const url = `http://127.0.0.1:${port}/graphql`;
      const admin = await signToken(TEST_SECRET, { role: 'admin', id: 'ops' });
      const upsert = `mutation { upsertDriver(input: { id: "d-w", name: "W", carType: ECONOMY, paymentPreference: ANY, rating: 4.8, vehicle: "KA-01" }) { id } }`;
      expect((await http(url, upsert, {}, admin)).data).toEqual({ upsertDriver: { id: 'd-w' } });
      const driverToken = await signToken(TEST_SECRET, { role: 'driver', id: 'd-w' });
      const sockets = Array.from({ length: 4 }, () => wsConnect(url.replace('http', 'ws'), driverToken));
      await Promise.all(sockets.map((s) => s.connected));
      const acks = await Promise.all(
        sockets.map((s, i) => s.request(UPDATE_LOCATION, { input: { lat: 12.97, lng: 77.59, recordedAt: new Date(Date.now() - 100 + i).toISOString() } })),
      );
      for (const ack of acks) expect(ack.errors).toBeUndefined();

      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const closes = await Promise.all(sockets.map((s) => s.closed));
      expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001, 1001]);
      const exit = await server.exited;
      expect(exit.code, server.output()).toBe(0);
      expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_GRACE_MS + 2_000);
      expect(server.output().match(/server stopped/g)).toHaveLength(2);
      expect(await survivorsAfter(tree, 0)).toEqual([]);
    } finally {
      killAll(processTree(primary));
    }
  });
});
