// Composition root: builds every service of one API instance from a Config. No module-level
// state anywhere else, so tests can run several instances in one process.
import type { Config, ShardSpec } from './config.ts';
import { createDb, type Db } from './db/client.ts';
import { LocationIndex } from './geo/location-index.ts';
import type { Logger } from './logger.ts';
import { Dispatcher } from './match/dispatcher.ts';
import { DriverStates } from './match/driver-state.ts';
import { RideClaims } from './match/ride-claims.ts';
import { Events } from './pubsub.ts';
import { ShardRouter } from './redis/shard-router.ts';
import { Registry } from './registry/registry.ts';

export interface Services {
  config: Config;
  log: Logger;
  db: Db;
  router: ShardRouter;
  events: Events;
  registry: Registry;
  locations: LocationIndex;
  drivers: DriverStates;
  claims: RideClaims;
  dispatcher: Dispatcher;
}

/** Connects to Postgres, the shards and the event bus, and starts the background loops. */
export async function createServices(config: Config, log: Logger): Promise<Services> {
  const shards: ShardSpec[] = config.redisShards ?? [];
  if (shards.length === 0) throw new Error('no Redis shards configured');
  const db = createDb(config.databaseUrl);
  const router = new ShardRouter(shards, {
    healthIntervalMs: config.shards.healthIntervalMs,
    downAfterMisses: config.shards.downAfterMisses,
    commandTimeoutMs: config.shards.commandTimeoutMs,
    readWindowMs: config.geo.driverTtlMs,
    log,
  });
  await router.start();
  const events = new Events(config.pubsubRedisUrl ?? shards[0]!.url);
  await events.ready();

  const registry = new Registry(db);
  const locations = new LocationIndex(router, config.geo);
  const drivers = new DriverStates(router, db, config.geo.driverRecordTtlMs);
  const claims = new RideClaims(router);
  const dispatcher = new Dispatcher({
    db,
    locations,
    drivers,
    claims,
    events,
    policy: config.match,
    driverTtlMs: config.geo.driverTtlMs,
    log,
  });

  // A profile changed on any instance drops it from every instance's cache.
  registry.onChange((kind, id) => void events.publishRegistryChange({ kind, id }).catch(() => {}));
  await events.onRegistryChange(({ kind, id }) => registry.invalidate(kind, id));
  locations.onUnknownState = (driverId) => drivers.restoreFromDb(driverId);

  locations.startSweeper();
  dispatcher.startPolling();
  return { config, log, db, router, events, registry, locations, drivers, claims, dispatcher };
}

/** Stops the loops (waiting for rounds under way) and closes every connection. */
export async function closeServices(services: Services): Promise<void> {
  services.locations.stop();
  await services.dispatcher.stop();
  await services.events.close();
  await services.router.stop();
  await services.db.$disconnect();
}
