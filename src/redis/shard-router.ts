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
// - a timed-out command (a slow or frozen shard: it may have run) fails (it is not re-run
//   elsewhere) but is no verdict on the shard: after an event-loop stall every command in flight
//   times out at once, the shard being fine. Only health checks judge: one check per interval,
//   never two at once, and N failed checks in a row mark the shard down;
// - a down shard is up again after M consecutive good checks, and it is emptied before it serves
//   again: whatever it held is stale by then (drivers re-reported elsewhere, claims moved on),
//   and everything in it is re-derivable from Postgres or the next ping.
//
// Emptying works across instances without talking to each other: the shard holds its epoch
// (SHARD_EPOCH_KEY, lua/shard_epoch.lua). Only the first instance to see it back after an outage
// finds the epoch it saw go down; it empties the shard and stamps a new epoch in one script. The
// others find the new epoch and adopt it: a late instance never wipes what was written since.
//
// Keys that live away from their home shard (it is down) are written under a fallback tag (see
// fallbackTag): when the home shard returns, and at its next outage, the copies left from the
// earlier one carry another epoch in their name and are never read again (they expire).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ShardSpec } from '../config.ts';
import type { Logger } from '../logger.ts';
import { failFastOptions, isConnectionLost, isTimeout, redisOptionsFromUrl } from './connection.ts';
import { SHARD_EPOCH_KEY } from './keys.ts';
import { NoHealthyShardError, ShardTimeoutError, type NodeStatus, type Router, type Shard as RouterShard } from './router.ts';
import { defineScripts, type ScriptedRedis } from './scripts.ts';

export interface Shard extends RouterShard {
  readonly url: string;
  readonly redis: ScriptedRedis;
  healthy: boolean;
  /** Consecutive failed health checks. */
  misses: number;
  /** Consecutive good health checks while down. */
  successes: number;
  /** The shard's epoch as this instance last saw it (null: never read, e.g. down since start-up). */
  epoch: string | null;
}

export interface ShardRouterOptions {
  healthIntervalMs: number;
  downAfterMisses: number;
  upAfterSuccesses: number;
  commandTimeoutMs: number;
  /** How long reads keep visiting a key's previous owner after ownership changed. */
  readWindowMs: number;
  /**
   * How long a key counts as moving after its owner changed (unsettledForMs; 0: never). Long
   * enough for every other instance to see the same change (one health interval and one
   * command timeout apart at most), for commands they sent to the old owner before that to
   * have run or timed out (one command timeout), and for what those started to reach Postgres.
   */
  settleMs?: number;
  log?: Pick<Logger, 'info' | 'warn'>;
}

