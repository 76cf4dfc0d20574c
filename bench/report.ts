// The benchmark report: one table against the targets (met / missed by how much), the raw numbers,
// and where the server's time goes (CPU profiles) for whatever missed.
import type { ContentionResult } from './contention.ts';
import type { CostResult, PhaseCost } from './costs.ts';
import type { IngestResult } from './ingest.ts';
import type { MatchLevel } from './match.ts';
import type { MemoryResult } from './memory.ts';
import type { SearchResult } from './search.ts';

export interface BenchReport {
  date: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  settings: Record<string, unknown>;
  ingest: IngestResult;
  match: MatchLevel[];
  search: SearchResult;
  contention: ContentionResult;
  memory: MemoryResult;
  costs: CostResult;
  profiles: { ingest: Array<{ bucket: string; percent: number }>; match: Array<{ bucket: string; percent: number }> };
}

/** The targets. `better` says which way is good. */
const TARGETS = {
  ingestPerSecond: { limit: 30_000, better: 'higher', label: '≥ 30,000 updates/s' },
  ingestRatio: { limit: 0.5, better: 'higher', label: '≥ 0.5× raw' },
  firstOfferP50: { limit: 5, better: 'lower', label: 'p50 < 5 ms (at 50k)' },
  firstOfferP99: { limit: 25, better: 'lower', label: 'p99 < 25 ms (at 50k)' },
  searchRatio: { limit: 0.2, better: 'lower', label: '≤ 0.2× original' },
  doubleAssignments: { limit: 0, better: 'lower', label: '0' },
  kibPerConnection: { limit: 20, better: 'lower', label: '≤ 20 KiB' },
  // Not the figure but its principle: callers never queue for a Postgres connection.
  poolWaits: { limit: 0, better: 'lower', label: '≈ 0 (no waits)' },
} as const;

function verdict(target: keyof typeof TARGETS, value: number): string {
  const t = TARGETS[target];
  const met = t.better === 'higher' ? value >= t.limit : t.limit === 0 ? value === 0 : value <= t.limit;
  if (met) return 'met';
  if (t.limit === 0) return `missed (${value})`;
  const by = t.better === 'higher' ? (t.limit - value) / t.limit : (value - t.limit) / t.limit;
  return `missed by ${(by * 100).toFixed(by < 0.1 ? 1 : 0)}%`;
}

const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v: number) => (Number.isNaN(v) ? '-' : `${n(v, v < 10 ? 2 : 1)} ms`);

/** (f): what each operation costs each tier, the inputs of the README's capacity model. */
function costTable(r: BenchReport): string {
  const c = r.costs;
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
    `| location update (median round of (a)) | ${n(r.ingest.ours.apiCpuUsPerUpdate)} µs | ${n(r.ingest.ours.redisCpuUsPerUpdate, 1)} µs | ${n(r.ingest.ours.redisScriptUsPerUpdate, 1)} µs / 0 | evalsha 2× | 0 |`,
    `| search, first round (c) | - | - | ${n(r.search.ours.serverUsPerSearch, 1)} µs / - | - | - |`,
    `| requestRide (${c.request.operations} rides, ${n(c.request.seconds, 1)} s) | ${n(c.request.apiCpuUs)} µs | ${n(c.request.redisCpuUs)} µs | ${n(c.request.redisScriptUs)} µs / ${n(c.request.busUs)} µs | ${calls(c.request)} | ${n(c.request.postgresCpuUs)} µs |`,
    `| acceptRide (${c.accept.operations} accepts, ${c.acceptsWon} won, ${n(c.accept.seconds, 1)} s) | ${n(c.accept.apiCpuUs)} µs | ${n(c.accept.redisCpuUs)} µs | ${n(c.accept.redisScriptUs)} µs / ${n(c.accept.busUs)} µs | ${calls(c.accept)} | ${n(c.accept.postgresCpuUs)} µs |`,
    '',
    `Postgres per ride (request + accept, pg_stat_database, includes the round poller's background queries): ${n(c.postgresPerRide.transactions, 1)} transactions, ${n(c.postgresPerRide.inserted, 1)} rows inserted, ${n(c.postgresPerRide.updated, 1)} rows updated, ${n(c.postgresPerRide.activeMs, 2)} ms active time.`,
  ].join('\n');
}

