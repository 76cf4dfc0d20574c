// Composition root: builds every service of one API instance from a Config. No module-level
// state anywhere else, so tests can run several instances in one process.
import { RideAccess } from './access/ride-access.ts';
import { Analytics } from './admin/analytics.ts';
import { AuditLog } from './admin/audit.ts';
import { CityMap } from './admin/city-map.ts';
import { Directory } from './admin/directory.ts';
import { createClock, type Clock } from './clock.ts';
import type { Config, ShardSpec } from './config.ts';
import { createDb, type Db, type MeasuredPool } from './db/client.ts';
import { DriverRecords } from './drivers/driver-records.ts';
import { DriverReconciler } from './drivers/reconciler.ts';
import { LocationIndex } from './geo/location-index.ts';
import { RateLimits } from './limits/rate-limits.ts';
import { SocketSlots } from './limits/socket-slots.ts';
import type { Logger } from './logger.ts';
import { Assignment } from './match/assignment.ts';
import type { MatchDeps, MatchSeams } from './match/deps.ts';
import { DriverPicker } from './match/driver-picker.ts';
import { Notifier } from './match/notifier.ts';
import { OperatorActions } from './match/operator-actions.ts';
import { RideClaims } from './match/ride-claims.ts';
import { RideQueries } from './match/ride-queries.ts';
import { RideRequests } from './match/requests.ts';
import { RoundScheduler } from './match/rounds.ts';
import { Trip } from './match/trip.ts';
import { TripTracking } from './match/tracking.ts';
import { RideTransitions } from './match/transitions.ts';
import { Estimates } from './pricing/estimates.ts';
import { Surge } from './pricing/surge.ts';
import { Tariffs } from './pricing/tariffs.ts';
import { Events } from './pubsub.ts';
import { ShardRouter } from './redis/shard-router.ts';
import { Registry } from './registry/registry.ts';

export interface Services {
  config: Config;
  log: Logger;
  clock: Clock;
  db: Db;
  pool: MeasuredPool;
  router: ShardRouter;
  events: Events;
  registry: Registry;
  records: DriverRecords;
  reconciler: DriverReconciler;
  locations: LocationIndex;
  claims: RideClaims;
  rounds: RoundScheduler;
  requests: RideRequests;
  assignment: Assignment;
  trip: Trip;
  tracking: TripTracking;
  queries: RideQueries;
  operators: OperatorActions;
  tariffs: Tariffs;
  surge: Surge;
  estimates: Estimates;
  access: RideAccess;
  audit: AuditLog;
  directory: Directory;
  analytics: Analytics;
  cityMap: CityMap;
  limits: RateLimits;
  sockets: SocketSlots;
  seams: MatchSeams;
}

/** Connects to Postgres, the shards and the event bus, and starts the background loops. */
export async function createServices(config: Config, log: Logger): Promise<Services> {
  const shards: ShardSpec[] = config.redisShards ?? [];
  if (shards.length === 0) throw new Error('no Redis shards configured');
  const clock = createClock(config.clockSkewMs);
  const { db, pool } = createDb(config.databaseUrl, config.dbPoolSize);
  const router = new ShardRouter(shards, {
    healthIntervalMs: config.shards.healthIntervalMs,
    downAfterMisses: config.shards.downAfterMisses,
    upAfterSuccesses: config.shards.upAfterSuccesses,
    commandTimeoutMs: config.shards.commandTimeoutMs,
    readWindowMs: config.geo.driverTtlMs,
    log,
  });
  await router.start();
  const events = new Events(config.pubsubRedisUrl ?? shards[0]!.url, { publishTimeoutMs: config.busPublishTimeoutMs, log });
  await events.ready();

  const registry = new Registry(db);
  const records = new DriverRecords(router, db, {
    recordTtlMs: config.geo.driverRecordTtlMs,
    reconcileIntervalMs: config.geo.reconcileIntervalMs,
    location: config.rateLimits.location,
  });
  const locations = new LocationIndex(router, records, clock, config.geo);
  const claims = new RideClaims(router);
  const seams: MatchSeams = {};
  const deps: MatchDeps = {
    seams,
    db,
    transitions: new RideTransitions(db, log),
    picker: new DriverPicker(locations, records, config.match),
    claims,
    records,
    notifier: new Notifier(events, records),
    policy: config.match,
    driverTtlMs: config.geo.driverTtlMs,
    log,
  };
  const rounds = new RoundScheduler(deps, Math.max(1, Math.floor(config.dbPoolSize / 2)));
  const tariffs = new Tariffs(db);
  const surge = new Surge(locations, db, router, config.pricing.surge);
  const estimates = new Estimates(db, tariffs, surge, config.pricing);
  const reconciler = new DriverReconciler(records, config.geo.reconcileIntervalMs, log);

  // A profile changed on any instance drops it from every instance's cache.
  registry.onChange((kind, id) => void events.publishRegistryChange({ kind, id }));
  events.onRegistryChange(({ kind, id }) => registry.invalidate(kind, id));

  locations.startSweeper();
  rounds.startPolling();
  reconciler.start();
  return {
    config,
    log,
    clock,
    db,
    pool,
    router,
    events,
    registry,
    records,
    reconciler,
    locations,
    claims,
    rounds,
    requests: new RideRequests(deps, rounds, estimates, config.scheduling),
    assignment: new Assignment(deps, rounds),
    trip: new Trip(deps, tariffs, config.pricing),
    tracking: new TripTracking(events, config.positionPushIntervalMs),
    queries: new RideQueries(db),
    operators: new OperatorActions(deps),
    tariffs,
    surge,
    estimates,
    access: new RideAccess(db),
    audit: new AuditLog(db),
    directory: new Directory(db, router, records, config.geo.driverTtlMs),
    analytics: new Analytics(db, config.analytics.maxWindowMs),
    cityMap: new CityMap(db, locations, config.cityMap, log),
    limits: new RateLimits(router, config.rateLimits),
    sockets: new SocketSlots(router, config.ws.maxSocketsPerIdentity),
    seams,
  };
}

/** Stops the loops (waiting for rounds under way) and closes every connection. */
export async function closeServices(services: Services): Promise<void> {
  services.locations.stop();
  services.sockets.stop();
  services.tracking.stop();
  await services.reconciler.stop();
  await services.rounds.stop();
  await services.events.close();
  await services.router.stop();
  await services.db.$disconnect();
  await services.pool.end().catch(() => {});
}
