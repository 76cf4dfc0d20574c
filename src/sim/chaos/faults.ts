// The fault schedule: what goes wrong, when, and for how long. Faults run one after another with
// short gaps (each is brought back before the next starts, so every fault's effect can be told
// apart in the logs); the first cycle holds every kind once, so even a one-minute run injects all
// of them, and Postgres is restarted only in that cycle.
import type { Cluster } from './cluster.ts';

export const FAULT_KINDS = ['shard-kill', 'shard-pause', 'bus-kill', 'bus-pause', 'api-kill', 'api-pause', 'postgres-restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  kind: FaultKind;
  /** Shard index for shard faults; unused otherwise (the bus, API instance 2, Postgres). */
  shard: number;
  /** How long the target stays dead or frozen before it is restarted or resumed. */
  downMs: number;
  /** Pause after the target is back, before the next fault. */
  gapMs: number;
}

export interface InjectedFault {
  kind: FaultKind;
  target: string;
  /** Seconds after the load started: injected, and back (restarted and serving, or resumed). */
  at: number;
  backAt: number;
  downMs: number;
}

/** A small seeded generator (mulberry32), so a schedule can be replayed with --seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOWN_MS: Record<FaultKind, [number, number]> = {
  'shard-kill': [1_500, 3_000],
  // Longer than SHARD_DOWN_AFTER_MISSES × the command timeout, so the shard is marked down
  // while frozen, then fenced (emptied) when it answers again.
  'shard-pause': [2_000, 4_000],
  'bus-kill': [1_500, 3_000],
  'bus-pause': [1_500, 3_500],
  'api-kill': [500, 1_500],
  // Under the 5 s a mutation may take: a frozen instance's callers wait it out.
  'api-pause': [1_000, 2_500],
  'postgres-restart': [1_000, 2_500],
};

/**
 * Enough faults to fill `durationMs` (the caller stops starting new ones when the time is up),
 * of the given kinds (all by default: a narrower mix is for chasing one finding).
 */
export function planFaults(durationMs: number, random: () => number, kinds: readonly FaultKind[] = FAULT_KINDS): PlannedFault[] {
  const pick = ([min, max]: [number, number]) => Math.round(min + random() * (max - min));
  const shuffled = <T>(items: readonly T[]) =>
    items
      .map((item) => ({ item, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.item);
  const plan: PlannedFault[] = [];
  // A fault takes at least its down time and gap (restarts take longer): plan until those fill the run.
  let plannedMs = 0;
  for (let c = 0; plannedMs < durationMs || c === 0; c++) {
    const cycle = c === 0 ? kinds : kinds.filter((k) => k !== 'postgres-restart');
    if (cycle.length === 0) break;
    for (const kind of shuffled(cycle)) {
      const fault = { kind, shard: Math.floor(random() * 3), downMs: pick(DOWN_MS[kind]), gapMs: pick([1_500, 3_500]) };
      plan.push(fault);
      plannedMs += fault.downMs + fault.gapMs;
    }
  }
  return plan;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Injects one fault and brings its target back; returns what it hit. */
async function inject(cluster: Cluster, fault: PlannedFault): Promise<string> {
  const api = cluster.instances[1]!;
  switch (fault.kind) {
    case 'shard-kill': {
      const shard = cluster.shards[fault.shard]!;
      await shard.kill();
      await sleep(fault.downMs);
      await shard.start(); // empty, like a failed primary replaced without its data
      return `shard s${fault.shard + 1}`;
    }
    case 'shard-pause': {
      const shard = cluster.shards[fault.shard]!;
      shard.pause();
      await sleep(fault.downMs);
      shard.resume();
      return `shard s${fault.shard + 1}`;
    }
    case 'bus-kill':
      await cluster.bus.kill();
      await sleep(fault.downMs);
      await cluster.bus.start();
      return 'event bus';
    case 'bus-pause':
      cluster.bus.pause();
      await sleep(fault.downMs);
      cluster.bus.resume();
      return 'event bus';
    case 'api-kill':
      await api.kill();
      await sleep(fault.downMs);
      await api.start(); // on the same port
      return 'API instance 2';
    case 'api-pause':
      api.pause();
      await sleep(fault.downMs);
      api.resume();
      return 'API instance 2';
    case 'postgres-restart':
      await cluster.postgres.stop();
      await sleep(fault.downMs);
      await cluster.postgres.start();
      return 'PostgreSQL';
  }
}

/**
 * Runs the plan from `startedAt` until `untilMs` after it (no fault starts later; one under
 * way is finished). `onFault` hears each fault once its target is back.
 */
export async function runFaults(
  cluster: Cluster,
  plan: PlannedFault[],
  opts: { startedAt: number; warmupMs: number; untilMs: number; onFault?: (f: InjectedFault) => void },
): Promise<InjectedFault[]> {
  const injected: InjectedFault[] = [];
  const elapsed = () => Date.now() - opts.startedAt;
  await sleep(Math.max(0, opts.warmupMs - elapsed()));
  for (const fault of plan) {
    if (elapsed() >= opts.untilMs) break;
    const at = elapsed() / 1000;
    const target = await inject(cluster, fault);
    const done: InjectedFault = { kind: fault.kind, target, at, backAt: elapsed() / 1000, downMs: fault.downMs };
    injected.push(done);
    opts.onFault?.(done);
    await sleep(fault.gapMs);
  }
  return injected;
}
