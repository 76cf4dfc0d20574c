// npm run bench:analytics — the matching analytics' queries (src/admin/analytics.ts, the very SQL
// the API runs) over ~1M history rows: a fresh database (ANALYTICS_BENCH_DATABASE_URL), migrated,
// filled by bench/analytics-data.ts, vacuumed and analysed; then each query's EXPLAIN (ANALYZE,
// BUFFERS) and its time (median of 7 runs after one warm-up) go to bench/results/analytics-<date>.md.
// Flags: --rides N (default 65000, ≈1M history rows) --days N (default 14).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { cellsSql, summarySql, type AnalyticsWindow } from '../src/admin/analytics.ts';
import { recreateDatabase } from '../src/db/admin.ts';
import { migrate } from '../src/db/migrate.ts';
import { regionOf } from '../src/geo/cells.ts';
import { generateAnalyticsData } from './analytics-data.ts';

const { values } = parseArgs({ options: { rides: { type: 'string', default: '65000' }, days: { type: 'string', default: '14' } } });
const url = process.env.ANALYTICS_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch_analytics_bench';
const centre = { lat: 12.9716, lng: 77.5946 };
const end = new Date('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

await recreateDatabase(url);
await migrate(url);
const client = new pg.Client({ connectionString: url });
await client.connect();
const t0 = performance.now();
const counts = await generateAnalyticsData(client, { rides: Number(values.rides), drivers: 3_000, riders: 20_000, days: Number(values.days), end, centre });
const loadS = (performance.now() - t0) / 1000;
await client.query('VACUUM ANALYZE');
const version = (await client.query('SHOW server_version')).rows[0].server_version as string;

const centreRegion = regionOf(centre.lat, centre.lng);
const windows: Array<{ name: string; w: AnalyticsWindow }> = [
  { name: 'one day, everywhere', w: { from: new Date(end.getTime() - DAY), to: end, region: null } },
  { name: 'one day, the central region', w: { from: new Date(end.getTime() - DAY), to: end, region: centreRegion } },
  { name: 'seven days, everywhere', w: { from: new Date(end.getTime() - 7 * DAY), to: end, region: null } },
  { name: 'seven days, the central region', w: { from: new Date(end.getTime() - 7 * DAY), to: end, region: centreRegion } },
];
const queries = windows.flatMap(({ name, w }) => [
  { name: `summary, ${name}`, sql: summarySql(w) },
  { name: `cells (top 50), ${name}`, sql: cellsSql(w, 50) },
]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
const plans: string[] = [];
for (const q of queries) {
  await client.query(q.sql.text, q.sql.values); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const start = performance.now();
    await client.query(q.sql.text, q.sql.values);
    times.push(performance.now() - start);
  }
  const { rows: plan } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql.text}`, q.sql.values);
  const text = plan.map((r) => r['QUERY PLAN'] as string).join('\n');
  const indexes = [...new Set([...text.matchAll(/(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) "?(\w+)"?/g)].map((m) => m[1]))];
  const seqScans = [...new Set([...text.matchAll(/Seq Scan on "?(\w+)"?/g)].map((m) => m[1]))];
  rows.push(`| ${q.name} | ${median(times).toFixed(1)} ms | ${indexes.join(', ') || '-'} | ${seqScans.join(', ') || 'none'} |`);
  plans.push(`### ${q.name}\n\n\`\`\`\n${text}\n\`\`\``);
  console.log(rows.at(-1));
}
await client.end();

const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '');
const file = path.resolve(import.meta.dirname, 'results', `analytics-${stamp}.md`);
writeFileSync(
  file,
  `# Matching analytics over ${counts.history.toLocaleString('en')} history rows

\`npm run bench:analytics\` (bench/analytics.ts), PostgreSQL ${version}, ${new Date().toISOString()}.
Data (bench/analytics-data.ts, loaded in ${loadS.toFixed(0)} s): ${counts.rides.toLocaleString('en')} rides over ${values.days} days in
${counts.cells.toLocaleString('en')} res-7 cells around (${centre.lat}, ${centre.lng}), ${counts.offers.toLocaleString('en')} offers,
${counts.history.toLocaleString('en')} history rows; then VACUUM ANALYZE. Times are the median of 7 runs after a warm-up, on a
2-core machine shared with other work. The central region is ${centreRegion}.

| query | time | indexes used | sequential scans |
| --- | --- | --- | --- |
${rows.join('\n')}

${plans.join('\n\n')}
`,
);
console.log(`report: ${path.relative(process.cwd(), file)}`);