/** What an operation run through write() is told about where it runs. */
export type WriteOp<T> = (redis: ScriptedRedis, fallbackTag: string) => Promise<T>;

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
  /** The health round in flight (or the last one): rounds run one after another, never at once. */
  private healthRound: Promise<void> = Promise.resolve();
  private healthPending = 0;
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
      const shard: Shard = { name: spec.name, url: spec.url, redis, server: redis, healthy: false, misses: 0, successes: 0, epoch: null };
      this.byName.set(spec.name, shard);
      return shard;
    });
    this.memberships = [{ healthy: new Set(), endedAt: null }];
  }

  /** Connects every shard (unreachable ones start as down) and starts the health loop. */
  async start(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.redis.connect().catch(() => {})));
    // At start-up a shard that answers is simply up: there is nothing stale to fence yet. Its
    // epoch is read (or stamped, on a new shard) so a later rejoin knows what it saw.
    await Promise.all(
      this.shards.map(async (shard) => {
        const joined = await this.takeEpoch(shard, false).then(() => true, () => false);
        if (joined) shard.healthy = true;
      }),
    );
    // Startup is not a membership change: nobody wrote to a "previous owner" yet.
    this.memberships = [{ healthy: new Set(this.healthyShards().map((s) => s.name)), endedAt: null }];
    this.timer = setInterval(() => {
      // A round still running (a frozen shard's check waits one command timeout) is not doubled.
      if (this.healthPending === 0) void this.checkHealth().catch(() => {});
    }, this.options.healthIntervalMs);
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
    const horizon = Date.now() - this.options.readWindowMs;
    const owners: Shard[] = [];
    for (const m of this.memberships) {
      if (m.endedAt !== null && m.endedAt < horizon) continue;
      const shard = ranked.find((s) => m.healthy.has(s.name));
      if (shard && shard.healthy && !owners.includes(shard)) owners.push(shard);
    }
    if (owners.length === 0) owners.push(this.owner(key));
    return owners;
  }

  /**
   * How long until the key has had the same owner for the settle window (0: settled). Another
   * instance may still route the key to its previous owner for a moment, and a command it sent
   * there before (a frozen shard runs it on the thaw) may still take effect: what is rebuilt on
   * the new owner from Postgres meanwhile can miss it.
   */
  unsettledForMs(key: string): number {
    const settleMs = this.options.settleMs ?? 0;
    if (settleMs <= 0) return 0;
    this.pruneMemberships();
    const ranked = this.ranked(key);
    // A shard ranked above the owner that answers again while still down here may already serve
    // the key for an instance that never saw it down, or that saw it back sooner: wait until it is
    // back here too (then the move back starts its own window).
    for (const shard of ranked) {
      if (shard.healthy) break;
      if (shard.successes > 0) return settleMs;
    }
    return this.untilOwnerStableFor(key, settleMs);
  }

  /**
   * Whether the key changed owner within the last `windowMs` (at most the memberships kept:
   * max(readWindowMs, settleMs)). A region that moved is refilled by its drivers' next pings.
   */
  movedWithin(key: string, windowMs: number): boolean {
    this.pruneMemberships();
    return this.untilOwnerStableFor(key, windowMs) > 0;
  }

  /** How long until the key has had the same owner for `windowMs` (0: it has). */
  private untilOwnerStableFor(key: string, windowMs: number): number {
    const ranked = this.ranked(key);
    const ownerIn = (m: Membership) => ranked.find((s) => m.healthy.has(s.name));
    const now = Date.now();
    let wait = 0;
    for (let i = 0; i + 1 < this.memberships.length; i++) {
      const ended = this.memberships[i]!;
      if (ownerIn(ended) === ownerIn(this.memberships[i + 1]!)) continue;
      wait = Math.max(wait, ended.endedAt! + windowMs - now);
    }
    return wait;
  }

  /**
   * The tag of a key's records on this shard: '' on the key's home (its top-ranked shard), else
   * the epochs (as this instance knows them) of the down shards ranked above. Instances that saw
   * the same outage agree on it; the next outage of the home shard (which was emptied and got a
   * new epoch when it returned) gives another tag, so copies left from this one are never read.
   */
  fallbackTag(key: string, shard: Shard): string {
    const ranked = this.ranked(key);
    if (ranked[0] === shard) return '';
    const above: string[] = [];
    for (const s of ranked) {
      if (s === shard) break;
      above.push(`${s.name}@${s.epoch ?? '?'}`);
    }
    return above.join(',');
  }

  /**
   * Runs an operation on the key's owner, telling it the fallback tag its record keys carry there.
   * A lost connection marks the owner down and the operation goes to the next-ranked healthy
   * shard; a timeout fails it (ShardTimeoutError), since it may have run.
   */
  async write<T>(key: string, op: WriteOp<T>): Promise<T> {
    const tried = new Set<Shard>();
    for (;;) {
      const shard = this.owner(key, tried);
      try {
        return await op(shard.redis, this.fallbackTag(key, shard));
      } catch (err) {
        this.judgeFailure(shard, err);
        tried.add(shard);
      }
    }
  }

  /**
   * Runs a read on every read owner of the key and returns all answers. A shard whose connection
   * is lost is replaced by the next-ranked healthy shard that was not asked yet; a slow one is
   * left out of this answer, unless `required` (then the read fails with ShardTimeoutError: an
   * unreadable area is not an empty one).
   */
  async readAll<T>(key: string, op: (redis: ScriptedRedis) => Promise<T>, opts: { required?: boolean } = {}): Promise<T[]> {
    const asked = new Set<Shard>();
    const run = async (shard: Shard): Promise<T[]> => {
      asked.add(shard);
      try {
        return [await op(shard.redis)];
      } catch (err) {
        try {
          this.judgeFailure(shard, err);
        } catch (failure) {
          if (failure instanceof ShardTimeoutError && !opts.required) return [];
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
    // No miss counted: a stalled event loop times out every command in flight at once.
    if (isTimeout(err)) throw new ShardTimeoutError(shard.name);
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

  /**
   * Joins (start-up) or rejoins (after an outage: fence) the shard's current incarnation; see
   * lua/shard_epoch.lua. True when this call emptied the shard.
   */
  private async takeEpoch(shard: Shard, fence: boolean): Promise<boolean> {
    const fresh = randomBytes(6).toString('hex');
    const [epoch, verdict] = (await shard.redis.shardEpoch(SHARD_EPOCH_KEY, shard.epoch ?? '', fresh, fence ? '1' : '0')) as [string, string];
    shard.epoch = epoch;
    return verdict === 'fenced';
  }

  /** A good health check (`epoch`: what the shard holds now). After M in a row a down shard is fenced, then serves again. */
  private async goodCheck(shard: Shard, epoch: string | null): Promise<void> {
    shard.misses = 0;
    if (shard.healthy) {
      // Another instance emptied it (an outage this instance did not see), or it restarted
      // empty between two checks: adopt what it is now, so fallback tags agree across instances.
      if (epoch !== shard.epoch) {
        const emptied = await this.takeEpoch(shard, true).catch(() => false);
        this.log.info({ shard: shard.name, emptied }, 'shard has a new epoch (emptied while it was up for this instance)');
      }
      return;
    }
    shard.successes += 1;
    if (shard.successes < this.options.upAfterSuccesses) return;
    let emptied: boolean;
    try {
      emptied = await this.takeEpoch(shard, true);
    } catch {
      shard.successes = 0;
      return;
    }
    shard.healthy = true;
    shard.successes = 0;
    this.log.info(
      { shard: shard.name, emptied },
      emptied ? 'shard is up (emptied: what it held before is stale)' : 'shard is up (another instance emptied it already)',
    );
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
    const horizon = Date.now() - Math.max(this.options.readWindowMs, this.options.settleMs ?? 0);
    this.memberships = this.memberships.filter((m) => m.endedAt === null || m.endedAt >= horizon);
  }

  /**
   * One health round: each shard's epoch read (the read is the PING). Rounds never overlap: a
   * call waits for the round in flight, then runs its own. Public for tests that want to force a
   * round instead of waiting.
   */
  checkHealth(): Promise<void> {
    this.healthPending += 1;
    const round = this.healthRound.then(() => this.healthOnce());
    this.healthRound = round.catch(() => {}).finally(() => (this.healthPending -= 1));
    return round;
  }

  private async healthOnce(): Promise<void> {
    await Promise.all(
      this.shards.map(async (shard) => {
        let epoch: string | null;
        try {
          epoch = await shard.redis.get(SHARD_EPOCH_KEY);
        } catch (err) {
          if (isConnectionLost(err)) this.markDown(shard, (err as Error).message);
          else this.miss(shard, 'health check');
          return;
        }
        await this.goodCheck(shard, epoch);
      }),
    );
  }

  /** Names and health only: never a URL (it may carry credentials). */
  status(): NodeStatus[] {
    return this.shards.map((s) => ({ name: s.name, healthy: s.healthy }));
  }
}
