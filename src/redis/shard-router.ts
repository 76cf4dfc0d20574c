// Client-side sharding over independent Redis primaries (plain or Sentinel-managed).
//
// A key (a region, a driver, a ride) belongs to the healthy shard with the highest rendezvous
// weight for it. When a shard goes down only the keys it owned move (to their next-ranked shard),
// and they move back when it recovers. Location data needs no migration: drivers re-report every
// ~10 s, so the new owner is refilled within one report interval. For one liveness window after a
// membership change, reads also go to the previous owner (readOwners) so nobody disappears while
// the new owner fills up; callers deduplicate.
//
// Failure detection, with hysteresis so a slow shard does not flap:
// - a shard whose connection is gone (refused, closed, reset: the command never ran) is down at
//   once, and the operation is retried on the next-ranked shard, so a dead shard never surfaces
//   as an error;
// - a timeout (a slow or frozen shard: the command may have run) counts as one miss, like a
//   failed PING; the operation fails (it is not re-run elsewhere) and after N consecutive misses
//   the shard is down;
// - a down shard is up again after M consecutive good PINGs, and it is emptied (FLUSHDB) before
//   it serves again: whatever it held is stale by then (drivers re-reported elsewhere, claims
//   moved on), and everything in it is re-derivable from Postgres or the next ping.
import { Redis } from 'ioredis';
import type { ShardSpec } from '../config.ts';
import type { Logger } from '../logger.ts';
import { failFastOptions, isConnectionLost, isTimeout, redisOptionsFromUrl } from './connection.ts';
import { NoHealthyShardError, ShardTimeoutError, type NodeStatus, type Router, type Shard as RouterShard } from './router.ts';
import { defineScripts, type ScriptedRedis } from './scripts.ts';

export interface Shard extends RouterShard {
  readonly url: string;
  readonly redis: ScriptedRedis;
  healthy: boolean;
  /** Consecutive failed PINGs or timed-out commands. */
  misses: number;
  /** Consecutive good PINGs while down. */
  successes: number;
}

export interface ShardRouterOptions {
  healthIntervalMs: number;
  downAfterMisses: number;
  upAfterSuccesses: number;
  commandTimeoutMs: number;
  /** How long reads keep visiting a key's previous owner after ownership changed. */
  readWindowMs: number;
  log?: Pick<Logger, 'info' | 'warn'>;
}

interface Membership {
  healthy: ReadonlySet<string>;
  endedAt: number | null;
}

/** Rankings cached (regions and active drivers); the cache is simply dropped when full. */
const MAX_CACHED_RANKINGS = 200_000;

