// The benchmark report: one table against the targets (met / missed by how much), the raw numbers,
// and where the server's time goes (CPU profiles) for whatever missed.
import type { ContentionResult } from './contention.ts';
import type { CostResult, PhaseCost } from './costs.ts';
import type { IngestResult } from './ingest.ts';
import type { MatchLevel } from './match.ts';
import type { MemoryResult } from './memory.ts';
import type { SearchResult } from './search.ts';
import type { StormResult } from './storm.ts';
import { pct, type LatencySummary } from './lib/latency.ts';
import type { PhaseConditions } from './lib/phase-monitor.ts';

export interface BenchReport {
  date: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: Record<string, unknown>;
  /** Each phase is present when it ran (BENCH_PHASES runs a subset). */
  ingest?: IngestResult;
  match?: MatchLevel[];
  search?: SearchResult;
  contention?: ContentionResult;
  memory?: MemoryResult;
  storm?: StormResult;
  costs?: CostResult;
  profiles?: {
    ingest: Array<{ bucket: string; percent: number }>;
    match: Array<{ bucket: string; percent: number }>;
    /** Absent in reports from before it was profiled. */
    storm?: Array<{ bucket: string; percent: number }>;
  };
}

/** Issue 15's targets (ingest per second and search from earlier issues). `better` says which way is good. */
const TARGETS = {
  ingestPerSecond: { limit: 30_000, better: 'higher', label: '≥ 30,000 updates/s' },
  ingestRatio: { limit: 0.6, better: 'higher', label: '≥ 0.6× raw (median of the rounds)' },
  firstOfferP50: { limit: 5, better: 'lower', label: 'p50 < 5 ms (at 50k)' },
  firstOfferP99: { limit: 25, better: 'lower', label: 'p99 < 25 ms' },
  assignedP50: { limit: 10, better: 'lower', label: 'p50 < 10 ms (at 50k)' },
  assignedP99: { limit: 40, better: 'lower', label: 'p99 < 40 ms (at 50k)' },
  tailRatio: { limit: 3, better: 'lower', label: 'p99/p50 ≤ 3' },
  searchRatio: { limit: 0.2, better: 'lower', label: '≤ 0.2× original' },
  doubleAssignments: { limit: 0, better: 'lower', label: '0' },
  claimP99: { limit: 100, better: 'lower', label: 'claim p99 < 100 ms' },
  kibPerConnection: { limit: 16, better: 'lower', label: '≤ 16 KiB (median of the servers; spread ≤ 3 KiB)' },
  stormSeconds: { limit: 10, better: 'lower', label: 'all searchable ≤ 10 s' },
  // Not the issue's figure but its principle: callers never queue for a Postgres connection.
  poolWaits: { limit: 0, better: 'lower', label: '≈ 0 (no waits)' },
} as const;
type Target = keyof typeof TARGETS;

function verdict(target: Target, value: number): string {
  const t = TARGETS[target];
  if (Number.isNaN(value)) return 'no data';
  if (!Number.isFinite(value)) return 'missed (failed operations in the rank)';
  const met = t.better === 'higher' ? value >= t.limit : t.limit === 0 ? value === 0 : value <= t.limit;
  if (met) return 'met';
  if (t.limit === 0) return `missed (${value})`;
  const by = t.better === 'higher' ? (t.limit - value) / t.limit : (value - t.limit) / t.limit;
  return `missed by ${(by * 100).toFixed(by < 0.1 ? 1 : 0)}%`;
}

/**
 * A latency measured by the load generator carries the generator's own event-loop delay: when the
 * value is within that (its lag p99 during the phase) of the limit, the verdict is inside the noise.
 */
function latencyVerdict(target: Target, value: number, noiseMs: number): string {
  const t = TARGETS[target];
  if (Number.isFinite(value) && Math.abs(value - t.limit) <= noiseMs) return `inconclusive (within the load generator's lag p99, ${ms(noiseMs)}, of the limit)`;
  return verdict(target, value);
}

