// A Sentinel-managed shard (REDIS_SHARDS entry redis+sentinel://host:port/master): ioredis finds
// the primary through Sentinel, and after the primary dies and Sentinel promotes its replica, the
// shard keeps serving (the router reconnects through Sentinel to the new primary).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClock } from '../src/clock.ts';
import { DriverRecords } from '../src/drivers/driver-records.ts';
import { LocationIndex } from '../src/geo/location-index.ts';
import { driverKey, driverRoute } from '../src/redis/keys.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { ShardRouter } from '../src/redis/shard-router.ts';
import type { DriverProfile } from '../src/registry/registry.ts';
import { eventually } from './helpers/graphql.ts';
import { testDatabase } from './helpers/stack.ts';

const processes: ChildProcess[] = [];
let router: ShardRouter;
let primary: ChildProcess;
let database: Awaited<ReturnType<typeof testDatabase>>;

function redis(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  processes.push(child);
  return child;
}

async function answers(port: number): Promise<void> {
  await eventually(async () => {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  }, 10_000);
}

beforeAll(async () => {
  const [p, r, s] = [await freePort(), await freePort(), await freePort()];
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  primary = redis(['--port', String(p), ...common]);
  redis(['--port', String(r), ...common, '--replicaof', '127.0.0.1', String(p)]);
  await Promise.all([answers(p), answers(r)]);
  // Sentinel rewrites its config file, so it gets a writable one of its own.
  const conf = path.join(mkdtempSync(path.join(tmpdir(), 'sentinel-')), 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${s}`,
      'bind 127.0.0.1',
      `sentinel monitor geo1 127.0.0.1 ${p} 1`,
      'sentinel down-after-milliseconds geo1 1000',
      'sentinel failover-timeout geo1 5000',
      '',
    ].join('\n'),
  );
  redis([conf, '--sentinel']);
  await answers(s);
  // Sentinel learns about replicas from the primary's INFO; it can only promote one it knows.
  const sentinel = new Redis(s);
  await eventually(async () => ((await sentinel.call('SENTINEL', 'REPLICAS', 'geo1')) as unknown[]).length >= 1, 15_000, 200);
  sentinel.disconnect();
  router = new ShardRouter([{ name: 'geo1', url: `redis+sentinel://127.0.0.1:${s}/geo1` }], {
    healthIntervalMs: 200,
    downAfterMisses: 3,
    upAfterSuccesses: 3,
    commandTimeoutMs: 500,
    readWindowMs: 30_000,
  });
  await router.start();
  database = await testDatabase();
});

afterAll(async () => {
  await router?.stop();
  await database?.drop();
  for (const p of processes) p.kill('SIGKILL');
});

const driver: DriverProfile = { id: 'sentinel-d1', name: 'S', carType: 'ECONOMY', paymentPreference: 'ANY', rating: 4.9, vehicle: 'v', duty: 'AVAILABLE', suspendReason: null };
const at = { lat: 52.37, lng: 4.89 };

it('indexes and finds drivers through a Sentinel-managed shard, across a failover', async () => {
  const records = new DriverRecords(router, database.db, { recordTtlMs: 60_000, reconcileIntervalMs: 60_000, location: { ratePerS: 100, burst: 100 } });
  const index = new LocationIndex(router, records, createClock(), { driverTtlMs: 30_000, sweepIntervalMs: 60_000, sweepBatch: 100 });
  await index.report(driver, { ...at, recordedAt: new Date(Date.now() - 1_000) });
  const found = async () => (await index.search({ ...at, startRadiusKm: 1, maxRadiusKm: 1, limit: 5 })).map((c) => c.driverId);
  expect(await found()).toEqual([driver.id]);

  primary.kill('SIGKILL'); // Sentinel notices in ~1 s and promotes the replica
  // Reports keep being accepted once the new primary is in place (the data replicated to it, too).
  await eventually(async () => {
    await router.checkHealth();
    const ack = await index.report(driver, { ...at, recordedAt: new Date() });
    return !ack.outOfOrder && (await found()).includes(driver.id);
  }, 20_000, 250);
  const role = await router.write(driverRoute(driver.id), (r) => r.role());
  expect((role as unknown[])[0]).toBe('master');
  expect(await router.write(driverRoute(driver.id), (r) => r.hget(driverKey(driver.id), 'region'))).toBeTruthy();
});
