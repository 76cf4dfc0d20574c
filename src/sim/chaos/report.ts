// The chaos run's report: invariants first (each must be 0), then what the run did (rides,
// faults, calls, errors), as a console table and as markdown and JSON files kept per run.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OperationSummary, SlowCall } from './call-log.ts';
import type { InjectedFault } from './faults.ts';
import type { InvariantResult } from './invariants.ts';

export interface ChaosReport {
  date: string;
  /** Every time in the report is in seconds after this. */
  loadStartedAt: string;
  passed: boolean;
  settings: {
    minutes: number;
    healSeconds: number;
    drivers: number;
    riders: number;
    seed: number;
    /** The API instances' knobs. */
    knobs: Record<string, string>;
    searchDeadline: string;
    healBound: string;
  };
  invariants: InvariantResult[];
  /** Checked and reported, but not part of the verdict (see invariants.ts). */
  findings: InvariantResult[];
  /** Each fault with the errors the apps saw from its start until shortly after it was back. */
  faults: Array<InjectedFault & { errors: Record<string, number> }>;
  errorsOutsideFaults: Record<string, number>;
  faultsByKind: Record<string, number>;
  rides: {
    byStatus: Record<string, number>;
    requested: number;
    adopted: number;
    cancelsSent: number;
    unfollowed: number;
    completedPerSecond: number;
    longestSearchS: number;
    /** Riders still waiting for their ride to end when the heal period was over. */
    ridersStillRiding: number;
  };
  operations: OperationSummary[];
  slowMutations: SlowCall[];
  errorsByCode: Record<string, number>;
  errorsByOperation: Record<string, number>;
  /** `op code` → the first message seen with it. */
  errorMessages: Record<string, string>;
  /** Each API instance's /ready at check time (which shards it considers healthy). */
  instancesAtCheck: string[];
  logDir: string;
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : `${Math.round(v)} ms`);
const sorted = (counts: Record<string, number>) => Object.entries(counts).sort((a, b) => b[1] - a[1]);
const counts = (c: Record<string, number>) => sorted(c).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}

function mdTable(header: string[], rows: Array<Array<string | number>>): string {
  const cell = (c: string | number) => String(c).replace(/\s+/g, ' ').replaceAll('|', '\\|').slice(0, 300);
  const line = (cells: Array<string | number>) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function summaryRows(r: ChaosReport): string[][] {
  const rides = r.rides;
  return [
    ['check', 'value', 'verdict'],
    ...r.invariants.map((i) => [i.name, String(i.count), i.count === 0 ? 'ok' : 'FAILED']),
    ...r.findings.map((i) => [`${i.name} (finding, not an invariant)`, String(i.count), '-']),
    ['rides completed per second', rides.completedPerSecond.toFixed(2), '-'],
    ['rides by final status', counts(rides.byStatus), '-'],
    ['faults injected', counts(r.faultsByKind), '-'],
    ['errors by code', counts(r.errorsByCode), '-'],
  ];
}

export function renderTable(r: ChaosReport): string {
  const lines = [textTable(summaryRows(r))];
  for (const i of [...r.invariants, ...r.findings].filter((x) => x.count > 0)) lines.push('', `${i.name}:`, ...i.examples.map((e) => `  ${e}`));
  lines.push('', `verdict: ${r.passed ? 'every invariant holds' : 'INVARIANTS FAILED'} (logs: ${r.logDir})`);
  return lines.join('\n');
}

export function renderMarkdown(r: ChaosReport): string {
  const s = r.settings;
  const rides = r.rides;
  return [
    `# Chaos run ${r.date}`,
    '',
    `${s.minutes} min of load and faults against 2 API instances, 3 Redis shards, an event-bus Redis and a private PostgreSQL; ` +
      `then ${s.healSeconds} s of heal (no faults, no new rides, drivers still reporting), then the checks. ` +
      `${s.drivers} drivers, ${s.riders} riders, seed ${s.seed}. Verdict: **${r.passed ? 'every invariant holds' : 'invariants failed'}**.`,
    '',
    mdTable(['check', 'value', 'verdict'], summaryRows(r).slice(1)),
    '',
    `Deadline of a search: ${s.searchDeadline}. Heal bound for driver records: ${s.healBound}. ` +
      `Times (t=…) are seconds after the load started, ${r.loadStartedAt}.`,
    '',
    ...[...r.invariants, ...r.findings]
      .filter((i) => i.count > 0)
      .flatMap((i) => [`## ${i.name}: ${i.count}`, '', ...i.examples.map((e) => `- ${e}`), '']),
    '## Faults',
    '',
    mdTable(
      ['at (s)', 'back at (s)', 'kind', 'target', 'down for', 'errors the apps saw (until 3 s after back)'],
      r.faults.map((f) => [f.at.toFixed(1), f.backAt.toFixed(1), f.kind, f.target, ms(f.downMs), counts(f.errors)]),
    ),
    '',
    `Errors outside every fault window: ${counts(r.errorsOutsideFaults)}.`,
    '',
    '## Rides',
    '',
    mdTable(
      ['measure', 'value'],
      [
        ['requested (answered)', rides.requested],
        ['answered ACTIVE_RIDE_EXISTS (rider followed its live ride)', rides.adopted],
        ['cancels sent', rides.cancelsSent],
        ['rides no rider learnt about', rides.unfollowed],
        ['longest search (request → assigned or ended)', `${rides.longestSearchS} s`],
        ['riders whose ride had not ended after the heal period', rides.ridersStillRiding],
        ...sorted(rides.byStatus).map(([status, n]) => [status, n]),
      ],
    ),
    '',
    '## Calls (every attempt)',
    '',
    mdTable(['operation', 'attempts', 'failed', 'p50', 'p99', 'max'], r.operations.map((o) => [o.op, o.attempts, o.failures, ms(o.p50Ms), ms(o.p99Ms), ms(o.maxMs)])),
    '',
    mdTable(['operation and error code', 'count', 'first message'], sorted(r.errorsByOperation).map(([k, n]) => [k, n, r.errorMessages[k] ?? ''])),
    '',
    ...(r.slowMutations.length
      ? ['Mutations over 5 s:', '', mdTable(['at (s)', 'operation', 'instance', 'took', 'outcome'], r.slowMutations.map((c) => [c.at.toFixed(1), c.op, c.instance + 1, ms(c.ms), c.outcome])), '']
      : []),
    '## Knobs',
    '',
    mdTable(['variable', 'value'], Object.entries(s.knobs)),
    '',
    'Instances at check time:',
    '',
    ...r.instancesAtCheck.map((i) => `- ${i}`),
    '',
  ].join('\n');
}

/** Writes `<dir>/chaos-<date>.md` and `.json`; returns the markdown's path. */
export function writeReport(r: ChaosReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `chaos-${r.date.slice(0, 19).replaceAll(':', '')}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(r));
  return `${base}.md`;
}
