// Prisma Client over node-postgres (driver adapter): no native query engine is needed. The pool
// is ours, so the time callers wait for a connection can be measured (it should stay near zero:
// no Redis I/O inside a transaction, and the poller never takes more than half the pool).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';

export type Db = PrismaClient;

export interface PoolWaits {
  /** Connection requests that had to wait, and the total and longest wait (ms). */
  waited: number;
  totalMs: number;
  maxMs: number;
  /** Callers waiting for a connection right now. */
  waiting: number;
}

/** A pg pool that measures how long each caller waited for a connection. */
export class MeasuredPool extends pg.Pool {
  readonly waits: PoolWaits = { waited: 0, totalMs: 0, maxMs: 0, waiting: 0 };

  constructor(
    config: pg.PoolConfig,
    /** Told of every wait (ms), for the metrics' histogram. */
    private readonly onWait: (ms: number) => void = () => {},
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    const started = performance.now();
    const mustWait = this.idleCount === 0 && this.totalCount >= (this.options.max ?? 10);
    if (mustWait) this.waits.waiting += 1;
    const record = () => {
      if (!mustWait) return;
      this.waits.waiting -= 1;
      const ms = performance.now() - started;
      this.waits.waited += 1;
      this.waits.totalMs += ms;
      this.waits.maxMs = Math.max(this.waits.maxMs, ms);
      this.onWait(ms);
    };
    if (callback) {
      super.connect((err, client, done) => {
        record();
        callback(err, client, done);
      });
      return;
    }
    return super.connect().finally(record);
  }
}

export function createDb(databaseUrl: string, poolSize = 10, onWait?: (ms: number) => void): { db: Db; pool: MeasuredPool } {
  const pool = new MeasuredPool({ connectionString: databaseUrl, max: poolSize }, onWait);
  pool.on('error', () => {}); // an idle client lost (Postgres restarted): the pool replaces it
  return { db: new PrismaClient({ adapter: new PrismaPg(pool) }), pool };
}
