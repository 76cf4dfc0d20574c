// A real stack for a test file: its own redis-server shards (or Redis Cluster) and event bus, its own database
// (cloned from the migrated template), and one or more API instances (in this process) on free
// ports. Nothing is shared between stacks, as nothing is shared between deployments.
import { inject } from 'vitest';
import { closeServices, createServices, type Services } from '../../src/app.ts';
import { signToken, type Role } from '../../src/auth.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger, type LogDestination } from '../../src/logger.ts';
import { startLocalCluster, type LocalCluster } from '../../src/redis/local-cluster.ts';
import { startLocalRedis, type LocalRedis } from '../../src/redis/local-servers.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { cloneDatabase, dropDatabase } from '../../src/db/admin.ts';
import { createDb, type Db } from '../../src/db/client.ts';

export interface Instance {
  services: Services;
  server: RunningServer;
  httpUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export interface Stack {
  /** Empty when the stack runs on a cluster. */
  shards: LocalRedis[];
  cluster: LocalCluster | null;
  bus: LocalRedis;
  env: Record<string, string>;
  config: Config;
  /** The first instance. */
  services: Services;
  httpUrl: string;
  wsUrl: string;
  instances: Instance[];
  startInstance(extraEnv?: Record<string, string>): Promise<Instance>;
  token(role: Role, id: string): Promise<string>;
  stop(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdef';

export interface StackOptions {
  shards?: number;
  /** Run on a local Redis Cluster (REDIS_CLUSTER) instead of shards. */
  cluster?: { primaries: number; replicasPerPrimary: number };
  env?: Record<string, string>;
  /** The address the instances reach the test's database at (e.g. through a TcpGate). */
  databaseRoute?: (databaseUrl: string) => string;
  /** Every instance's log lines go there (set LOG_LEVEL in `env` to see them). */
  logTo?: LogDestination;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const cluster = opts.cluster ? await startLocalCluster(opts.cluster) : null;
  const shards = cluster ? [] : await startLocalRedis(opts.shards ?? 3);
  const [bus] = await startLocalRedis(1);
  const databaseUrl = await cloneDatabase(inject('databaseUrl'), `rm_${process.pid}_${uniqueId('s').replace('-', '_')}`);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: opts.databaseRoute ? opts.databaseRoute(databaseUrl) : databaseUrl,
    ...(cluster ? { REDIS_CLUSTER: cluster.url } : { REDIS_SHARDS: shards.map((s, i) => `s${i + 1}=${s.url}`).join(' ') }),
    PUBSUB_REDIS_URL: bus!.url,
    JWT_SECRET: TEST_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    SHARD_HEALTH_INTERVAL_MS: '200',
    REDIS_COMMAND_TIMEOUT_MS: '500',
    DISPATCH_POLL_MS: '100',
    // Limits out of the way of tests about something else; test/limits.test.ts sets its own.
    RIDE_REQUEST_LIMIT: '10000',
    OPERATION_LIMIT: '1000000',
    ADMIN_OPERATION_LIMIT: '1000000',
    AUTH_FAILURE_LIMIT: '10000',
    LOCATION_RATE_PER_S: '1000',
    LOCATION_BURST: '1000',
    WS_MAX_SOCKETS_PER_IDENTITY: '100',
    WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '100',
    ...opts.env,
  };
  const instances: Instance[] = [];
  const startInstance = async (extraEnv: Record<string, string> = {}): Promise<Instance> => {
    const config = loadConfig({ ...env, ...extraEnv });
    const services = await createServices(config, createLogger(config.logLevel, { destination: opts.logTo }));
    const server = await startServer(services, { port: 0, host: '127.0.0.1' });
    const instance: Instance = {
      services,
      server,
      httpUrl: `http://127.0.0.1:${server.port}/graphql`,
      wsUrl: `ws://127.0.0.1:${server.port}/graphql`,
      stop: async () => {
        await server.close();
        await closeServices(services);
      },
    };
    instances.push(instance);
    return instance;
  };
  const first = await startInstance();
  return {
    shards,
    cluster,
    bus: bus!,
    env,
    config: first.services.config,
    services: first.services,
    httpUrl: first.httpUrl,
    wsUrl: first.wsUrl,
    instances,
    startInstance,
    token: (role, id) => signToken(TEST_SECRET, { role, id }),
    stop: async () => {
      await Promise.all(instances.map((i) => i.stop().catch(() => {})));
      await Promise.all([...shards, bus!].map((s) => s.stop()));
      await cluster?.stop();
      await dropDatabase(databaseUrl);
    },
  };
}

/** A database of the test's own, cloned from the migrated template (for tests without a stack). */
export async function testDatabase(): Promise<{ db: Db; url: string; drop(): Promise<void> }> {
  const url = await cloneDatabase(inject('databaseUrl'), `rm_${process.pid}_${uniqueId('db').replace('-', '_')}`);
  const { db, pool } = createDb(url);
  return {
    db,
    url,
    drop: async () => {
      await db.$disconnect();
      await pool.end();
      await dropDatabase(url);
    },
  };
}

/** Unique ids per test file and run (the database is shared across files). */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}${Date.now().toString(36).slice(-4)}`;
}
