// The processes of a chaos run: a private PostgreSQL, three Redis shards, a separate event-bus
// Redis and two API instances (src/main.ts as real child processes, each on a port it keeps
// across restarts, its log in the run's folder). Every process here can be killed, frozen and
// brought back; that is what the fault schedule does with them.
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { ensureDatabase } from '../../db/admin.ts';
import { migrate } from '../../db/migrate.ts';
import { freePort, startLocalRedis, type LocalRedis } from '../../redis/local-servers.ts';
import { spawnMain } from '../server-process.ts';
import { PrivatePostgres } from './private-postgres.ts';

/** Short timings so a minute holds many rounds, expiries, reconciliations and failovers. */
export const CHAOS_KNOBS = {
  MATCH_ROUND_TIMEOUT_MS: '3000',
  MATCH_MAX_ROUNDS: '3',
  MATCH_BATCH_SIZE: '3',
  MATCH_RADIUS_START_KM: '1',
  MATCH_RADIUS_STEP_KM: '1',
  MATCH_RADIUS_CAP_KM: '3',
  DISPATCH_POLL_MS: '200',
  DRIVER_TTL_MS: '10000',
  RECONCILE_INTERVAL_MS: '3000',
  SWEEP_INTERVAL_MS: '1000',
  SHARD_HEALTH_INTERVAL_MS: '200',
  SHARD_DOWN_AFTER_MISSES: '3',
  SHARD_UP_AFTER_SUCCESSES: '3',
  REDIS_COMMAND_TIMEOUT_MS: '500',
  BUS_PUBLISH_TIMEOUT_MS: '250',
  SHUTDOWN_GRACE_MS: '1000',
  // Generous limits: the run is about faults, not about abuse.
  LOCATION_RATE_PER_S: '100',
  LOCATION_BURST: '100',
  RIDE_REQUEST_LIMIT: '10000',
  OPERATION_LIMIT: '1000000',
  ADMIN_OPERATION_LIMIT: '1000000',
  AUTH_FAILURE_LIMIT: '10000',
  // Slots of a killed instance's sockets only expire (90 s): room for several reconnects.
  WS_MAX_SOCKETS_PER_IDENTITY: '50',
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '100',
} as const;

export const CHAOS_JWT_SECRET = 'chaos-secret-0123456789-0123456789-abcdef';

/** The balancer's view: where each instance listens and whether it serves now. */
export interface Endpoints {
  readonly count: number;
  url(instance: number): string;
  isUp(instance: number): boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One API instance: src/main.ts on a fixed port, restartable after a kill. */
export class ApiInstance {
  private child: ChildProcess | null = null;
  private paused = false;

  constructor(
    readonly index: number,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Running, not frozen, and it answered /ready since it was (re)started. */
  get up(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null && !this.paused;
  }

  /**
   * Spawns the server and waits for /ready. A start can fail while Postgres is down (migrations
   * run at start-up): then it is spawned again, as a supervisor would.
   */
  async start(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const log = openSync(this.logFile, 'a');
      const child = spawnMain({ ...this.env, PORT: String(this.port) }, { stdio: ['ignore', log, log] });
      closeSync(log);
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) break;
        const ready = await fetch(`http://127.0.0.1:${this.port}/ready`).then((r) => r.ok, () => false);
        if (ready) {
          this.child = child;
          this.paused = false;
          return;
        }
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`API instance ${this.index + 1} did not become ready (log: ${this.logFile})`);
        }
        await sleep(100);
      }
      if (Date.now() > deadline) throw new Error(`API instance ${this.index + 1} kept exiting at start-up (log: ${this.logFile})`);
      await sleep(500);
    }
  }

  /** SIGKILL, and wait until the process is gone (its port is free again). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  pause(): void {
    this.paused = true;
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  /** For exit handlers: no waiting. */
  killNow(): void {
    this.child?.kill('SIGCONT');
    this.child?.kill('SIGKILL');
  }
}

export interface ClusterOptions {
  /** Where the API instances write their logs. */
  logDir: string;
  /** Extra environment for the API instances (overrides CHAOS_KNOBS). */
  env?: Record<string, string>;
}

export class Cluster implements Endpoints {
  private readonly onExit = () => this.instances.forEach((i) => i.killNow());

  private constructor(
    readonly postgres: PrivatePostgres,
    readonly databaseUrl: string,
    readonly shards: LocalRedis[],
    readonly bus: LocalRedis,
    /** As the API instances name them: the name is the shard's identity for hashing. */
    readonly shardSpecs: Array<{ name: string; url: string }>,
    readonly instances: ApiInstance[],
  ) {
    // Redis and Postgres die with this process (parent-death signal); the API instances do not.
    process.once('exit', this.onExit);
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const postgres = await PrivatePostgres.create();
    const databaseUrl = postgres.url('ridematch');
    let shards: LocalRedis[] = [];
    let bus: LocalRedis | undefined;
    try {
      await postgres.start();
      await ensureDatabase(databaseUrl);
      await migrate(databaseUrl);
      shards = await startLocalRedis(3);
      [bus] = await startLocalRedis(1);
    } catch (err) {
      await Promise.all(shards.map((s) => s.stop()));
      await postgres.destroy();
      throw err;
    }
    const shardSpecs = shards.map((s, i) => ({ name: `s${i + 1}`, url: s.url }));
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      REDIS_SHARDS: shardSpecs.map((s) => `${s.name}=${s.url}`).join(' '),
      PUBSUB_REDIS_URL: bus!.url,
      JWT_SECRET: CHAOS_JWT_SECRET,
      ...CHAOS_KNOBS,
      ...options.env,
    };
    const instances = await Promise.all(
      [0, 1].map(async (i) => new ApiInstance(i, await freePort(), env, path.join(options.logDir, `api-${i + 1}.log`))),
    );
    const cluster = new Cluster(postgres, databaseUrl, shards, bus!, shardSpecs, instances);
    try {
      await Promise.all(instances.map((i) => i.start()));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get count(): number {
    return this.instances.length;
  }

  url(instance: number): string {
    return this.instances[instance]!.url;
  }

  isUp(instance: number): boolean {
    return this.instances[instance]!.up;
  }

  /** Every process gone, the Postgres folder removed (the logs stay). */
  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    for (const i of this.instances) i.resume();
    await Promise.all(this.instances.map((i) => i.kill()));
    for (const r of [...this.shards, this.bus]) r.resume();
    await Promise.all([...this.shards, this.bus].map((r) => r.stop()));
    await this.postgres.destroy();
  }
}
