// Composition root: builds every service of one API instance from a Config. No module-level
// state anywhere else, so tests can run several instances in one process.
import { RideAccess } from './access/ride-access.ts';
import { Analytics } from './admin/analytics.ts';
import { AuditLog } from './admin/audit.ts';
import { CityMap } from './admin/city-map.ts';
import { Directory } from './admin/directory.ts';
import { createClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import { createDb, type Db, type MeasuredPool } from './db/client.ts';
import { DriverRecords } from './drivers/driver-records.ts';
import { HOLD_SETTLE_MS } from './drivers/hold-timing.ts';
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
import { RideTelemetry } from './match/telemetry.ts';
import { Trip } from './match/trip.ts';
import { TripTracking } from './match/tracking.ts';
import { RideTransitions } from './match/transitions.ts';
import { Metrics } from './metrics.ts';
import { Estimates } from './pricing/estimates.ts';
import { Surge } from './pricing/surge.ts';
import { Tariffs } from './pricing/tariffs.ts';
import { Events } from './pubsub.ts';
import { ClusterRouter } from './redis/cluster-router.ts';
import type { Router } from './redis/router.ts';
import { ShardRouter } from './redis/shard-router.ts';
import { Registry } from './registry/registry.ts';

export interface Services {
  config: Config;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  db: Db;
  pool: MeasuredPool;
  router: Router;
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

/** Client-side shards, or a Redis Cluster: the rest of the code cannot tell which. */
function createRouter(config: Config, log: Logger): Router {
  const health = {
    healthIntervalMs: config.shards.healthIntervalMs,
    downAfterMisses: config.shards.downAfterMisses,
    upAfterSuccesses: config.shards.upAfterSuccesses,
    commandTimeoutMs: config.shards.commandTimeoutMs,
    log,
  };
  if (config.redisCluster) return new ClusterRouter(config.redisCluster, health);
  const shards = config.redisShards ?? [];
  if (shards.length === 0) throw new Error('no Redis shards configured');
  // A key that moved settles once every instance saw the move (their health checks are at most
  // one interval and one timeout apart), what they sent to the old owner before ran or timed out
  // (one timeout), and the reservations that made have their offers in Postgres (HOLD_SETTLE_MS).
  const settleMs = health.healthIntervalMs + 2 * health.commandTimeoutMs + HOLD_SETTLE_MS;
  return new ShardRouter(shards, { ...health, readWindowMs: config.geo.driverTtlMs, settleMs });
}

/** Development and test only (production requires PUBSUB_REDIS_URL): the bus rides on the first shard or cluster node. */
function defaultBusUrl(config: Config): string {
  const cluster = config.redisCluster;
  if (!cluster) return config.redisShards![0]!.url;
  const auth = cluster.password ? `${encodeURIComponent(cluster.username ?? '')}:${encodeURIComponent(cluster.password)}@` : '';
  return `${cluster.tls ? 'rediss' : 'redis'}://${auth}${cluster.nodes[0]!.host}:${cluster.nodes[0]!.port}`;
}

/** Connects to Postgres, Redis and the event bus, and starts the background loops. */
export async function createServices(config: Config, log: Logger): Promise<Services> {
  const clock = createClock(config.clockSkewMs);
  const router = createRouter(config, log);
  const metrics = new Metrics();
  const { db, pool } = createDb(config.databaseUrl, config.dbPoolSize, (ms) => metrics.poolWaited(ms));
  await router.start();
  const events = new Events(config.pubsubRedisUrl ?? defaultBusUrl(config), { publishTimeoutMs: config.busPublishTimeoutMs, log });
  await events.ready();
  metrics.watch({
    shards: () => router.status(),
    openSubscriptions: () => events.openStreams,
    failedPublishes: () => events.failedPublishes,
    poolWaiting: () => pool.waits.waiting,
  });

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
    telemetry: new RideTelemetry(metrics),
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
    metrics,
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
    limits: new RateLimits(router, config.rateLimits, (name) => metrics.rateLimited(name)),
    sockets: new SocketSlots(router, config.ws.maxSocketsPerIdentity),
    seams,
  };
}

/** Stops the loops (waiting for rounds under way) and closes every connection. */
export async function closeServices(services: Services): Promise<void> {
  services.locations.stop();
  services.records.stop();
  services.sockets.stop();
  services.tracking.stop();
  await services.reconciler.stop();
  await services.rounds.stop();
  await services.events.close();
  await services.router.stop();
  await services.db.$disconnect();
  await services.pool.end().catch(() => {});
}
