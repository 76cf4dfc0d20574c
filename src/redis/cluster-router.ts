// A Redis Cluster behind the same Router interface as the client-side shards. ioredis' Cluster
// client routes every command by its key's slot (our keys carry {hash tags}, so the keys of one
// script, or of one MULTI, share a slot), follows MOVED/ASK, and retries a command whose node
// connection closed for a short while (100 ms apart, at most 16 times) while it re-reads the slot
// map, which rides out most of a failover.
//
// What the shard router does for itself, the cluster does here: when a primary dies its replica
// is promoted with the data it had replicated, so there is no rendezvous, no moving keys to other
// shards and no fencing on rejoin (a node that comes back rejoins as a replica and resyncs).
// What stays ours: per-node health (PING, with the same hysteresis) for /ready and logs, and the
// list of primaries the sweeper SCANs.
import { Cluster, type Redis } from 'ioredis';
import type { ClusterSpec } from '../config.ts';
import type { Logger } from '../logger.ts';
import { isConnectionLost, isTimeout } from './connection.ts';
import { NoHealthyShardError, ShardTimeoutError, type NodeStatus, type Router, type Shard } from './router.ts';
import { defineScripts, type ScriptedClient, type ScriptedCluster } from './scripts.ts';

export interface ClusterRouterOptions {
  healthIntervalMs: number;
  downAfterMisses: number;
  upAfterSuccesses: number;
  commandTimeoutMs: number;
  log?: Pick<Logger, 'info' | 'warn'>;
}

interface NodeHealth {
  name: string;
  role: 'primary' | 'replica';
  healthy: boolean;
  misses: number;
  successes: number;
}

const SLOTS = 16384;

/** CRC16-XMODEM of the key's hash tag (or of the whole key), as Redis Cluster computes slots. */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}