/** p99/p50 with the generator's lag either way: met or missed only if the whole range agrees. */
function tailVerdict(s: LatencySummary, noiseMs: number): string {
  const p50 = pct(s, 'p50');
  const p99 = pct(s, 'p99');
  if (Number.isNaN(p50) || Number.isNaN(p99)) return 'no data';
  if (!Number.isFinite(p99)) return 'missed (failed operations in the rank)';
  const low = (p99 - noiseMs) / (p50 + noiseMs);
  const high = (p99 + noiseMs) / Math.max(p50 - noiseMs, 1e-3);
  if (high <= TARGETS.tailRatio.limit) return 'met';
  if (low > TARGETS.tailRatio.limit) return verdict('tailRatio', p99 / p50);
  return `inconclusive (${n(low, 1)}–${n(high, 1)} within the generator's lag)`;
}

const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v: number | null | undefined) =>
  v === null || v === undefined || v === Number.POSITIVE_INFINITY ? 'failed' : Number.isNaN(v) ? '-' : `${n(v, v < 10 ? 2 : 1)} ms`;
/** p50, p95, p99 and the failures beside them. */
const lat = (s: LatencySummary) => `p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)} (failed ${s.failures} of ${s.count})`;
const ratioOf = (s: LatencySummary) => (s.p50 && s.p99 ? `p99/p50 ${n(s.p99 / s.p50, 1)}` : 'p99/p50 -');

/** (f): what each operation costs each tier, the inputs of the README's capacity model. */
function costTable(r: BenchReport): string {
  const c = r.costs!;
  const calls = (p: PhaseCost) =>
    ['evalsha', 'publish']
      .filter((cmd) => p.redisByCommand[cmd])
      .map((cmd) => `${cmd} ${n(p.redisByCommand[cmd]!.calls / p.operations, 1)}×`)
      .join(', ');
  return [
    `## Cost per operation on each tier (${n(c.onlineDrivers)} drivers online)`,
    '',
    '| operation | API CPU | Redis CPU, all shards | of which in scripts / bus PUBLISH | calls per operation | Postgres backend CPU |',
    '| --- | --- | --- | --- | --- | --- |',
    ...(r.ingest ? [`| location update (median round of (a)) | ${n(r.ingest.ours.apiCpuUsPerUpdate)} µs | ${n(r.ingest.ours.redisCpuUsPerUpdate, 1)} µs | ${n(r.ingest.ours.redisScriptUsPerUpdate, 1)} µs / 0 | evalsha 2× | 0 |`] : []),
    ...(r.search ? [`| search, first round (c) | - | - | ${n(r.search.ours.serverUsPerSearch, 1)} µs / - | - | - |`] : []),
    `| requestRide (${c.request.operations} rides, ${n(c.request.seconds, 1)} s) | ${n(c.request.apiCpuUs)} µs | ${n(c.request.redisCpuUs)} µs | ${n(c.request.redisScriptUs)} µs / ${n(c.request.busUs)} µs | ${calls(c.request)} | ${n(c.request.postgresCpuUs)} µs |`,
    `| acceptRide (${c.accept.operations} accepts, ${c.acceptsWon} won, ${n(c.accept.seconds, 1)} s) | ${n(c.accept.apiCpuUs)} µs | ${n(c.accept.redisCpuUs)} µs | ${n(c.accept.redisScriptUs)} µs / ${n(c.accept.busUs)} µs | ${calls(c.accept)} | ${n(c.accept.postgresCpuUs)} µs |`,
    ...(c.tripSteps ? [phaseRow(`arrivedAtPickup / startTrip (${c.tripSteps.operations} steps)`, c.tripSteps), phaseRow(`completeRide (${c.complete.operations} rides)`, c.complete)] : []),
    '',
    `Postgres per ride (${c.tripSteps ? 'request, accept, arrive, start, complete' : 'request + accept'}; pg_stat_database, includes the round poller's background queries): ${n(c.postgresPerRide.transactions, 1)} transactions, ${n(c.postgresPerRide.inserted, 1)} rows inserted, ${n(c.postgresPerRide.updated, 1)} rows updated, ${n(c.postgresPerRide.activeMs, 2)} ms active time.`,
    ...(c.request.redisByScript ? ['', scriptTable(c)] : []),
  ].join('\n');

  function phaseRow(name: string, p: PhaseCost): string {
    return `| ${name} | ${n(p.apiCpuUs)} µs | ${n(p.redisCpuUs)} µs | ${n(p.redisScriptUs)} µs / ${n(p.busUs)} µs | ${calls(p)} | ${n(p.postgresCpuUs)} µs |`;
  }
}

