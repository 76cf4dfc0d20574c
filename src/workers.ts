// WORKERS=N: N API processes on one host sharing one port (node:cluster; the primary accepts
// connections and hands them to the workers round-robin). Every worker is a whole stateless
// instance (its own Redis and Postgres connections, its own round poller), exactly like one more
// instance behind a balancer; the primary serves nothing. It forks the workers, replaces one
// that dies after it was up, and on SIGTERM or SIGINT has every worker drain and exit before it
// exits itself.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './logger.ts';

/** What a worker tells the primary once it serves (and its signal handlers are installed). */
export interface WorkerUp {
  type: 'ridematch-worker-up';
  port: number;
}

export function announceWorkerUp(port: number): void {
  process.send?.({ type: 'ridematch-worker-up', port } satisfies WorkerUp);
}

const isUp = (message: unknown): message is WorkerUp => (message as WorkerUp | null)?.type === 'ridematch-worker-up';

export interface Supervision {
  count: number;
  /** Set on every worker (the local shards the primary started, for one). */
  env: Record<string, string>;
  /** How long a worker may take to drain after SIGTERM before it is killed. */
  drainMs: number;
  log: Logger;
  /** Once, when every worker is serving. */
  onUp: (port: number) => void;
  /** After every worker has exited (stop what the primary started), before the primary exits. */
  onStopped: () => Promise<void>;
}

export function superviseWorkers(s: Supervision): void {
  // Our own list: node:cluster drops a worker from cluster.workers on its IPC 'disconnect',
  // which may come after its 'exit'.
  const live = new Set<Worker>();
  const up = new Set<Worker>();
  let announced = false;
  let stopping = false;

  const fork = () => {
    const worker = cluster.fork(s.env);
    live.add(worker);
    worker.on('message', (message: unknown) => {
      if (!isUp(message)) return;
      up.add(worker);
      if (!announced && up.size === s.count) {
        announced = true;
        s.onUp(message.port);
      }
    });
    worker.once('exit', (code, signal) => {
      live.delete(worker);
      const wasUp = up.delete(worker);
      if (stopping) {
        if (live.size === 0) void finish(0);
        return;
      }
      if (!wasUp) {
        // It never served (bad configuration, unreachable dependency): forking again would loop.
        s.log.error({ pid: worker.process.pid, code, signal }, 'a worker died while starting; stopping');
        void stop(1);
        return;
      }
      s.log.warn({ pid: worker.process.pid, code, signal }, 'a worker died; starting a new one');
      fork();
    });
  };

  let exitCode = 0;
  const finish = async (code: number) => {
    await s.onStopped();
    process.exit(Math.max(code, exitCode));
  };
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (live.size === 0) return void finish(code);
    // Each worker drains on its own SIGTERM (graceful shutdown of its server); one that is still
    // there well after the grace period is killed.
    for (const w of live) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of live) w.process.kill('SIGKILL');
    }, s.drainMs + 1_000).unref();
  };

  // Under `npm start`, one Ctrl-C reaches the primary twice at once (and every worker directly):
  // only a signal that comes later means "exit now".
  let signalledAt: number | null = null;
  const onSignal = (signal: string) => {
    if (signalledAt !== null) {
      if (Date.now() - signalledAt < 1_000) return;
      s.log.warn(`${signal} again: killing the workers`);
      for (const w of live) w.process.kill('SIGKILL');
      process.exit(1);
    }
    signalledAt = Date.now();
    s.log.info(`${signal}: draining ${up.size} workers`);
    stop(0);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  for (let i = 0; i < s.count; i++) fork();
}