/** Cluster unavailable for this slot (no primary serves it now, or none could be reached in time). */
function isUnavailable(err: unknown): boolean {
  return (
    isConnectionLost(err) ||
    (err instanceof Error && /^CLUSTERDOWN|Too many Cluster redirections|Cluster isn't ready|Cluster is ended|No (sharded )?subscriber/.test(err.message))
  );
}

/** The slot is served elsewhere now (MOVED) or is moving (ASK): the command was not run. */
const isRedirect = (err: unknown) => err instanceof Error && /^(MOVED|ASK) \d+ /.test(err.message);
const MAX_REDIRECTS = 3;

const nodeName = (node: Redis) => `${node.options.host}:${node.options.port}`;

export class ClusterRouter implements Router {
  private readonly cluster: ScriptedCluster;
  /** Every node seen so far, by host:port; one that left the slot map stays listed, as down. */
  private readonly health = new Map<string, NodeHealth>();
  private readonly listeners: Array<(node: { name: string; healthy: boolean }) => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Pick<Logger, 'info' | 'warn'>;

  constructor(
    spec: ClusterSpec,
    private readonly options: ClusterRouterOptions,
  ) {
    this.log = options.log ?? { info: () => {}, warn: () => {} };
    this.cluster = defineScripts(
      new Cluster(spec.nodes, {
        lazyConnect: true,
        // Fail fast rather than queue behind a reconnect (a closed node connection is still
        // retried by the client against the refreshed slot map, see above).
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        scaleReads: 'master',
        clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
        slotsRefreshTimeout: options.commandTimeoutMs,
        // Re-read the slot map as often as we check health, so a promoted replica (or a new one)
        // is known within one interval even if no command failed. Set on purpose: ioredis 6
        // documents a 5 s default but sets none, and then never re-reads the map by itself.
        slotsRefreshInterval: options.healthIntervalMs,
        redisOptions: {
          commandTimeout: options.commandTimeoutMs,
          maxRetriesPerRequest: 0,
          username: spec.username,
          password: spec.password,
          tls: spec.tls ? {} : undefined,
        },
      }),
    );
    this.cluster.on('error', () => {}); // surfaced through health checks and failed commands
  }

  async start(): Promise<void> {
    await this.cluster.connect();
    // At start-up a node that answers is simply up.
    await this.checkHealth(true);
    this.timer = setInterval(() => void this.checkHealth(), this.options.healthIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.cluster.quit().catch(() => this.cluster.disconnect());
  }

  onChange(listener: (node: { name: string; healthy: boolean }) => void): void {
    this.listeners.push(listener);
  }

  /** The primaries as the client knows them now (each a Shard whose keyed commands go through the cluster client). */
  get shards(): Shard[] {
    return this.cluster.nodes('master').map((server) => {
      const name = nodeName(server);
      return { name, redis: this.cluster as ScriptedClient, server, healthy: this.health.get(name)?.healthy ?? false };
    });
  }

  healthyShards(): Shard[] {
    return this.shards.filter((s) => s.healthy);
  }

  /**
   * Always settled: the cluster itself moves a slot (a replica promoted), so every client writes
   * a key in one place at a time; there is no second copy of a record to race.
   */
  unsettledForMs(): number {
    return 0;
  }

  /** Never: a promoted replica has its primary's data (the cluster moves slots with their keys). */
  movedWithin(): boolean {
    return false;
  }

  /**
   * The primary serving the route key's slot. A route key `<kind>:<id>` names keys tagged `{<id>}`
   * (see keys.ts), so its slot is that of the tag.
   */
  owner(routeKey: string): Shard {
    const primary = this.cluster.slots[slotOf(`{${routeKey.slice(routeKey.indexOf(':') + 1)}}`)]?.[0];
    const shard = this.shards.find((s) => s.name === primary);
    if (!shard) throw new NoHealthyShardError();
    return shard;
  }

  /** Runs the operation on the cluster client (routed by slot). Unavailable → NoHealthyShardError; slow → ShardTimeoutError. */
  async write<T>(routeKey: string, op: (redis: ScriptedClient, fallbackTag: string) => Promise<T>): Promise<T> {
    for (let redirects = 0; ; redirects++) {
      try {
        // One copy of each key in a cluster: there is no fallback, so no fallback tag.
        return await op(this.cluster as ScriptedClient, '');
      } catch (err) {
        // An automatically pipelined command answered MOVED/ASK (its slot moved: a failover)
        // reaches us as it is: ioredis re-sends a pipeline only when every command in it got the
        // same answer. The command did not run, so it runs again once the slot map is re-read.
        if (isRedirect(err) && redirects < MAX_REDIRECTS) {
          await new Promise<void>((resolve) => this.cluster.refreshSlotsCache(() => resolve()));
          continue;
        }
        if (isTimeout(err)) throw new ShardTimeoutError(this.ownerName(routeKey));
        if (isUnavailable(err) || isRedirect(err)) throw new NoHealthyShardError();
        throw err;
      }
    }
  }

  /** One copy of the data exists (the slot's primary): its answer, or none when it is slow or away. */
  async readAll<T>(routeKey: string, op: (redis: ScriptedClient) => Promise<T>, opts: { required?: boolean } = {}): Promise<T[]> {
    try {
      return [await this.write(routeKey, op)];
    } catch (err) {
      if (!opts.required && (err instanceof ShardTimeoutError || err instanceof NoHealthyShardError)) return [];
      throw err;
    }
  }

  /** PINGs every node the client knows; a node that left the slot map (a failed primary) is down. */
  async checkHealth(starting = false): Promise<void> {
    const nodes = this.cluster.nodes('all');
    const primaries = new Set(this.cluster.nodes('master'));
    const present = new Set<string>();
    await Promise.all(
      nodes.map(async (node) => {
        const name = nodeName(node);
        present.add(name);
        let h = this.health.get(name);
        if (!h) this.health.set(name, (h = { name, role: 'replica', healthy: false, misses: 0, successes: 0 }));
        h.role = primaries.has(node) ? 'primary' : 'replica';
        try {
          await node.ping();
          if (starting) h.healthy = true;
          else this.good(h);
        } catch (err) {
          if (isConnectionLost(err)) this.down(h, (err as Error).message);
          else this.miss(h);
        }
      }),
    );
    for (const h of this.health.values()) if (!present.has(h.name)) this.down(h, 'left the cluster slot map');
  }

  status(): NodeStatus[] {
    return [...this.health.values()].map(({ name, healthy, role }) => ({ name, healthy, role }));
  }

  private ownerName(routeKey: string): string {
    try {
      return this.owner(routeKey).name;
    } catch {
      return 'cluster';
    }
  }

  private good(h: NodeHealth): void {
    h.misses = 0;
    if (h.healthy) return;
    if (++h.successes < this.options.upAfterSuccesses) return;
    h.healthy = true;
    h.successes = 0;
    this.log.info({ node: h.name, role: h.role }, 'cluster node is up');
    this.changed(h);
  }

  private miss(h: NodeHealth): void {
    h.successes = 0;
    if (++h.misses >= this.options.downAfterMisses) this.down(h, `${h.misses} missed health checks in a row`);
  }

  private down(h: NodeHealth, reason: string): void {
    h.successes = 0;
    if (!h.healthy) return;
    h.healthy = false;
    this.log.warn({ node: h.name, role: h.role, reason }, 'cluster node is down; the cluster fails its slots over to a replica');
    this.changed(h);
  }

  private changed(h: NodeHealth): void {
    for (const listener of this.listeners) listener({ name: h.name, healthy: h.healthy });
  }
}
