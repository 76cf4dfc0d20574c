// Issue 2, acceptances 1 and 5, on the real process: `npm start` with no configuration (local
// shards, database created and migrated, GraphiQL served), SIGTERM with open sockets (exit 0
// within 5 s, clients see 1001, local shards stopped), and one clear line for what is missing.
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/auth.ts';
import { loadConfig } from '../src/config.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { wsConnect } from './helpers/graphql.ts';
import { dropDatabase } from '../src/db/admin.ts';
import { spawnServer } from './helpers/process.ts';

const freshDbUrl = `postgresql://postgres@127.0.0.1:5432/ridematch_start_${process.pid}`;


const portAnswers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

afterAll(() => dropDatabase(freshDbUrl));

describe('npm start', () => {
  it('runs with no configuration, then exits 0 within 5 s on SIGTERM, closing sockets with 1001', async () => {
    await dropDatabase(freshDbUrl);
    const port = await freePort();
    // No REDIS_SHARDS, no JWT_SECRET: the local defaults. Only the port and a throwaway database differ.
    const server = spawnServer({ PORT: String(port), DATABASE_URL: freshDbUrl, REDIS_SHARDS: undefined, JWT_SECRET: undefined, NODE_ENV: undefined });
    try {
      await server.waitFor(/Ridematch is up: GraphiQL http:\/\/localhost:\d+\/graphql/);
      expect(server.output()).toMatch(/created the database/);
      expect(server.output()).toMatch(/started 3 local Redis shards/);

      const base = `http://127.0.0.1:${port}`;
      const graphiql = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
      expect(await graphiql.text()).toContain('GraphiQL');
      const ready = (await (await fetch(`${base}/ready`)).json()) as { shards: Array<{ name: string; healthy: boolean }> };
      expect(ready.shards.map((s) => s.healthy)).toEqual([true, true, true]);
      // /ready names shards only; the start-up line says where the local ones listen.
      const shardPorts = [...server.output().matchAll(/redis:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(shardPorts).toHaveLength(3);

      const token = await signToken(loadConfig({}).jwt, { role: 'admin', id: 'ops' });
      const sockets = [1, 2, 3].map(() => wsConnect(`ws://127.0.0.1:${port}/graphql`, token));
      await Promise.all(sockets.map((s) => s.connected));

      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const closes = await Promise.all(sockets.map((s) => s.closed));
      expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001]);
      const exit = await server.exited;
      expect(exit.code).toBe(0);
      expect(exit.at - signalledAt).toBeLessThan(5_000);
      // The local shards went with it.
      expect(await Promise.all(shardPorts.map(portAnswers))).toEqual([false, false, false]);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('says in one line that redis-server is missing', async () => {
    const server = spawnServer({ PORT: String(await freePort()), REDIS_SHARDS: undefined, PATH: '/nonexistent' });
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.output()).toMatch(/redis-server is not installed: install it \(Debian: apt-get install redis-server\) or set REDIS_SHARDS/);
  });

  it('says in one line that PostgreSQL is unreachable', async () => {
    const server = spawnServer({ PORT: String(await freePort()), DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/ridematch' });
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.output()).toMatch(/PostgreSQL is not reachable at 127\.0\.0\.1:1 .*set DATABASE_URL/);
  });

  it('refuses an invalid configuration with one message and exit 1', async () => {
    const server = spawnServer({ PORT: 'eighty' });
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.output().trim()).toMatch(/^ridematch: Invalid configuration: PORT: /m);
  });
});
