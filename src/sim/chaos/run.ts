// One chaos run, start to end: the cluster, the load, the fault schedule for `minutes`, the heal
// period, the invariant checks, the report. Used by `npm run chaos` and by test/chaos.test.ts.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOLD_SETTLE_MS } from '../../drivers/hold-timing.ts';
import { CallLog, SLOW_MUTATION_MS, type FailedCall } from './call-log.ts';
import { CHAOS_JWT_SECRET, CHAOS_KNOBS, Cluster } from './cluster.ts';
import { FAULT_KINDS, planFaults, runFaults, seededRandom, type FaultKind, type InjectedFault } from './faults.ts';
import { checkInvariants } from './invariants.ts';
import { ChaosLoad } from './load.ts';
import type { ChaosReport } from './report.ts';

export interface ChaosOptions {
  minutes: number;
  healSeconds: number;
  drivers: number;
  riders: number;
  seed: number;
  /** The fault kinds to inject (default: all). */
  faultKinds?: readonly FaultKind[];
  /** Progress lines. */
  log: (line: string) => void;
}

const REPORT_INTERVAL_MS = 3_000;
const TRIP_MS: [number, number] = [2_000, 5_000];
/** Before the first fault: drivers connected and reporting, the first rides under way. */
const WARMUP_MS = 5_000;
/**
 * How late a search may end beyond its rounds: round 1 may wait for the first-round grace (2 s),
 * each round check may come a poll and a search lease (2 s) late, and Postgres was down once.
 */
const SEARCH_SLACK_MS = 15_000;
/** Central Bengaluru, ~2 × 2 km: every driver is within the first round's radius of most pickups. */
const BBOX = { minLat: 12.96, minLng: 77.58, maxLat: 12.978, maxLng: 77.598 };

/** Errors just after a target is back still belong to its fault (reconnects, shard fencing). */
const AFTERMATH_S = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function countCodes(failures: FailedCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of failures) counts[`${f.op} ${f.code}`] = (counts[`${f.op} ${f.code}`] ?? 0) + 1;
  return counts;
}

