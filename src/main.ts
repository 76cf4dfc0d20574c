// `npm start`: runs the API with working local defaults. With no configuration it creates and
// migrates the database, starts local redis-server shards (stopped with the server), and serves
// GraphiQL on http://localhost:4000/graphql. With WORKERS=N this process is the primary: it does
// the one-time work above, then runs N worker processes on the same port (src/workers.ts), each
// of which runs this file again as one instance.
import cluster from 'node:cluster';
import { closeServices, createServices } from './app.ts';
import { loadConfig, type Config } from './config.ts';
import { ensureDatabase } from './db/admin.ts';
import { migrate } from './db/migrate.ts';
import { createLogger } from './logger.ts';
import { startLocalRedis, type LocalRedis } from './redis/local-servers.ts';
import { startServer } from './server.ts';
import { announceWorkerUp, superviseWorkers } from './workers.ts';

function fail(message: string): never {
  console.error(`ridematch: ${message}`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  fail((err as Error).message);
}
// Readable lines for a person at a terminal in development; JSON for everything else.
const log = createLogger(config.logLevel, { pretty: config.isDevelopment && process.stderr.isTTY });
const upLine = (port: number) => `Ridematch is up: GraphiQL http://localhost:${port}/graphql (WebSocket ws://localhost:${port}/graphql)`;

// Once per host, in the primary: local shards, the database and its migrations. A worker finds
// them done (the primary passes the local shards on in REDIS_SHARDS).
let localShards: LocalRedis[] = [];
const stopLocalShards = () => Promise.all(localShards.map((s) => s.stop()));
if (cluster.isPrimary) {
  if (config.jwtSecretIsDevDefault) log.warn('JWT_SECRET is not set: using the development secret (refused in production)');
  try {
    if (!config.redisShards && !config.redisCluster) {
      localShards = await startLocalRedis(config.localRedisShardCount);
      config.redisShards = localShards.map((s, i) => ({ name: `local-${i + 1}`, url: s.url }));
      log.info(`started ${localShards.length} local Redis shards: ${localShards.map((s) => s.url).join(' ')}`);
    }
    if (await ensureDatabase(config.databaseUrl)) log.info('created the database');
    const migrated = await migrate(config.databaseUrl, { log: (line) => log.info(line) });
    if (migrated.applied.length) log.info(`applied ${migrated.applied.length} migration(s)`);
  } catch (err) {
    await stopLocalShards();
    fail((err as Error).message);
  }
}

if (cluster.isPrimary && config.workers > 1) {
  superviseWorkers({
    count: config.workers,
    env: localShards.length ? { REDIS_SHARDS: config.redisShards!.map((s) => `${s.name}=${s.url}`).join(' ') } : {},
    drainMs: config.shutdownGraceMs,
    log,
    onUp: (port) => log.info(`${upLine(port)}; ${config.workers} workers`),
    onStopped: async () => {
      await stopLocalShards();
    },
  });
} else {
  await serve();
}

async function serve(): Promise<void> {
  const services = await createServices(config, log).catch(async (err) => {
    await stopLocalShards();
    return fail((err as Error).message);
  });
  const server = await startServer(services);

  // Under `npm start`, one Ctrl-C reaches the server twice at once: from the terminal (to the whole
  // process group) and forwarded by npm (or, for a worker, passed on by the primary). So only a
  // signal that comes later means "exit now".
  const REPEAT_MEANS_NOW_AFTER_MS = 1_000;
  let stoppingSince: number | null = null;
  const shutdown = async (signal: string): Promise<void> => {
    if (stoppingSince !== null) {
      if (Date.now() - stoppingSince < REPEAT_MEANS_NOW_AFTER_MS) return;
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info(`${signal}: shutting down`);
    await server.close();
    await closeServices(services);
    await stopLocalShards();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // Started with --expose-gc (the benchmark does), SIGUSR2 collects garbage, so memory per connection
  // is measured on live objects rather than on garbage waiting for the next collection.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) process.on('SIGUSR2', () => gc());
  process.on('SIGINT', () => void shutdown('SIGINT'));

  // Announced only now: whoever waits for this line may signal at once, and until the handlers above
  // are installed a signal would kill the process without its graceful shutdown.
  if (cluster.isWorker) announceWorkerUp(server.port);
  else log.info(upLine(server.port));
}
