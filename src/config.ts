// Every knob of the service, read from the environment in one place, with its default.
// loadConfig() is pure (env in, typed config or a readable error out) so tests build configs
// from overrides and main.ts decides what to do with a bad one (one message, exit 1).
import { z } from 'zod';

const DEV_JWT_SECRET = 'ridematch-dev-secret-change-me-0123456789';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const positive = () => z.coerce.number().positive().finite();
const bool = () =>
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(4000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .default('postgresql://postgres@127.0.0.1:5432/ridematch'),
  /** Shards, separated by spaces or semicolons; each `[name=]redis://host:port` or
   *  `[name=]redis+sentinel://h1:p1,h2:p2/mastername`. Unset: local shard processes are started. */
  REDIS_SHARDS: z.string().trim().optional(),
  /** Redis for cross-instance events. Default: the first shard. */
  PUBSUB_REDIS_URL: z.string().trim().optional(),
  LOCAL_REDIS_SHARD_COUNT: int(1, 16).default(3),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  GRAPHIQL: bool().optional(),
  WS_MAX_PAYLOAD_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  SHUTDOWN_GRACE_MS: int(0, 60_000).default(3_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),

  /** A driver not heard from for this long is not available. */
  DRIVER_TTL_MS: int(1_000, 3_600_000).default(30_000),
  /** The per-driver record (out-of-order guard, region pointer, dispatch state) outlives silence this long. */
  DRIVER_RECORD_TTL_MS: int(1_000, 7 * 86_400_000).default(3_600_000),
  SWEEP_INTERVAL_MS: int(50, 600_000).default(5_000),
  SWEEP_BATCH: int(1, 100_000).default(500),
  SHARD_HEALTH_INTERVAL_MS: int(50, 60_000).default(1_000),
  SHARD_DOWN_AFTER_MISSES: int(1, 100).default(3),
  REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(1_000),

  MATCH_BATCH_SIZE: int(1, 100).default(5),
  MATCH_ROUND_TIMEOUT_MS: int(100, 600_000).default(15_000),
  MATCH_MAX_ROUNDS: int(1, 20).default(3),
  MATCH_RADIUS_START_KM: positive().default(1),
  MATCH_RADIUS_STEP_KM: z.coerce.number().min(0).finite().default(2),
  MATCH_RADIUS_CAP_KM: positive().default(5),
  /** How often each instance looks for rides whose round is due (the durable round timer). */
  DISPATCH_POLL_MS: int(10, 60_000).default(250),
});

export type Env = Record<string, string | undefined>;

export interface ShardSpec {
  /** Stable identity used for rendezvous hashing; defaults to the URL. */
  name: string;
  url: string;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  databaseUrl: string;
  /** null = start local redis-server shard processes (development convenience). */
  redisShards: ShardSpec[] | null;
  pubsubRedisUrl: string | null;
  localRedisShardCount: number;
  jwtSecret: string;
  jwtSecretIsDevDefault: boolean;
  graphiql: boolean;
  wsMaxPayloadBytes: number;
  shutdownGraceMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  geo: {
    driverTtlMs: number;
    driverRecordTtlMs: number;
    sweepIntervalMs: number;
    sweepBatch: number;
  };
  shards: {
    healthIntervalMs: number;
    downAfterMisses: number;
    commandTimeoutMs: number;
  };
  match: MatchPolicy;
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

export function parseShardList(value: string): ShardSpec[] {
  return value
    .split(/[\s;]+/)
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf('=');
      const hasName = eq > 0 && !entry.slice(0, eq).includes(':');
      const name = hasName ? entry.slice(0, eq) : entry;
      const url = hasName ? entry.slice(eq + 1) : entry;
      if (!/^redis(\+sentinel)?:\/\/[^/]+/.test(url) && !/^rediss:\/\//.test(url)) {
        throw new ConfigError(`REDIS_SHARDS: "${entry}" is not a redis:// or redis+sentinel:// URL`);
      }
      return { name, url };
    });
}

export function loadConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('Invalid configuration: JWT_SECRET must be set in production');
  }
  const shards = e.REDIS_SHARDS ? parseShardList(e.REDIS_SHARDS) : null;
  if (shards && shards.length === 0) throw new ConfigError('Invalid configuration: REDIS_SHARDS lists no shard');
  if (shards && new Set(shards.map((s) => s.name)).size !== shards.length) {
    throw new ConfigError('Invalid configuration: REDIS_SHARDS names must be unique');
  }
  if (e.MATCH_RADIUS_START_KM > e.MATCH_RADIUS_CAP_KM) {
    throw new ConfigError('Invalid configuration: MATCH_RADIUS_START_KM must not exceed MATCH_RADIUS_CAP_KM');
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redisShards: shards,
    pubsubRedisUrl: e.PUBSUB_REDIS_URL ?? null,
    localRedisShardCount: e.LOCAL_REDIS_SHARD_COUNT,
    jwtSecret: e.JWT_SECRET ?? DEV_JWT_SECRET,
    jwtSecretIsDevDefault: !e.JWT_SECRET,
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== 'production',
    wsMaxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    logLevel: e.LOG_LEVEL,
    geo: {
      driverTtlMs: e.DRIVER_TTL_MS,
      driverRecordTtlMs: e.DRIVER_RECORD_TTL_MS,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      sweepBatch: e.SWEEP_BATCH,
    },
    shards: {
      healthIntervalMs: e.SHARD_HEALTH_INTERVAL_MS,
      downAfterMisses: e.SHARD_DOWN_AFTER_MISSES,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    },
    match: {
      batchSize: e.MATCH_BATCH_SIZE,
      roundTimeoutMs: e.MATCH_ROUND_TIMEOUT_MS,
      maxRounds: e.MATCH_MAX_ROUNDS,
      radiusStartKm: e.MATCH_RADIUS_START_KM,
      radiusStepKm: e.MATCH_RADIUS_STEP_KM,
      radiusCapKm: e.MATCH_RADIUS_CAP_KM,
      pollMs: e.DISPATCH_POLL_MS,
    },
  };
}