/** Redis time per script in each phase of (f) (SLOWLOG): what one claim, one search… costs. */
function scriptTable(c: CostResult): string {
  const phases: Array<[string, PhaseCost]> = [['requestRide', c.request], ['acceptRide', c.accept], ['arrive / start', c.tripSteps], ['completeRide', c.complete]];
  const rows = phases.flatMap(([name, p]) =>
    Object.entries(p.redisByScript)
      .filter(([, t]) => t.usec > 0)
      .sort((a, b) => b[1].usec - a[1].usec)
      .slice(0, 6)
      .map(([script, t]) => `| ${name} | ${script} | ${n(t.calls / p.operations, 2)} | ${n(t.usec / t.calls, 1)} µs | ${n(t.usec / p.operations, 1)} µs |`),
  );
  return [
    "Redis server time by script (each phase's six largest; SLOWLOG at a 0 µs threshold, all shards). The commands a script runs inside show on lines of their own too (GEOSEARCH, ZSCORE and HGET of `nearest`), and their time is also inside the script's; the bus is on the first shard here, so PUBLISH shows too:",
    '',
    '| phase | script or command | calls per operation | per call | per operation |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function conditionsRow(name: string, c: PhaseConditions): string {
  const lag = (p: { lagP50Ms: number; lagP99Ms: number; lagMaxMs: number }) => `${n(p.lagP50Ms, 1)} / ${n(p.lagP99Ms, 1)} / ${n(p.lagMaxMs, 1)} ms`;
  const gc = (p: { gcPauses: number; gcTotalMs: number; gcOver10ms: number; gcMaxMs: number | null }) =>
    `${n(p.gcPauses)} pauses, ${n(p.gcTotalMs, 1)} ms in all, ${n(p.gcOver10ms)} ≥ 10 ms${p.gcMaxMs === null ? '' : `, max ${n(p.gcMaxMs, 1)} ms`}`;
  const s = c.server;
  return `| ${name} | ${n(c.seconds, 1)} s | ${n(c.loadAverage.start, 1)} → ${n(c.loadAverage.end, 1)} | ${s ? lag(s) : '-'} | ${s ? gc(s) : '-'} | ${s ? `${n(s.cpuPercent)}%` : '-'} | ${lag(c.generator)} | ${gc(c.generator)} | ${n(c.generator.cpuPercent)}% | ${c.postgres ? `${n(c.postgres.walSyncs)} / ${n(c.postgres.checkpoints)}` : '-'} |`;
}

function conditionsTable(r: BenchReport): string {
  const rows = [
    ...(r.match ?? []).map((l) => conditionsRow(`(b) matching, ${n(l.onlineDrivers)} online`, l.conditions)),
    ...(r.contention ? [conditionsRow('(d) contention (the accepts)', r.contention.conditions)] : []),
    ...(r.storm ? [conditionsRow(`(g) storm, ${n(r.storm.drivers)} drivers`, r.storm.conditions)] : []),
  ];
  if (rows.length === 0) return '';
  return [
    '## Conditions during each latency phase',
    '',
    "Where a tail can come from, measured over the phase. Event-loop delay: p50 / p99 / max beyond the 10 ms sampling timer (server: prom-client's default metrics on its /metrics, whose histogram restarts at each scrape; load generator: `perf_hooks.monitorEventLoopDelay` in this process). GC: pauses in the phase (server: `nodejs_gc_duration_seconds`, whose smallest bucket above 1 ms is 10 ms; load generator: `PerformanceObserver('gc')`). CPU: % of one core over the phase (2 cores in all, shared with the shards, PostgreSQL and other work). PostgreSQL: WAL syncs (fsyncs of commits) and checkpoints in the phase, cluster-wide (`pg_stat_wal`, `pg_stat_bgwriter`; `synchronous_commit` on). Load average: 1-minute, at the phase's start and end.",
    '',
    '| phase | length | load average | server loop delay p50 / p99 / max | server GC | server CPU | generator loop delay p50 / p99 / max | generator GC | generator CPU | PG WAL syncs / checkpoints |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function renderReport(r: BenchReport, chartFile?: string): { markdown: string; table: string } {
  const rows: string[][] = [];
  const a = r.ingest;
  if (a) {
    const failed = (t: { failures?: number }) => `, ${t.failures ?? 0} failed`;
    const unstable = a.ratioMin < 0.8 * a.ratio;
    rows.push(
      ['a', `ingest, ${a.sockets} sockets (median of ${a.rounds.length} rounds)`, `${n(a.ours.updatesPerSecond)} updates/s; ack p50 ${ms(a.ours.ackP50Ms)}, p99 ${ms(a.ours.ackP99Ms)}${failed(a.ours)} (median round)`, TARGETS.ingestPerSecond.label, verdict('ingestPerSecond', a.ours.updatesPerSecond)],
      ['a', 'ingest, same, two workers on one port (WORKERS=2)', `${n(a.twoWorkers.updatesPerSecond)} updates/s (${n(a.twoWorkers.updatesPerSecond / a.ours.updatesPerSecond, 2)}× one worker); ack p50 ${ms(a.twoWorkers.ackP50Ms)}, p99 ${ms(a.twoWorkers.ackP99Ms)}${failed(a.twoWorkers)}`, '-', '-'],
      ['a', `ingest, ours / raw (plain ws + JSON + same Lua), each round's own ratio`, `median ${n(a.ratio, 2)}×, min ${n(a.ratioMin, 2)}× (rounds ${a.rounds.map((x) => n(x.ratio, 2)).join(', ')}; raw median ${n(a.raw.updatesPerSecond)}/s, ack p50 ${ms(a.raw.ackP50Ms)})`, TARGETS.ingestRatio.label,
        `${verdict('ingestRatio', a.ratio)}${unstable ? `; unstable (min ${n(a.ratioMin, 2)} < 0.8 × median = ${n(0.8 * a.ratio, 2)})` : ''}`],
    );
  }
  const large = r.match?.at(-1);
  for (const level of r.match ?? []) {
    const at50k = level === large;
    const noise = level.conditions.generator.lagP99Ms;
    const on = `${n(level.onlineDrivers)} online`;
    rows.push(
      ['b', `first offer on a driver socket, ${on} (${level.rides} rides requested)`, `${lat(level.firstOfferMs)}; ${ratioOf(level.firstOfferMs)}`,
        [TARGETS.tailRatio.label, TARGETS.firstOfferP99.label, ...(at50k ? [TARGETS.firstOfferP50.label] : [])].join(', '),
        [tailVerdict(level.firstOfferMs, noise), latencyVerdict('firstOfferP99', pct(level.firstOfferMs, 'p99'), noise), ...(at50k ? [latencyVerdict('firstOfferP50', pct(level.firstOfferMs, 'p50'), noise)] : [])].join(' / ')],
      ...(level.acceptToAssignedMs
        ? [['b', `acceptRide sent → rider sees ASSIGNED, ${on}`, `${lat(level.acceptToAssignedMs)}; ${ratioOf(level.acceptToAssignedMs)}`,
            [TARGETS.tailRatio.label, ...(at50k ? [TARGETS.assignedP50.label, TARGETS.assignedP99.label] : [])].join(', '),
            [tailVerdict(level.acceptToAssignedMs, noise), ...(at50k ? [latencyVerdict('assignedP50', pct(level.acceptToAssignedMs, 'p50'), noise), latencyVerdict('assignedP99', pct(level.acceptToAssignedMs, 'p99'), noise)] : [])].join(' / ')]]
        : []),
      ['b', `requestRide sent → rider sees ASSIGNED (the whole match, instant accept), ${on}`, `${lat(level.assignedMs)}; ${ratioOf(level.assignedMs)}`, '-', '-'],
      ['b', `estimateRide round trip (HTTP), ${on}`, lat(level.estimateMs), '-', '-'],
      ['b', `whole flow (estimate → request with its id → accept → arrive → start → complete), ${on}`, `${level.flow.completed} of ${level.rides} rides completed; ${level.flow.tripStepFailures} trip steps failed; ${level.skippedTicks} request ticks found no free probe${Object.keys(level.failureReasons ?? {}).length ? `; failures: ${Object.entries(level.failureReasons).map(([k, v]) => `${v}× ${k}`).join(', ')}` : ''}`, '-', '-'],
      ['b', `server's Postgres pool wait during that load, ${on} (its /metrics)`, `${n(level.poolWait.waits)} waits; total ${ms(level.poolWait.totalMs)}, max ${ms(level.poolWait.maxMs)}`, TARGETS.poolWaits.label, verdict('poolWaits', level.poolWait.waits)],
    );
  }
  if (r.search) {
    rows.push(
      ['c', `server time per search, ${n(r.search.drivers)} drivers (INFO commandstats)`, `ours ${n(r.search.ours.serverUsPerSearch, 1)} µs vs original ${n(r.search.original.serverUsPerSearch)} µs (${n(r.search.original.candidatesPerSearch)} candidates): ${r.search.ratio.toExponential(1)}×`, TARGETS.searchRatio.label, verdict('searchRatio', r.search.ratio)],
      ['c', 'same, original capped at COUNT 100 (kinder than the design)', `original ${n(r.search.originalCount100.serverUsPerSearch)} µs: ${n(r.search.ratioCount100, 3)}×`, TARGETS.searchRatio.label, verdict('searchRatio', r.search.ratioCount100)],
    );
  }
  const d = r.contention;
  if (d) {
    rows.push(
      ['d', `contention: ${d.rides} rides × ${d.driversPerRide} drivers accepting at once (${d.accepts} accepts; ${d.ridesShort} rides offered to fewer)`, `${d.doubleAssignments} double assignments, ${d.winners} winners, ${d.ridesWithoutWinner} rides without one, ${d.failedAccepts} accepts failed`, TARGETS.doubleAssignments.label, verdict('doubleAssignments', d.doubleAssignments)],
      ['d', 'contention: accept round trip (claim)', lat(d.claimMs), TARGETS.claimP99.label, latencyVerdict('claimP99', pct(d.claimMs, 'p99'), d.conditions.generator.lagP99Ms)],
    );
  }
  const e = r.memory;
  if (e) {
    rows.push(['e', `memory per idle driver connection with its offers feed (${e.servers.length} fresh servers × ${n(e.connectionsPerServer)} sockets)`,
      `median ${n(e.kibPerConnection, 1)} KiB, spread ${n(e.spreadKiB, 1)} KiB (servers: ${e.servers.map((s) => `${n(s.kibPerConnection, 1)} KiB, RSS ${n(s.rssBeforeMiB)} → ${n(s.rssAfterMiB)} MiB, ${n(s.feedsOpen)} feeds`).join('; ')})`,
      TARGETS.kibPerConnection.label,
      e.spreadKiB > 3 ? `inconclusive (spread ${n(e.spreadKiB, 1)} KiB > 3 KiB; the median would say: ${verdict('kibPerConnection', e.kibPerConnection)})` : e.kibPerConnection <= 0 ? 'inconclusive (RSS noise exceeds the delta)' : verdict('kibPerConnection', e.kibPerConnection)]);
    // Not judged (the target is the process' memory, RSS); shown because it is steady where RSS is not.
    if (e.heapKibPerConnection !== undefined) {
      rows.push(['e', 'of which JS heap in use after a full collection (not judged: the steadier figure to compare changes by)',
        `median ${n(e.heapKibPerConnection, 1)} KiB, spread ${n(e.heapSpreadKiB, 1)} KiB (servers: ${e.servers.map((s) => `${n(s.heapKibPerConnection, 1)} KiB`).join('; ')})`, '-', '-']);
    }
  }
  const g = r.storm;
  if (g) {
    const all = g.allSearchableSeconds;
    const pollNoise = g.pollMs / 1000;
    const full = g.drivers >= 10_000 ? '' : ` (a smaller storm than the issue's 10,000)`;
    rows.push(
      ['g', `reconnect storm: ${n(g.drivers)} drivers connect, open the offers feed, send a first location (≤ ${n(g.concurrency)} in flight)${full}`,
        `all in the index at ${all === null ? 'never (within the deadline)' : `${n(all, 2)} s`} (polled every ${g.pollMs} ms; last answer ${n(g.lastAnswerSeconds, 2)} s; ${n(g.indexedAtEnd)} indexed, ${n(g.feedsAtEnd)} feeds at the end); ${n(g.connectionsPerSecond)} connections/s; failed: ${g.failures.connect} connects, ${g.failures.location} locations, ${g.failures.notSearchable} not searchable`,
        TARGETS.stormSeconds.label,
        all === null ? 'missed (not all searchable)' : Math.abs(all - TARGETS.stormSeconds.limit) <= pollNoise ? 'inconclusive (within the poll interval)' : verdict('stormSeconds', all)],
      ['g', 'storm: per driver, socket open → connection_ack / → first location answered', `ack ${lat(g.connectMs)}; location ${lat(g.firstLocationMs)}`, '-', '-'],
      ['g', 'storm: was the load generator the bottleneck?', `generator CPU ${n(g.conditions.generator.cpuPercent)}% of one core, its loop delay p99 ${ms(g.conditions.generator.lagP99Ms)}, max ${ms(g.conditions.generator.lagMaxMs)}; server CPU ${g.conditions.server ? `${n(g.conditions.server.cpuPercent)}%` : '-'}, its loop delay p99 ${g.conditions.server ? ms(g.conditions.server.lagP99Ms) : '-'}`, 'generator well below one core and the server', g.conditions.server && g.conditions.generator.cpuPercent < 0.5 * g.conditions.server.cpuPercent && g.conditions.generator.cpuPercent < 60 ? 'not the bottleneck' : 'possibly the bottleneck (see CPU)'],
    );
  }
  const header = ['', 'measure', 'result', 'target', 'verdict'];
  const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
  const profile = (title: string, list: Array<{ bucket: string; percent: number }>) =>
    [`**${title}** (share of the server's busy CPU time):`, '', ...list.map((b) => `- ${b.percent.toFixed(1)}% ${b.bucket}`)].join('\n');
  const markdown = [
    `# Ridematch benchmark, ${r.date}`,
    '',
    `Code: ${r.machine.commit ?? 'not recorded'}. Machine: ${r.machine.cpu}, ${r.machine.memoryGiB} GiB; Node ${r.machine.node}; ${r.machine.redis}; ${r.machine.postgres}; ${r.machine.shards} local shards. ${r.machine.note}. Whole run: ${r.durationSeconds} s (\`npm run bench\`${(r.settings.phases as string[] | undefined)?.length === 8 ? '' : `, phases ${(r.settings.phases as string[]).join(', ')}`}).`,
    '',
    'Failed operations are never dropped: each ranks as +infinity in its percentiles ("failed" where the rank falls on one), and every latency line says how many failed. A latency verdict within the load generator\'s own event-loop delay p99 of its limit is "inconclusive".',
    '',
    table,
    '',
    ...(r.match && chartFile ? ['## Latency distributions', '', `![first offer and ASSIGNED latency per density](${chartFile})`, ''] : []),
    conditionsTable(r),
    '',
    ...(r.ingest
      ? [
          'Rounds of (a), side by side (2 cores shared by the load generator, every server process, the shards and PostgreSQL: a second worker competes with the load for the same cores):',
          '',
          ...r.ingest.rounds.map(
            (x, i) =>
              `- round ${i + 1}: one worker ${n(x.ours.updatesPerSecond)}/s, two workers ${n(x.twoWorkers.updatesPerSecond)}/s, raw ${n(x.raw.updatesPerSecond)}/s, ratio ${n(x.ratio, 2)}×; failed updates ${x.ours.failures} / ${x.twoWorkers.failures} / ${x.raw.failures}; API CPU per update ${n(x.ours.apiCpuUsPerUpdate)} µs (two workers: ${n(x.twoWorkers.apiCpuUsPerUpdate)} µs)`,
          ),
          '',
        ]
      : []),
    ...(r.costs ? [costTable(r), ''] : []),
    ...(r.profiles
      ? ['## Where the server time goes', '', profile('Ingest (updateDriverLocation over graphql-ws)', r.profiles.ingest), '', profile(`Matching (requestRide at ${r.settings.rideRate}/s, probes accepting)`, r.profiles.match), '',
        ...(r.profiles.storm ? [profile(`Reconnect storm (${r.settings.stormDrivers} drivers connecting, subscribing, first location)`, r.profiles.storm), ''] : [])]
      : []),
    '## Settings',
    '',
    '```json',
    JSON.stringify(r.settings, null, 2),
    '```',
    '',
  ].join('\n');
  return { markdown, table };
}
