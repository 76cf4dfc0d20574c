// Config: defaults with no environment, one clear message for a bad value, shard list syntax.
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, loadConfig, parseClusterUrl, parseShardList } from '../src/config.ts';

describe('loadConfig', () => {
  it('works with no environment at all (local defaults)', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.redisShards).toBeNull();
    expect(c.jwtSecretIsDevDefault).toBe(true);
    expect(c.match).toMatchObject({ batchSize: 5, roundTimeoutMs: 15_000, maxRounds: 3, radiusStartKm: 1, radiusCapKm: 5 });
    expect(c.geo.driverTtlMs).toBe(30_000);
    expect(c.persistedOperations).toBe('allow');
  });

  it('names the bad knob in one message', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ MATCH_BATCH_SIZE: '0' })).toThrow(/MATCH_BATCH_SIZE/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ MATCH_RADIUS_START_KM: '9', MATCH_RADIUS_CAP_KM: '5' })).toThrow(/MATCH_RADIUS_START_KM/);
    expect(() => loadConfig({ PERSISTED_OPERATIONS: 'strict' })).toThrow(/PERSISTED_OPERATIONS/);
  });

  it('refuses any environment but development and test without a real JWT secret (issue 9, acceptance 4)', () => {
    const prod = { JWT_SECRET: 'x'.repeat(32), PUBSUB_REDIS_URL: 'redis://bus:6379' };
    for (const NODE_ENV of ['production', 'staging', 'anything']) {
      expect(() => loadConfig({ NODE_ENV })).toThrow(/JWT_SECRET must be set/);
      expect(() => loadConfig({ NODE_ENV, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32 characters/);
      expect(() => loadConfig({ NODE_ENV, JWT_SECRET: DEV_JWT_SECRET })).toThrow(/public development secret/);
      expect(loadConfig({ NODE_ENV, ...prod })).toMatchObject({ isDevelopment: false, graphiql: false, introspection: false, corsOrigins: [] });
    }
    for (const NODE_ENV of ['development', 'test']) {
      expect(loadConfig({ NODE_ENV })).toMatchObject({ isDevelopment: true, jwtSecretIsDevDefault: true, introspection: true });
    }
    expect(loadConfig({ NODE_ENV: 'production', ...prod, INTROSPECTION: 'true', GRAPHIQL: 'true' })).toMatchObject({ introspection: true, graphiql: true });
    // Persisted operations stay 'allow' in production too: 'only' is a deployment's choice.
    expect(loadConfig({ NODE_ENV: 'production', ...prod })).toMatchObject({ persistedOperations: 'allow' });
    expect(loadConfig({ NODE_ENV: 'production', ...prod, PERSISTED_OPERATIONS: 'only' })).toMatchObject({ persistedOperations: 'only' });
  });

  it('serves /metrics nowhere by default, on its own port or behind a token (Operate it, acceptance 4)', () => {
    expect(loadConfig({}).metrics).toEqual({ port: null, token: null });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: 't'.repeat(16) }).metrics).toEqual({ port: 9464, token: 't'.repeat(16) });
    expect(loadConfig({ METRICS_PORT: '0' }).metrics.port).toBe(0);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN: must be at least 16 characters/);
    expect(() => loadConfig({ METRICS_PORT: '4000' })).toThrow(/METRICS_PORT must differ from PORT/);
    expect(() => loadConfig({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/);
  });

  it('never echoes a bad value back (it may be a secret)', () => {
    expect(() => loadConfig({ JWT_SECRET: 'hunter2-short' })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ JWT_SECRET: 'hunter2-short' })).not.toThrow(/hunter2/);
    expect(() => parseShardList('redis+x://:pw@h:1')).not.toThrow(/pw/);
  });
});

describe('REDIS_SHARDS', () => {
  it('parses plain, named and Sentinel shards', () => {
    expect(parseShardList('redis://a:7001 s2=redis://b:7002;sent=redis+sentinel://h1:26379,h2:26380/geo-1')).toEqual([
      { name: 'a:7001', url: 'redis://a:7001' },
      { name: 's2', url: 'redis://b:7002' },
      { name: 'sent', url: 'redis+sentinel://h1:26379,h2:26380/geo-1' },
    ]);
  });

  it('names an unnamed shard by host:port, never with its credentials (issue 9, acceptance 9)', () => {
    expect(parseShardList('redis://:s3cret@cache.internal:6380/2 redis+sentinel://u:p@h1:26379,h2:26379/geo')).toEqual([
      { name: 'cache.internal:6380/2', url: 'redis://:s3cret@cache.internal:6380/2' },
      { name: 'h1:26379,h2:26379/geo', url: 'redis+sentinel://u:p@h1:26379,h2:26379/geo' },
    ]);
  });

  it('rejects what is not a Redis URL and duplicate names', () => {
    expect(() => parseShardList('http://a:1')).toThrow(/not a redis/);
    expect(() => loadConfig({ REDIS_SHARDS: 'a=redis://x:1 a=redis://y:2' })).toThrow(/unique/);
  });
});

describe('REDIS_CLUSTER and WORKERS', () => {
  it('parses seed nodes and credentials, exclusive with REDIS_SHARDS', () => {
    expect(loadConfig({ REDIS_CLUSTER: 'redis://10.0.0.1:7000,10.0.0.2:7001,node-3' }).redisCluster).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: 'node-3', port: 6379 },
      ],
      tls: false,
    });
    expect(parseClusterUrl('rediss://app:p%40ss@h1:7000,h2:7000')).toEqual({ nodes: [{ host: 'h1', port: 7000 }, { host: 'h2', port: 7000 }], tls: true, username: 'app', password: 'p@ss' });
    expect(loadConfig({ REDIS_CLUSTER: 'redis://h1:7000' }).redisShards).toBeNull();
    expect(() => loadConfig({ REDIS_CLUSTER: 'redis://h1:7000', REDIS_SHARDS: 'redis://a:1' })).toThrow(/REDIS_SHARDS or REDIS_CLUSTER, not both/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'http://h1:7000' })).toThrow(/REDIS_CLUSTER/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'redis://h1:99999' })).toThrow(/REDIS_CLUSTER: "h1:99999" is not host:port/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'redis://:s3cret@h1:x' })).not.toThrow(/s3cret/);
    // Production needs its own bus with a cluster, as with shards.
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), REDIS_CLUSTER: 'redis://h1:7000' })).toThrow(/PUBSUB_REDIS_URL must be set/);
  });

  it('takes 1 to 64 workers, 1 by default', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '4' }).workers).toBe(4);
    expect(() => loadConfig({ WORKERS: '0' })).toThrow(/WORKERS/);
    expect(() => loadConfig({ WORKERS: 'two' })).toThrow(/WORKERS/);
  });
});
