// Config: defaults with no environment, one clear message for a bad value, shard list syntax.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseShardList } from '../src/config.ts';

describe('loadConfig', () => {
  it('works with no environment at all (local defaults)', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.redisShards).toBeNull();
    expect(c.jwtSecretIsDevDefault).toBe(true);
    expect(c.match).toMatchObject({ batchSize: 5, roundTimeoutMs: 15_000, maxRounds: 3, radiusStartKm: 1, radiusCapKm: 5 });
    expect(c.geo.driverTtlMs).toBe(30_000);
  });

  it('names the bad knob in one message', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ MATCH_BATCH_SIZE: '0' })).toThrow(/MATCH_BATCH_SIZE/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ MATCH_RADIUS_START_KM: '9', MATCH_RADIUS_CAP_KM: '5' })).toThrow(/MATCH_RADIUS_START_KM/);
  });

  it('refuses production without a JWT secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET must be set in production/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).graphiql).toBe(false);
  });
});

describe('REDIS_SHARDS', () => {
  it('parses plain, named and Sentinel shards', () => {
    expect(parseShardList('redis://a:7001 s2=redis://b:7002;sent=redis+sentinel://h1:26379,h2:26380/geo-1')).toEqual([
      { name: 'redis://a:7001', url: 'redis://a:7001' },
      { name: 's2', url: 'redis://b:7002' },
      { name: 'sent', url: 'redis+sentinel://h1:26379,h2:26380/geo-1' },
    ]);
  });

  it('rejects what is not a Redis URL and duplicate names', () => {
    expect(() => parseShardList('http://a:1')).toThrow(/not a redis/);
    expect(() => loadConfig({ REDIS_SHARDS: 'a=redis://x:1 a=redis://y:2' })).toThrow(/unique/);
  });
});