async function readiness(url: string): Promise<string> {
  const ready = url.replace(/\/graphql$/, '/ready');
  return fetch(ready).then(
    async (r) => `${ready}: ${r.status} ${await r.text()}`,
    (err: Error) => `${ready}: ${err.message}`,
  );
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const date = new Date().toISOString();
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'ridematch-chaos-logs-'));
  const knobs = CHAOS_KNOBS;
  const roundMs = Number(knobs.MATCH_ROUND_TIMEOUT_MS);
  const rounds = Number(knobs.MATCH_MAX_ROUNDS);
  const searchDeadlineMs = rounds * roundMs + SEARCH_SLACK_MS;
  const healBoundMs = Number(knobs.RECONCILE_INTERVAL_MS) + REPORT_INTERVAL_MS + HOLD_SETTLE_MS;

  opts.log(`starting the cluster (API logs in ${logDir})`);
  const cluster = await Cluster.start({ logDir });
  try {
    const startedAt = Date.now();
    const calls = new CallLog(startedAt);
    const load = new ChaosLoad({
      endpoints: cluster,
      jwtSecret: CHAOS_JWT_SECRET,
      drivers: opts.drivers,
      riders: opts.riders,
      bbox: BBOX,
      reportIntervalMs: REPORT_INTERVAL_MS,
      acceptProbability: 0.7,
      answerDelayMs: [200, 1_500],
      tripMs: TRIP_MS,
      cancelProbability: 0.15,
      cancelAfterMs: [300, 5_000],
      riderPauseMs: [300, 2_000],
      rideWatchMs: searchDeadlineMs + TRIP_MS[1],
      idPrefix: `chaos-${startedAt.toString(36)}-`,
      log: calls,
    });
    await load.register();
    await load.start();
    const chaosMs = opts.minutes * 60_000;
    opts.log(`load running: ${opts.drivers} drivers, ${opts.riders} riders; faults for ${opts.minutes} min`);
    const faults: InjectedFault[] = await runFaults(cluster, planFaults(chaosMs, seededRandom(opts.seed), opts.faultKinds), {
      startedAt,
      warmupMs: WARMUP_MS,
      untilMs: chaosMs,
      onFault: (f) => opts.log(`  ${f.at.toFixed(1)} s ${f.kind} (${f.target}), back at ${f.backAt.toFixed(1)} s`),
    });
    await sleep(Math.max(0, startedAt + chaosMs - Date.now()));

    opts.log(`healing for ${opts.healSeconds} s (no faults, no new rides)`);
    load.stopRequests();
    await sleep(opts.healSeconds * 1_000);
    const ridersStillRiding = load.ridersStillRiding();
    await load.stopDrivers();
    await sleep(1_000); // the last pushes reach the riders
    await load.stopRiders();
    const healedAt = Date.now();

    opts.log('checking invariants');
    const checked = await checkInvariants({
      databaseUrl: cluster.databaseUrl,
      shards: cluster.shardSpecs,
      observations: load.observations,
      searchDeadlineMs,
      allRoundsMs: rounds * roundMs,
      startedAt,
    });
    const slow = calls.slowMutations.map((c) => `${c.op} on instance ${c.instance + 1} at ${c.at.toFixed(1)} s took ${c.ms} ms (${c.outcome})`);
    const invariants = [...checked.invariants, { name: `mutations over ${SLOW_MUTATION_MS / 1000} s`, count: slow.length, examples: slow.slice(0, 10) }];
    const completed = checked.ridesByStatus.COMPLETED ?? 0;
    const during = (f: InjectedFault) => (c: FailedCall) => c.at >= f.at && c.at <= f.backAt + AFTERMATH_S;
    const obs = load.observations;
    return {
      date,
      loadStartedAt: new Date(startedAt).toISOString(),
      passed: invariants.every((i) => i.count === 0),
      settings: {
        minutes: opts.minutes,
        healSeconds: opts.healSeconds,
        drivers: opts.drivers,
        riders: opts.riders,
        seed: opts.seed,
        knobs: { ...knobs },
        searchDeadline: `requestedAt + ${rounds} rounds × ${roundMs / 1000} s + ${SEARCH_SLACK_MS / 1000} s slack = ${searchDeadlineMs / 1000} s`,
        healBound: `RECONCILE_INTERVAL_MS + report interval + settle time = ${healBoundMs / 1000} s after the last change, inside the ${opts.healSeconds} s heal`,
      },
      invariants,
      findings: [checked.offersDuringTrips, checked.overlappingOffers, checked.untoldCancels, checked.earlyNoDrivers],
      faults: faults.map((f) => ({ ...f, errors: countCodes(calls.failures.filter(during(f))) })),
      errorsOutsideFaults: countCodes(calls.failures.filter((c) => !faults.some((f) => during(f)(c)))),
      faultsByKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, faults.filter((f) => f.kind === k).length])),
      rides: {
        byStatus: checked.ridesByStatus,
        requested: obs.ridesRequested,
        adopted: obs.ridesAdopted,
        cancelsSent: obs.cancelsSent,
        unfollowed: checked.unfollowedRides,
        completedPerSecond: completed / ((healedAt - startedAt) / 1000),
        longestSearchS: checked.longestSearchS,
        ridersStillRiding,
      },
      operations: calls.operations(),
      slowMutations: calls.slowMutations,
      errorsByCode: Object.fromEntries(calls.errors),
      errorsByOperation: Object.fromEntries(calls.errorsByOp),
      errorMessages: Object.fromEntries(calls.messages),
      instancesAtCheck: await Promise.all(cluster.instances.map((i) => readiness(i.url))),
      logDir,
    };
  } finally {
    await cluster.stop();
  }
}
