// Per-identity rate limits kept in Redis, so they hold across API instances (rate-limiter-flexible,
// fixed windows). Each counter lives on the shard that owns its key (in a cluster: on its slot,
// through the one cluster client); when no shard can answer,
// an in-process limiter with the same budget takes over, so an outage neither opens the gates
// nor locks everyone out. Location updates are limited elsewhere, inside the ping's own script
// (drivers/lua/ping.lua), so they cost no extra round trip.
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitPolicy, Window } from '../config.ts';
import { rateLimited } from '../errors.ts';
import type { Router } from '../redis/router.ts';
import type { ScriptedClient } from '../redis/scripts.ts';

export type LimitName = 'rideRequests' | 'operations' | 'adminOperations' | 'authFailures';

const WHAT: Record<LimitName, string> = {
  rideRequests: 'ride requests',
  operations: 'operations',
  adminOperations: 'admin operations',
  authFailures: 'failed sign-ins from this address',
};
export const LIMIT_NAMES = Object.keys(WHAT) as LimitName[];

export class RateLimits {
  /** One limiter per client and limit: per shard, or a single set for a cluster's one client. */
  private readonly perClient = new Map<ScriptedClient, Map<LimitName, RateLimiterRedis>>();
  private readonly fallback = new Map<LimitName, RateLimiterMemory>();
  private readonly checksUnderway = new Map<string, Promise<RateLimiterRes | null>>();

  constructor(
    private readonly router: Router,
    private readonly policy: Omit<RateLimitPolicy, 'location'>,
    /** Told of every refusal (for metrics). */
    private readonly onRefused: (name: LimitName) => void = () => {},
  ) {
    // Built up front: a limiter defines its Lua command on the client, and ioredis' automatic
    // pipelines created before that would not know the script (their replies then misalign).
    for (const shard of router.shards) for (const name of LIMIT_NAMES) this.limiterOn(name, shard.redis);
  }

  /** Counts `points` against the key's budget; throws RATE_LIMITED (with retryAfterMs) when over. */
  async consume(name: LimitName, key: string, points = 1): Promise<void> {
    const res = await this.run(name, key, (limiter) => limiter.consume(key, points));
    if (res) throw this.refuse(name, res);
  }

  /** Throws RATE_LIMITED when the key already used up its budget (counts nothing). */
  async check(name: LimitName, key: string): Promise<void> {
    const res = await this.sharedCheck(name, key);
    if (res) throw this.refuse(name, res);
  }

  /**
   * A check counts nothing, so checks of one key made while its read is on the way share that
   * read: every socket checks its address before signing in, and a city's drivers behind one
   * carrier NAT reconnect together.
   */
  private sharedCheck(name: LimitName, key: string): Promise<RateLimiterRes | null> {
    const id = `${name}:${key}`;
    let pending = this.checksUnderway.get(id);
    if (!pending) {
      const window = this.policy[name];
      pending = this.run(name, key, async (limiter) => {
        const state = await limiter.get(key);
        if (state && state.consumedPoints >= window.points) throw state;
        return state;
      }).finally(() => this.checksUnderway.delete(id));
      this.checksUnderway.set(id, pending);
    }
    return pending;
  }

  private refuse(name: LimitName, res: RateLimiterRes) {
    this.onRefused(name);
    return rateLimited(WHAT[name], res.msBeforeNext);
  }

  /** Returns the refusal (over the limit) or null; Redis outages fall back to this process. */
  private async run(
    name: LimitName,
    key: string,
    op: (limiter: RateLimiterRedis | RateLimiterMemory) => Promise<unknown>,
  ): Promise<RateLimiterRes | null> {
    const refusal = (err: unknown) => (err instanceof RateLimiterRes ? err : null);
    try {
      await this.router.write(`limit:${name}:${key}`, (redis) => op(this.limiterOn(name, redis)));
      return null;
    } catch (err) {
      if (refusal(err)) return refusal(err);
      try {
        await op(this.memoryLimiter(name));
        return null;
      } catch (memoryErr) {
        if (refusal(memoryErr)) return refusal(memoryErr);
        throw memoryErr;
      }
    }
  }

  private limiterOn(name: LimitName, client: ScriptedClient): RateLimiterRedis {
    let limiters = this.perClient.get(client);
    if (!limiters) this.perClient.set(client, (limiters = new Map()));
    let limiter = limiters.get(name);
    if (!limiter) {
      limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: `rl:${name}`, ...this.windowOf(name) });
      limiters.set(name, limiter);
    }
    return limiter;
  }

  private memoryLimiter(name: LimitName): RateLimiterMemory {
    let limiter = this.fallback.get(name);
    if (!limiter) {
      limiter = new RateLimiterMemory({ keyPrefix: `rl:${name}`, ...this.windowOf(name) });
      this.fallback.set(name, limiter);
    }
    return limiter;
  }

  private windowOf(name: LimitName): { points: number; duration: number } {
    const w: Window = this.policy[name];
    return { points: w.points, duration: Math.max(1, Math.round(w.windowMs / 1000)) };
  }
}