export function renderReport(r: BenchReport): { markdown: string; table: string } {
  const large = r.match.at(-1)!;
  const rows: string[][] = [
    ['a', `ingest, ${r.ingest.sockets} sockets (median of ${r.ingest.rounds.length} rounds)`, `${n(r.ingest.ours.updatesPerSecond)} updates/s; ack p50 ${ms(r.ingest.ours.ackP50Ms)}, p99 ${ms(r.ingest.ours.ackP99Ms)}`, TARGETS.ingestPerSecond.label, verdict('ingestPerSecond', r.ingest.ours.updatesPerSecond)],
    ['a', `ingest, same, two workers on one port (WORKERS=2)`, `${n(r.ingest.twoWorkers.updatesPerSecond)} updates/s (${n(r.ingest.twoWorkers.updatesPerSecond / r.ingest.ours.updatesPerSecond, 2)}× one worker); ack p50 ${ms(r.ingest.twoWorkers.ackP50Ms)}, p99 ${ms(r.ingest.twoWorkers.ackP99Ms)}`, '-', '-'],
    ['a', 'ingest, ours / raw (plain ws + JSON + same Lua)', `${n(r.ingest.ratio, 2)}× (raw ${n(r.ingest.raw.updatesPerSecond)}/s; ack p50 ${ms(r.ingest.raw.ackP50Ms)})`, TARGETS.ingestRatio.label, verdict('ingestRatio', r.ingest.ratio)],
    ...r.match.flatMap((level) => [
      ['b', `first offer on a driver socket, ${n(level.onlineDrivers)} online (${level.assigned}/${level.rides} rides)`, `p50 ${ms(level.firstOfferMs.p50)}, p95 ${ms(level.firstOfferMs.p95)}, p99 ${ms(level.firstOfferMs.p99)}`, level === large ? `${TARGETS.firstOfferP50.label}, ${TARGETS.firstOfferP99.label}` : '-', level === large ? [verdict('firstOfferP50', level.firstOfferMs.p50), verdict('firstOfferP99', level.firstOfferMs.p99)].join(' / ') : '-'],
      ['b', `rider sees ASSIGNED, ${n(level.onlineDrivers)} online (instant accept)`, `p50 ${ms(level.assignedMs.p50)}, p95 ${ms(level.assignedMs.p95)}, p99 ${ms(level.assignedMs.p99)}`, '-', '-'],
      ['b', `server's Postgres pool wait during that load, ${n(level.onlineDrivers)} online (its /metrics)`, `${n(level.poolWait.waits)} waits; total ${ms(level.poolWait.totalMs)}, max ${ms(level.poolWait.maxMs)}`, TARGETS.poolWaits.label, verdict('poolWaits', level.poolWait.waits)],
    ]),
    ['c', `server time per search, ${n(r.search.drivers)} drivers (INFO commandstats)`, `ours ${n(r.search.ours.serverUsPerSearch, 1)} µs vs original ${n(r.search.original.serverUsPerSearch)} µs (${n(r.search.original.candidatesPerSearch)} candidates): ${r.search.ratio.toExponential(1)}×`, TARGETS.searchRatio.label, verdict('searchRatio', r.search.ratio)],
    ['c', 'same, original capped at COUNT 100 (kinder than the design)', `original ${n(r.search.originalCount100.serverUsPerSearch)} µs: ${n(r.search.ratioCount100, 3)}×`, TARGETS.searchRatio.label, verdict('searchRatio', r.search.ratioCount100)],
    ['d', `contention: ${r.contention.rides} rides × ${r.contention.driversPerRide} drivers accepting at once`, `${r.contention.doubleAssignments} double assignments, ${r.contention.winners} winners; claim p50 ${ms(r.contention.claimMs.p50)}, p99 ${ms(r.contention.claimMs.p99)}`, TARGETS.doubleAssignments.label, verdict('doubleAssignments', r.contention.doubleAssignments)],
    ['e', `memory per idle driver connection (${n(r.memory.connections)} sockets with their offers feed)`, `${n(r.memory.kibPerConnection, 1)} KiB (RSS ${n(r.memory.rssBeforeMiB)} → ${n(r.memory.rssAfterMiB)} MiB)`, TARGETS.kibPerConnection.label,
      // RSS moves ±10 MiB with garbage collection: a delta at or below zero measured nothing.
      r.memory.kibPerConnection <= 0 ? 'inconclusive (RSS noise exceeds the delta: raise BENCH_IDLE_CONNECTIONS)' : verdict('kibPerConnection', r.memory.kibPerConnection)],
  ];
  const header = ['', 'measure', 'result', 'target', 'verdict'];
  const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
  const profile = (title: string, list: Array<{ bucket: string; percent: number }>) =>
    [`**${title}** (share of the server's busy CPU time):`, '', ...list.map((b) => `- ${b.percent.toFixed(1)}% ${b.bucket}`)].join('\n');
  const markdown = [
    `# Ridematch benchmark, ${r.date}`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.memoryGiB} GiB; Node ${r.machine.node}; ${r.machine.redis}; ${r.machine.postgres}; ${r.machine.shards} local shards. ${r.machine.note}. Whole run: ${r.durationSeconds} s (\`npm run bench\`).`,
    '',
    table,
    '',
    'Rounds of (a), side by side (2 cores shared by the load generator, every server process, the shards and PostgreSQL: a second worker competes with the load for the same cores):',
    '',
    ...r.ingest.rounds.map(
      (x, i) =>
        `- round ${i + 1}: one worker ${n(x.ours.updatesPerSecond)}/s, two workers ${n(x.twoWorkers.updatesPerSecond)}/s, raw ${n(x.raw.updatesPerSecond)}/s; API CPU per update ${n(x.ours.apiCpuUsPerUpdate)} µs (two workers: ${n(x.twoWorkers.apiCpuUsPerUpdate)} µs)`,
    ),
    '',
    costTable(r),
    '',
    '## Where the server time goes',
    '',
    profile('Ingest (updateDriverLocation over graphql-ws)', r.profiles.ingest),
    '',
    profile(`Matching (requestRide at ${r.settings.rideRate}/s, probes accepting)`, r.profiles.match),
    '',
    '## Settings',
    '',
    '```json',
    JSON.stringify(r.settings, null, 2),
    '```',
    '',
  ].join('\n');
  return { markdown, table };
}
