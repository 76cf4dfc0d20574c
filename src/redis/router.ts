// What the rest of the code sees of Redis: a router that runs an operation where a key lives.
// Two implementations: client-side shards over independent primaries (shard-router.ts) and a
// Redis Cluster (cluster-router.ts). Callers never know which one they talk to.
import type { Redis } from 'ioredis';
import type { ScriptedClient } from './scripts.ts';

/** A place where keys live: a shard, or one primary of a cluster. */
export interface Shard {
  readonly name: string;
  /**
   * Runs keyed commands and our scripts on keys that live here. For a shard that is its own
   * connection; in a cluster it is the cluster client, which routes each command by its key's slot.
   */
  readonly redis: ScriptedClient;
  /** A connection to this one server, for what concerns the server rather than a key (SCAN, INFO, DBSIZE). */
  readonly server: Redis;
  readonly healthy: boolean;
}

export interface NodeStatus {
  name: string;
  healthy: boolean;
  /** Cluster nodes only: what the node is now. */
  role?: 'primary' | 'replica';
}

export interface Router {
  /** Every place keys live (for a cluster: its primaries, as they are now). */
  readonly shards: readonly Shard[];
  healthyShards(): Shard[];
  /** Where the key's data lives now. */
  owner(routeKey: string): Shard;
  /**
   * Runs an operation where the key lives (reads too: "write" means "on the owner only").
   * `fallbackTag` is '' at the key's home; a shard router running it on a fallback shard passes a
   * tag that record keys carry there (keys.ts), so copies left from an earlier outage are never read.
   */
  write<T>(routeKey: string, op: (redis: ScriptedClient, fallbackTag: string) => Promise<T>): Promise<T>;
  /**
   * Runs a read everywhere the key's data may be now (a shard router also asks recent owners);
   * slow places are left out, unless `required`: then a slow place fails the read
   * (ShardTimeoutError), for callers to whom "nothing found" must mean "nothing there".
   */
  readAll<T>(routeKey: string, op: (redis: ScriptedClient) => Promise<T>, opts?: { required?: boolean }): Promise<T[]>;
  /**
   * How long until a key that just changed owner has settled (0: settled). Rebuilding a record
   * from Postgres on the new owner waits it out: an operation another instance sent to the old
   * owner may still take effect there, and be missing from what Postgres says yet.
   */
  unsettledForMs(routeKey: string): number;
  /** Whether the key changed owner within the last `windowMs` (its new owner may still be filling up). */
  movedWithin(routeKey: string, windowMs: number): boolean;
  /** Called whenever a shard's (or node's) health flips. */
  onChange(listener: (shard: { name: string; healthy: boolean }) => void): void;
  /** One round of health checks (exported so tests can force one instead of waiting). */
  checkHealth(): Promise<void>;
  /** Names, health and role only: never a URL (it may carry credentials). */
  status(): NodeStatus[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class NoHealthyShardError extends Error {
  override name = 'NoHealthyShardError';
  constructor() {
    super('no Redis shard is reachable');
  }
}

/** A shard that answered too slowly; the operation may have run there. Nothing was retried. */
export class ShardTimeoutError extends Error {
  override name = 'ShardTimeoutError';
  constructor(shard: string) {
    super(`Redis shard ${shard} did not answer in time`);
  }
}