/** 32-bit FNV-1a with a murmur3 finalizer: cheap, and well spread for rendezvous weights. */
function weight(shardName: string, key: string): number {
  let h = 0x811c9dc5;
  const s = `${shardName}\u0000${key}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class ShardRouter implements Router {
  readonly shards: Shard[];
  private readonly byName = new Map<string, Shard>();
  private memberships: Membership[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Pick<Logger, 'info' | 'warn'>;
  private readonly listeners: Array<(shard: Shard) => void> = [];
  private readonly rankings = new Map<string, Shard[]>();

  constructor(
    specs: ShardSpec[],
    private readonly options: ShardRouterOptions,
  ) {
    if (specs.length === 0) throw new Error('at least one Redis shard is required');
    this.log = options.log ?? { info: () => {}, warn: () => {} };
    this.shards = specs.map((spec) => {
      const redis = defineScripts(
        new Redis({ ...redisOptionsFromUrl(spec.url), ...failFastOptions(options.commandTimeoutMs) }),
      );
      redis.on('error', () => {}); // surfaced through health checks and failed commands
      const shard: Shard = { name: spec.name, url: spec.url, redis, server: redis, healthy: false, misses: 0, successes: 0 };
      this.byName.set(spec.name, shard);
      return shard;
    });
    this.memberships = [{ healthy: new Set(), endedAt: null }];
  }

  /** Connects every shard (unreachable ones start as down) and starts the health loop. */
  async start(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.redis.connect().catch(() => {})));
    // At start-up a shard that answers is simply up: there is nothing stale to fence yet.
    await Promise.all(
      this.shards.map(async (shard) => {
        if (await shard.redis.ping().then(() => true, () => false)) shard.healthy = true;
      }),
    );
    // Startup is not a membership change: nobody wrote to a "previous owner" yet.
    this.memberships = [{ healthy: new Set(this.healthyShards().map((s) => s.name)), endedAt: null }];
    this.timer = setInterval(() => void this.checkHealth(), this.options.healthIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.shards.map((s) => s.redis.quit().catch(() => s.redis.disconnect())));
  }

  /** Called with a shard whenever its health flips (for logging, metrics, tests). */
  onChange(listener: (shard: Shard) => void): void {
    this.listeners.push(listener);
  }

  healthyShards(): Shard[] {
    return this.shards.filter((s) => s.healthy);
  }

  /**
   * Every shard, best first, for this key (ignores health, so it can be cached: it only changes
   * when the shard list does). Computed on every location ping, hence the bounded cache.
   */
  ranked(key: string): Shard[] {
    let ranking = this.rankings.get(key);
    if (!ranking) {
      const weights = new Map(this.shards.map((s) => [s, weight(s.name, key)]));
      ranking = [...this.shards].sort((a, b) => weights.get(b)! - weights.get(a)!);
      if (this.rankings.size >= MAX_CACHED_RANKINGS) this.rankings.clear();
      this.rankings.set(key, ranking);
    }
    return ranking;
  }

  /** The healthy shard that owns the key now. */
  owner(key: string, exclude: ReadonlySet<Shard> = new Set()): Shard {
    for (const shard of this.ranked(key)) if (shard.healthy && !exclude.has(shard)) return shard;
    throw new NoHealthyShardError();
  }

  /** The current owner plus, within the read window after a change, the previous owners (healthy only). */
  readOwners(key: string): Shard[] {
    this.pruneMemberships();
    const ranked = this.ranked(key);
    const owners: Shard[] = [];
    for (const m of this.memberships) {
      const shard = ranked.find((s) => m.healthy.has(s.name));
      if (shard && shard.healthy && !owners.includes(shard)) owners.push(shard);
    }
    if (owners.length === 0) owners.push(this.owner(key));
    return owners;
  }

  /**
   * Runs an operation on the key's owner. A lost connection marks the owner down and the
   * operation goes to the next-ranked healthy shard; a timeout counts as a miss and fails it
   * (ShardTimeoutError), since it may have run.
   */
  async write<T>(key: string, op: (redis: ScriptedRedis) => Promise<T>): Promise<T> {
    const tried = new Set<Shard>();
    for (;;) {
      const shard = this.owner(key, tried);
      try {
        const result = await op(shard.redis);
        shard.misses = 0;
        return result;
      } catch (err) {
        this.judgeFailure(shard, err);
        tried.add(shard);
      }
    }
  }

  /**
   * Runs a read on every read owner of the key and returns all answers. A shard whose connection
   * is lost is replaced by the next-ranked healthy shard that was not asked yet; a slow one is
   * left out of this answer.
   */
  async readAll<T>(key: string, op: (redis: ScriptedRedis) => Promise<T>): Promise<T[]> {
    const asked = new Set<Shard>();
    const run = async (shard: Shard): Promise<T[]> => {
      asked.add(shard);
      try {
        const result = await op(shard.redis);
        shard.misses = 0;
        return [result];
      } catch (err) {
        try {
          this.judgeFailure(shard, err);
        } catch (failure) {
          if (failure instanceof ShardTimeoutError) return [];
          throw failure;
        }
        const next = this.ranked(key).find((s) => s.healthy && !asked.has(s));
        return next ? run(next) : [];
      }
    };
    const results = await Promise.all(this.readOwners(key).map(run));
    return results.flat();
  }

  /** Returns when the operation may be retried elsewhere (lost connection); throws otherwise. */
  private judgeFailure(shard: Shard, err: unknown): void {
    if (isConnectionLost(err)) {
      this.markDown(shard, (err as Error).message);
      return;
    }
    if (isTimeout(err)) {
      this.miss(shard, 'command timed out');
      throw new ShardTimeoutError(shard.name);
    }
    throw err;
  }

  private miss(shard: Shard, reason: string): void {
    shard.misses += 1;
    shard.successes = 0;
    if (shard.healthy && shard.misses >= this.options.downAfterMisses) this.markDown(shard, `${reason}, ${shard.misses} misses in a row`);
  }

  markDown(shard: Shard, reason: string): void {
    shard.successes = 0;
    if (!shard.healthy) return;
    shard.healthy = false;
    this.log.warn({ shard: shard.name, reason }, 'shard is down; its keys move to the next-ranked shards');
    this.membershipChanged(shard);
  }

  /** After M good PINGs in a row: emptied (its data is stale), then serving again. */
  private async goodPing(shard: Shard): Promise<void> {
    shard.misses = 0;
    if (shard.healthy) return;
    shard.successes += 1;
    if (shard.successes < this.options.upAfterSuccesses) return;
    try {
      await shard.redis.flushdb('ASYNC');
    } catch {
      shard.successes = 0;
      return;
    }
    shard.healthy = true;
    shard.successes = 0;
    this.log.info({ shard: shard.name }, 'shard is up (emptied: what it held before is stale)');
    this.membershipChanged(shard);
  }

  private membershipChanged(shard: Shard): void {
    const now = Date.now();
    const current = this.memberships[this.memberships.length - 1];
    if (current) current.endedAt = now;
    this.memberships.push({ healthy: new Set(this.healthyShards().map((s) => s.name)), endedAt: null });
    this.pruneMemberships();
    for (const listener of this.listeners) listener(shard);
  }

  private pruneMemberships(): void {
    const horizon = Date.now() - this.options.readWindowMs;
    this.memberships = this.memberships.filter((m) => m.endedAt === null || m.endedAt >= horizon);
  }

  /** One PING per shard; exported for tests that want to force a round instead of waiting. */
  async checkHealth(): Promise<void> {
    await Promise.all(
      this.shards.map(async (shard) => {
        let ok = false;
        try {
          await shard.redis.ping();
          ok = true;
        } catch (err) {
          if (isConnectionLost(err)) this.markDown(shard, (err as Error).message);
          else this.miss(shard, 'health check');
        }
        if (ok) await this.goodPing(shard);
      }),
    );
  }

  /** Names and health only: never a URL (it may carry credentials). */
  status(): NodeStatus[] {
    return this.shards.map((s) => ({ name: s.name, healthy: s.healthy }));
  }
}
