// Every knob of the service, read from the environment in one place, with its default.
// loadConfig() is pure (env in, typed config or a readable error out) so tests build configs
// from overrides and main.ts decides what to do with a bad one (one message, exit 1).
import { z } from 'zod';

/** Public on purpose (it is in the repository): accepted only in development and test. */
export const DEV_JWT_SECRET = 'ridematch-dev-secret-change-me-0123456789';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const positive = () => z.coerce.number().positive().finite();
const bool = () =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
/** A list separated by commas or spaces. */
const list = () =>
  z
    .string()
    .transform((v) => v.split(/[\s,]+/).filter(Boolean));

const envSchema = z.object({
  /** development and test are the only environments with development conveniences. */
  NODE_ENV: z.string().trim().min(1).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(4000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .default('postgresql://postgres@127.0.0.1:5432/ridematch'),
  DB_POOL_SIZE: int(2, 500).default(10),
  /** Shards, separated by spaces or semicolons; each `[name=]redis://host:port` or
   *  `[name=]redis+sentinel://h1:p1,h2:p2/mastername`. Unset: local shard processes are started. */
  REDIS_SHARDS: z.string().trim().optional(),
  /** A Redis Cluster instead of shards: `redis://[user:pass@]h1:p1,h2:p2,…` (any reachable nodes;
   *  the rest are discovered). Exclusive with REDIS_SHARDS. */
  REDIS_CLUSTER: z.string().trim().optional(),
  /** Redis for cross-instance events (redis:// or redis+sentinel://). Default: the first shard
   *  in development and test; required elsewhere. */
  PUBSUB_REDIS_URL: z.string().trim().optional(),
  LOCAL_REDIS_SHARD_COUNT: int(1, 16).default(3),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ISSUER: z.string().trim().min(1).optional(),
  JWT_AUDIENCE: z.string().trim().min(1).optional(),
  GRAPHIQL: bool().optional(),
  INTROSPECTION: bool().optional(),
  /** Operations by hash from the SDK's manifest: off | allow (hash or text) | only (hash only). */
  PERSISTED_OPERATIONS: z.enum(['off', 'allow', 'only']).default('allow'),
  /** Browser origins allowed by CORS and for WebSocket upgrades; `*` wildcards a port or a label. */
  CORS_ORIGINS: list().optional(),
  /** Behind a load balancer: take the client address from the last X-Forwarded-For hop. */
  TRUST_PROXY: bool().default(false),
  WS_MAX_PAYLOAD_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: int(1, 1_000).default(5),
  WS_MAX_SOCKETS_PER_IDENTITY: int(1, 1_000).default(4),
  HTTP_MAX_BODY_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  HTTP_HEADERS_TIMEOUT_MS: int(1_000, 120_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(1_000, 300_000).default(15_000),
  HTTP_KEEPALIVE_TIMEOUT_MS: int(100, 120_000).default(5_000),
  SHUTDOWN_GRACE_MS: int(0, 60_000).default(3_000),
  /** API processes on this host sharing the port (node:cluster); 1 = this process serves alone. */
  WORKERS: int(1, 64).default(1),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** GET /metrics on a listener of its own (0: any free port). Unset: /metrics is served on PORT,
   *  and only when METRICS_TOKEN is set. */
  METRICS_PORT: int(0, 65535).optional(),
  /** Bearer token GET /metrics asks for, wherever it is served. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Test seam: shifts this instance's clock (see src/clock.ts). Deadlines never use it. */
  CLOCK_SKEW_MS: z.coerce.number().int().default(0),

  GRAPHQL_MAX_DEPTH: int(2, 100).default(12),
  GRAPHQL_MAX_ALIASES: int(0, 1_000).default(15),
  GRAPHQL_MAX_TOKENS: int(100, 100_000).default(2_000),
  GRAPHQL_MAX_DIRECTIVES: int(0, 1_000).default(20),
  GRAPHQL_MAX_COST: int(10, 1_000_000).default(5_000),

  /** Location updates per driver: a token bucket refilled at this rate, holding at most BURST. */
  LOCATION_RATE_PER_S: positive().default(0.5),
  LOCATION_BURST: int(1, 1_000).default(10),
  RIDE_REQUEST_LIMIT: int(1, 10_000).default(5),
  RIDE_REQUEST_WINDOW_MS: int(1_000, 86_400_000).default(60_000),
  OPERATION_LIMIT: int(1, 1_000_000).default(300),
  ADMIN_OPERATION_LIMIT: int(1, 1_000_000).default(1_200),
  OPERATION_WINDOW_MS: int(1_000, 86_400_000).default(60_000),
  AUTH_FAILURE_LIMIT: int(1, 1_000_000).default(20),
  AUTH_FAILURE_WINDOW_MS: int(1_000, 86_400_000).default(60_000),

  /** A driver not heard from for this long is not available. */
  DRIVER_TTL_MS: int(1_000, 3_600_000).default(30_000),
  /** The per-driver record (out-of-order guard, region pointer, dispatch state) outlives silence this long. */
  DRIVER_RECORD_TTL_MS: int(1_000, 7 * 86_400_000).default(3_600_000),
  SWEEP_INTERVAL_MS: int(50, 600_000).default(5_000),
  SWEEP_BATCH: int(1, 100_000).default(500),
  /** Driver state in Redis that disagrees with Postgres is corrected within this bound. */
  RECONCILE_INTERVAL_MS: int(100, 3_600_000).default(15_000),
  SHARD_HEALTH_INTERVAL_MS: int(50, 60_000).default(1_000),
  SHARD_DOWN_AFTER_MISSES: int(1, 100).default(3),
  SHARD_UP_AFTER_SUCCESSES: int(1, 100).default(3),
  REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(1_000),
  /** A publish on the event bus never holds a caller longer than this. */
  BUS_PUBLISH_TIMEOUT_MS: int(10, 10_000).default(250),

  MATCH_BATCH_SIZE: int(1, 100).default(5),
  MATCH_ROUND_TIMEOUT_MS: int(100, 600_000).default(15_000),
  MATCH_MAX_ROUNDS: int(1, 20).default(3),
  MATCH_RADIUS_START_KM: positive().default(1),
  MATCH_RADIUS_STEP_KM: z.coerce.number().min(0).finite().default(2),
  MATCH_RADIUS_CAP_KM: positive().default(5),
  /** How often each instance looks for rides whose round is due (the durable round timer). */
  DISPATCH_POLL_MS: int(10, 60_000).default(250),

  /** Road distance ≈ straight line × this (there is no routing engine). */
  FARE_DETOUR_FACTOR: z.coerce.number().min(1).max(3).default(1.3),
  /** For durations and ETAs: straight-line kilometres per hour in traffic. */
  AVERAGE_SPEED_KMH: positive().default(25),
  ESTIMATE_TTL_MS: int(10_000, 3_600_000).default(300_000),
  /** A request matches its estimate when pickup and dropoff are each within this of the quoted ones. */
  ESTIMATE_TOLERANCE_M: int(10, 5_000).default(200),
  SURGE_CAP: z.coerce.number().min(1).max(10).default(3),
  SURGE_STEP: z.coerce.number().min(0.01).max(1).default(0.1),
  /** Surge rises by this much per unit of demand over supply beyond 1. */
  SURGE_SENSITIVITY: z.coerce.number().min(0).max(10).default(0.5),
  /** Ride requests this recent count as demand. */
  SURGE_DEMAND_WINDOW_MS: int(60_000, 3_600_000).default(600_000),
  /** Surge moves towards its new value with this time constant (smoothing). */
  SURGE_SMOOTHING_MS: int(0, 3_600_000).default(120_000),
  /** An instance computes a cell's surge at most once per this; estimates in between quote that value. */
  SURGE_RECOMPUTE_MS: int(0, 600_000).default(5_000),
  SCHEDULE_MIN_LEAD_MS: int(0, 86_400_000).default(900_000),
  SCHEDULE_HORIZON_MS: int(60_000, 90 * 86_400_000).default(7 * 86_400_000),
  /** Dispatch of a scheduled ride starts this long before its time. */
  SCHEDULE_DISPATCH_LEAD_MS: int(0, 86_400_000).default(600_000),
  /** The rider sees the assigned driver's position at most this often. */
  POSITION_PUSH_INTERVAL_MS: int(100, 60_000).default(1_000),

  /** Matching analytics: the longest window one query may cover. */
  ANALYTICS_MAX_WINDOW_DAYS: int(1, 366).default(31),
  /** The city map: at most one snapshot per subscription this often. */
  CITY_MAP_INTERVAL_MS: int(100, 60_000).default(1_000),
  /** Items (drivers, rides, offers, assignments or cells) per snapshot; beyond it, aggregate. */
  CITY_MAP_MAX_ITEMS: int(10, 100_000).default(2_000),
  /** Driver positions one snapshot may read from Redis; a view holding more shows regions. */
  CITY_MAP_MAX_POSITIONS: int(100, 1_000_000).default(20_000),
  /** A view wider than this many regions (H3 res 5, ≈250 km² each) is narrowed around its centre. */
  CITY_MAP_MAX_REGIONS: int(1, 10_000).default(400),
  /** From this zoom on, res-7 cells instead of regions; from DETAIL_ZOOM on, each driver and ride. */
  CITY_MAP_CELL_ZOOM: int(0, 24).default(11),
  CITY_MAP_DETAIL_ZOOM: int(0, 24).default(13),
  /** Where the map page opens: lat,lng,zoom. */
  CITY_MAP_START: z
    .string()
    .regex(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?,\d+$/, 'must be lat,lng,zoom')
    .default('12.95,77.60,12'),
});

export type Env = Record<string, string | undefined>;

export interface ShardSpec {
  /** Stable identity used for rendezvous hashing, logs and /ready; never holds credentials. */
  name: string;
  url: string;
}

/** Seed nodes of a Redis Cluster; ioredis discovers the others. */
export interface ClusterSpec {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

export interface Config {
  env: string;
  /** development or test: the dev secret, local shards and GraphiQL by default are allowed. */
  isDevelopment: boolean;
  host: string;
  port: number;
  databaseUrl: string;
  dbPoolSize: number;
  /** null = start local redis-server shard processes (development convenience). */
  redisShards: ShardSpec[] | null;
  /** Set: keys live on this Redis Cluster (redisShards is then null and no local shards start). */
  redisCluster: ClusterSpec | null;
  pubsubRedisUrl: string | null;
  localRedisShardCount: number;
  jwt: { secret: string; issuer: string | null; audience: string | null };
  jwtSecretIsDevDefault: boolean;
  graphiql: boolean;
  introspection: boolean;
  persistedOperations: PersistedOperationsMode;
  corsOrigins: string[];
  trustProxy: boolean;
  ws: { maxPayloadBytes: number; maxSubscriptionsPerSocket: number; maxSocketsPerIdentity: number };
  http: { maxBodyBytes: number; headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  shutdownGraceMs: number;
  workers: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Where GET /metrics is served: its own port (null: on `port`) and the token it asks for. */
  metrics: { port: number | null; token: string | null };
  clockSkewMs: number;
  operationLimits: OperationLimits;
  rateLimits: RateLimitPolicy;
  geo: {
    driverTtlMs: number;
    driverRecordTtlMs: number;
    sweepIntervalMs: number;
    sweepBatch: number;
    reconcileIntervalMs: number;
  };
  shards: {
    healthIntervalMs: number;
    downAfterMisses: number;
    upAfterSuccesses: number;
    commandTimeoutMs: number;
  };
  busPublishTimeoutMs: number;
  match: MatchPolicy;
  pricing: PricingPolicy;
  scheduling: SchedulingPolicy;
  positionPushIntervalMs: number;
  analytics: { maxWindowMs: number };
  cityMap: CityMapPolicy;
}

export interface CityMapPolicy {
  intervalMs: number;
  maxItems: number;
  maxPositions: number;
  maxRegions: number;
  cellZoom: number;
  detailZoom: number;
  start: { lat: number; lng: number; zoom: number };
}

export interface PricingPolicy {
  detourFactor: number;
  averageSpeedKmh: number;
  estimateTtlMs: number;
  estimateToleranceM: number;
  surge: { cap: number; step: number; sensitivity: number; demandWindowMs: number; smoothingMs: number; recomputeMs: number };
}

export interface SchedulingPolicy {
  minLeadMs: number;
  horizonMs: number;
  dispatchLeadMs: number;
}

/** See src/api/persisted-operations.ts. */
export type PersistedOperationsMode = 'off' | 'allow' | 'only';

export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxCost: number;
}

export interface Window {
  points: number;
  windowMs: number;
}

export interface RateLimitPolicy {
  location: { ratePerS: number; burst: number };
  rideRequests: Window;
  operations: Window;
  adminOperations: Window;
  authFailures: Window;
}

export interface MatchPolicy {
  batchSize: number;
  roundTimeoutMs: number;
  maxRounds: number;
  radiusStartKm: number;
  radiusStepKm: number;
  radiusCapKm: number;
  pollMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** host:port of a Redis URL (every host for Sentinel), never its credentials. */
export function redisDisplayName(url: string): string {
  const rest = url.replace(/^[a-z+]+:\/\//i, '');
  const withoutAuth = rest.includes('@') ? rest.slice(rest.lastIndexOf('@') + 1) : rest;
  return withoutAuth.replace(/\/$/, '');
}

export function parseShardList(value: string): ShardSpec[] {
  return value
    .split(/[\s;]+/)
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf('=');
      const hasName = eq > 0 && !entry.slice(0, eq).includes(':');
      const url = hasName ? entry.slice(eq + 1) : entry;
      if (!/^redis(\+sentinel)?:\/\/[^/]+/.test(url) && !/^rediss:\/\//.test(url)) {
        throw new ConfigError(`REDIS_SHARDS: "${redisDisplayName(entry)}" is not a redis:// or redis+sentinel:// URL`);
      }
      return { name: hasName ? entry.slice(0, eq) : redisDisplayName(url), url };
    });
}

/** `redis://[user:pass@]h1:p1,h2:p2,…` (or rediss://) into seed nodes and credentials. */
export function parseClusterUrl(value: string): ClusterSpec {
  const m = /^(rediss?):\/\/(?:([^@]*)@)?([^/@]+)\/?$/.exec(value);
  if (!m) throw new ConfigError(`REDIS_CLUSTER: "${redisDisplayName(value)}" is not redis://h1:p1,h2:p2,…`);
  const [, scheme, auth, hosts] = m;
  const nodes = hosts!.split(',').filter(Boolean).map((hp) => {
    const [host, port] = hp.split(':');
    const n = Number(port || 6379);
    if (!host || !Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`REDIS_CLUSTER: "${hp}" is not host:port`);
    return { host, port: n };
  });
  const [username, password] = auth ? auth.split(':').map(decodeURIComponent) : [];
  return { nodes, tls: scheme === 'rediss', ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

const DEV_CORS_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'https://localhost:*'];

export function loadConfig(env: Env = process.env): Config {
  // An empty variable (VAR= in a compose file or a shell) means "not set".
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    // Never echo a value back: it may be a secret.
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const isDevelopment = e.NODE_ENV === 'development' || e.NODE_ENV === 'test';
  if (!isDevelopment && !e.JWT_SECRET) {
    throw new ConfigError(`Invalid configuration: JWT_SECRET must be set (at least 32 characters) when NODE_ENV is ${e.NODE_ENV}`);
  }
  if (!isDevelopment && e.JWT_SECRET === DEV_JWT_SECRET) {
    throw new ConfigError(`Invalid configuration: JWT_SECRET is the public development secret, refused when NODE_ENV is ${e.NODE_ENV}`);
  }
  const shards = e.REDIS_SHARDS ? parseShardList(e.REDIS_SHARDS) : null;
  if (shards && shards.length === 0) throw new ConfigError('Invalid configuration: REDIS_SHARDS lists no shard');
  if (shards && new Set(shards.map((s) => s.name)).size !== shards.length) {
    throw new ConfigError('Invalid configuration: REDIS_SHARDS names must be unique');
  }
  if (shards && e.REDIS_CLUSTER) {
    throw new ConfigError('Invalid configuration: set REDIS_SHARDS or REDIS_CLUSTER, not both');
  }
  const cluster = e.REDIS_CLUSTER ? parseClusterUrl(e.REDIS_CLUSTER) : null;
  if (!isDevelopment && (shards || cluster) && !e.PUBSUB_REDIS_URL) {
    throw new ConfigError(`Invalid configuration: PUBSUB_REDIS_URL must be set when NODE_ENV is ${e.NODE_ENV} (the bus must not ride on a shard)`);
  }
  if (e.SCHEDULE_MIN_LEAD_MS >= e.SCHEDULE_HORIZON_MS) {
    throw new ConfigError('Invalid configuration: SCHEDULE_MIN_LEAD_MS must be below SCHEDULE_HORIZON_MS');
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError('Invalid configuration: METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT with METRICS_TOKEN)');
  }
  if (e.CITY_MAP_CELL_ZOOM > e.CITY_MAP_DETAIL_ZOOM) {
    throw new ConfigError('Invalid configuration: CITY_MAP_CELL_ZOOM must not exceed CITY_MAP_DETAIL_ZOOM');
  }
  const [startLat, startLng, startZoom] = e.CITY_MAP_START.split(',').map(Number) as [number, number, number];
  if (Math.abs(startLat) > 85 || Math.abs(startLng) > 180) throw new ConfigError('Invalid configuration: CITY_MAP_START is not on the map');
  if (e.MATCH_RADIUS_START_KM > e.MATCH_RADIUS_CAP_KM) {
    throw new ConfigError('Invalid configuration: MATCH_RADIUS_START_KM must not exceed MATCH_RADIUS_CAP_KM');
  }
  return {
    env: e.NODE_ENV,
    isDevelopment,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dbPoolSize: e.DB_POOL_SIZE,
    redisShards: shards,
    redisCluster: cluster,
    pubsubRedisUrl: e.PUBSUB_REDIS_URL ?? null,
    localRedisShardCount: e.LOCAL_REDIS_SHARD_COUNT,
    jwt: { secret: e.JWT_SECRET ?? DEV_JWT_SECRET, issuer: e.JWT_ISSUER ?? null, audience: e.JWT_AUDIENCE ?? null },
    jwtSecretIsDevDefault: !e.JWT_SECRET,
    graphiql: e.GRAPHIQL ?? isDevelopment,
    introspection: e.INTROSPECTION ?? isDevelopment,
    persistedOperations: e.PERSISTED_OPERATIONS,
    corsOrigins: e.CORS_ORIGINS ?? (isDevelopment ? DEV_CORS_ORIGINS : []),
    trustProxy: e.TRUST_PROXY,
    ws: {
      maxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
      maxSubscriptionsPerSocket: e.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxSocketsPerIdentity: e.WS_MAX_SOCKETS_PER_IDENTITY,
    },
    http: {
      maxBodyBytes: e.HTTP_MAX_BODY_BYTES,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEPALIVE_TIMEOUT_MS,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    workers: e.WORKERS,
    logLevel: e.LOG_LEVEL,
    metrics: { port: e.METRICS_PORT ?? null, token: e.METRICS_TOKEN ?? null },
    clockSkewMs: e.CLOCK_SKEW_MS,
    operationLimits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
      maxCost: e.GRAPHQL_MAX_COST,
    },
    rateLimits: {
      location: { ratePerS: e.LOCATION_RATE_PER_S, burst: e.LOCATION_BURST },
      rideRequests: { points: e.RIDE_REQUEST_LIMIT, windowMs: e.RIDE_REQUEST_WINDOW_MS },
      operations: { points: e.OPERATION_LIMIT, windowMs: e.OPERATION_WINDOW_MS },
      adminOperations: { points: e.ADMIN_OPERATION_LIMIT, windowMs: e.OPERATION_WINDOW_MS },
      authFailures: { points: e.AUTH_FAILURE_LIMIT, windowMs: e.AUTH_FAILURE_WINDOW_MS },
    },
    geo: {
      driverTtlMs: e.DRIVER_TTL_MS,
      driverRecordTtlMs: e.DRIVER_RECORD_TTL_MS,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      sweepBatch: e.SWEEP_BATCH,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    },
    shards: {
      healthIntervalMs: e.SHARD_HEALTH_INTERVAL_MS,
      downAfterMisses: e.SHARD_DOWN_AFTER_MISSES,
      upAfterSuccesses: e.SHARD_UP_AFTER_SUCCESSES,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    },
    busPublishTimeoutMs: e.BUS_PUBLISH_TIMEOUT_MS,
    match: {
      batchSize: e.MATCH_BATCH_SIZE,
      roundTimeoutMs: e.MATCH_ROUND_TIMEOUT_MS,
      maxRounds: e.MATCH_MAX_ROUNDS,
      radiusStartKm: e.MATCH_RADIUS_START_KM,
      radiusStepKm: e.MATCH_RADIUS_STEP_KM,
      radiusCapKm: e.MATCH_RADIUS_CAP_KM,
      pollMs: e.DISPATCH_POLL_MS,
    },
    pricing: {
      detourFactor: e.FARE_DETOUR_FACTOR,
      averageSpeedKmh: e.AVERAGE_SPEED_KMH,
      estimateTtlMs: e.ESTIMATE_TTL_MS,
      estimateToleranceM: e.ESTIMATE_TOLERANCE_M,
      surge: {
        cap: e.SURGE_CAP,
        step: e.SURGE_STEP,
        sensitivity: e.SURGE_SENSITIVITY,
        demandWindowMs: e.SURGE_DEMAND_WINDOW_MS,
        smoothingMs: e.SURGE_SMOOTHING_MS,
        recomputeMs: e.SURGE_RECOMPUTE_MS,
      },
    },
    scheduling: {
      minLeadMs: e.SCHEDULE_MIN_LEAD_MS,
      horizonMs: e.SCHEDULE_HORIZON_MS,
      dispatchLeadMs: e.SCHEDULE_DISPATCH_LEAD_MS,
    },
    positionPushIntervalMs: e.POSITION_PUSH_INTERVAL_MS,
    analytics: { maxWindowMs: e.ANALYTICS_MAX_WINDOW_DAYS * 86_400_000 },
    cityMap: {
      intervalMs: e.CITY_MAP_INTERVAL_MS,
      maxItems: e.CITY_MAP_MAX_ITEMS,
      maxPositions: e.CITY_MAP_MAX_POSITIONS,
      maxRegions: e.CITY_MAP_MAX_REGIONS,
      cellZoom: e.CITY_MAP_CELL_ZOOM,
      detailZoom: e.CITY_MAP_DETAIL_ZOOM,
      start: { lat: startLat, lng: startLng, zoom: startZoom },
    },
  };
}
