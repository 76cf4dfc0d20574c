// What else was going on during a latency phase, to tell where a tail comes from: the server's
// event-loop delay, GC pauses and CPU (its own /metrics: prom-client's default metrics), the load
// generator's (this process: perf_hooks), PostgreSQL's WAL syncs and checkpoints, and the
// machine's load average.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import os from 'node:os';
import type { Db } from '../../src/db/client.ts';
import { scrape, type Scrape } from '../../src/sim/scrape.ts';
import { METRICS_TOKEN } from './fleet.ts';

/**
 * Event-loop delay in ms beyond the sampling timer (both sides sample every 10 ms, prom-client's
 * default; an idle loop reads ~10.2 ms, which is 0.2 ms here), and GC pauses.
 */
export interface ProcessDuring {
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  gcPauses: number;
  gcTotalMs: number;
  /** Pauses of 10 ms or more (the server's histogram has no finer bucket up there). */
  gcOver10ms: number;
  /** The generator knows its longest pause; the server's histogram does not (null). */
  gcMaxMs: number | null;
  /** CPU time over wall time, in % of one core. */
  cpuPercent: number;
}

export interface PhaseConditions {
  seconds: number;
  loadAverage: { start: number; end: number };
  server: ProcessDuring | null;
  generator: ProcessDuring;
  postgres: { walSyncs: number; checkpoints: number } | null;
}

const RESOLUTION_MS = 10;
const beyondTimer = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

// The load generator's own GC, always observed (cheap), read as deltas.
const gc = { count: 0, totalMs: 0, over10: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count += 1;
    gc.totalMs += e.duration;
    if (e.duration >= 10) gc.over10 += 1;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loopDelay.enable();

async function postgresCounters(db: Db): Promise<{ walSyncs: number; checkpoints: number } | null> {
  try {
    const [wal] = await db.$queryRawUnsafe<Array<{ n: bigint }>>('SELECT wal_sync AS n FROM pg_stat_wal');
    const [bg] = await db.$queryRawUnsafe<Array<{ n: bigint }>>('SELECT checkpoints_timed + checkpoints_req AS n FROM pg_stat_bgwriter');
    return { walSyncs: Number(wal!.n), checkpoints: Number(bg!.n) };
  } catch {
    return null;
  }
}

function serverDuring(before: Scrape, after: Scrape, seconds: number): ProcessDuring {
  const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
  const pauses = moved('nodejs_gc_duration_seconds_count');
  return {
    // prom-client resets its delay histogram at every scrape: `after` covers the phase alone.
    lagP50Ms: Math.max(0, after.value('nodejs_eventloop_lag_p50_seconds') * 1000 - RESOLUTION_MS),
    lagP99Ms: Math.max(0, after.value('nodejs_eventloop_lag_p99_seconds') * 1000 - RESOLUTION_MS),
    lagMaxMs: Math.max(0, after.value('nodejs_eventloop_lag_max_seconds') * 1000 - RESOLUTION_MS),
    gcPauses: pauses,
    gcTotalMs: moved('nodejs_gc_duration_seconds_sum') * 1000,
    gcOver10ms: pauses - moved('nodejs_gc_duration_seconds_bucket', { le: '0.01' }),
    gcMaxMs: null,
    cpuPercent: (moved('process_cpu_seconds_total') / seconds) * 100,
  };
}

/** Starts watching; `stop()` returns the conditions of the phase. `serverUrl` is the /graphql URL (or null: no server to scrape). */
export interface Watch {
  stop(): Promise<PhaseConditions>;
  /** The server's scrapes around the phase (each scrape resets the server's max gauges: read them from these). */
  scrapes?: { before: Scrape; after: Scrape };
}

export async function watchPhase(opts: { serverUrl: string | null; db?: Db }): Promise<Watch> {
  const metricsUrl = opts.serverUrl?.replace(/\/graphql$/, '/metrics');
  const before = metricsUrl ? await scrape(metricsUrl, METRICS_TOKEN).catch(() => null) : null;
  const pgBefore = opts.db ? await postgresCounters(opts.db) : null;
  const load0 = os.loadavg()[0]!;
  const gc0 = { ...gc, maxMs: 0 };
  gc.maxMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  loopDelay.reset();
  const watch: Watch = {
    stop: async () => {
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const generator: ProcessDuring = {
        lagP50Ms: beyondTimer(loopDelay.percentile(50)),
        lagP99Ms: beyondTimer(loopDelay.percentile(99)),
        lagMaxMs: beyondTimer(loopDelay.max),
        gcPauses: gc.count - gc0.count,
        gcTotalMs: gc.totalMs - gc0.totalMs,
        gcOver10ms: gc.over10 - gc0.over10,
        gcMaxMs: gc.maxMs,
        cpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
      };
      const after = metricsUrl && before ? await scrape(metricsUrl, METRICS_TOKEN).catch(() => null) : null;
      const pgAfter = opts.db ? await postgresCounters(opts.db) : null;
      if (before && after) watch.scrapes = { before, after };
      return {
        seconds,
        loadAverage: { start: load0, end: os.loadavg()[0]! },
        server: before && after ? serverDuring(before, after, seconds) : null,
        generator,
        postgres: pgBefore && pgAfter ? { walSyncs: pgAfter.walSyncs - pgBefore.walSyncs, checkpoints: pgAfter.checkpoints - pgBefore.checkpoints } : null,
      };
    },
  };
  return watch;
}
