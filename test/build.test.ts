// The production artefact: `npm run build`, then `node dist/main.js` (no tsx) as the Dockerfile
// runs it. It must find everything it reads at run time from dist/ (the Prisma client, the Lua
// scripts, the migrations), serve both transports, and on SIGTERM drain and exit 0 within
// SHUTDOWN_GRACE_MS + 2 s, closing sockets with 1001 and stopping its local redis-server shards.
import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/auth.ts';
import { dropDatabase } from '../src/db/admin.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { UPDATE_LOCATION } from './helpers/actors.ts';
import { http, wsConnect } from './helpers/graphql.ts';
import { killAll, processTree, survivorsAfter, type ProcessInfo } from './helpers/proc.ts';
import { watchProcess } from './helpers/process.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const dbUrl = `postgresql://postgres@127.0.0.1:5432/ridematch_build_${process.pid}`;
const JWT_SECRET = 'build-test-secret-0123456789abcdef';
const SHUTDOWN_GRACE_MS = 1_500;
const migrationCount = readdirSync(path.join(ROOT, 'prisma/migrations'), { withFileTypes: true }).filter((e) => e.isDirectory()).length;

afterAll(() => dropDatabase(dbUrl));

describe('the build', () => {
  it('runs with node from dist/ and stops on SIGTERM within the grace period + 2 s', { timeout: 180_000 }, async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });

    await dropDatabase(dbUrl);
    const port = await freePort();
    // Production settings, except that no Redis is configured, so it starts local shards itself.
    const env = { ...process.env, NODE_ENV: 'production', JWT_SECRET, PORT: String(port), DATABASE_URL: dbUrl, SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS) } as NodeJS.ProcessEnv;
    for (const name of ['REDIS_SHARDS', 'PUBSUB_REDIS_URL', 'GRAPHIQL']) delete env[name];
    const server = watchProcess(spawn(process.execPath, ['dist/main.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let shards: ProcessInfo[] = [];
    try {
      await server.waitFor(/Ridematch is up/);
      // The migrations were found from dist/db/ and applied to the new database.
      expect(server.output()).toContain(`applied ${migrationCount} migration(s)`);
      shards = processTree(server.child.pid!).filter((p) => p.command.startsWith('redis-server '));
      expect(shards).toHaveLength(3);

      // The built Prisma client (HTTP, admin) and the Lua scripts (a location update over WS).
      const url = `http://127.0.0.1:${port}/graphql`;
      const admin = await signToken(JWT_SECRET, { role: 'admin', id: 'ops' });
      const registered = await http(url, `mutation { upsertDriver(input: { id: "d-build", name: "Build", carType: ECONOMY, paymentPreference: ANY, rating: 4.8, vehicle: "KA-01" }) { id } }`, {}, admin);
      expect(registered, JSON.stringify(registered.errors)).toMatchObject({ status: 200, data: { upsertDriver: { id: 'd-build' } } });
      const driver = wsConnect(url.replace('http', 'ws'), await signToken(JWT_SECRET, { role: 'driver', id: 'd-build' }));
      await driver.connected;
      const ack = await driver.request(UPDATE_LOCATION, { input: { lat: 12.9716, lng: 77.5946, recordedAt: new Date().toISOString() } });
      expect(ack).toEqual({ data: { updateDriverLocation: { outOfOrder: false, searchable: true } } });

      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      expect((await driver.closed).code).toBe(1001);
      const exit = await server.exited;
      expect(exit.code, server.output()).toBe(0);
      expect(exit.at - signalledAt).toBeLessThan(SHUTDOWN_GRACE_MS + 2_000);
      expect(await survivorsAfter(shards, 0)).toEqual([]);
    } finally {
      killAll([...processTree(server.child.pid!), ...shards]);
    }
  });
});
