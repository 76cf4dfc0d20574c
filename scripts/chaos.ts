// npm run chaos -- [--minutes 1] [--heal-seconds 30] [--drivers 40] [--riders 20] [--seed N] [--out bench/results]
// Drives drivers and riders through the SDK against 2 API instances, 3 Redis shards, an event bus
// and a private PostgreSQL while faults kill and freeze them; after a heal period checks the
// invariants, prints the report and writes it to <out>/chaos-<date>.md and .json. Exit code 1
// when an invariant fails.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderTable, writeReport } from '../src/sim/chaos/report.ts';
import { runChaos } from '../src/sim/chaos/run.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    'heal-seconds': { type: 'string', default: '30' },
    drivers: { type: 'string', default: '40' },
    riders: { type: 'string', default: '20' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    out: { type: 'string', default: path.resolve(import.meta.dirname, '../bench/results') },
  },
});

const options = {
  minutes: Number(values.minutes),
  healSeconds: Number(values['heal-seconds']),
  drivers: Number(values.drivers),
  riders: Number(values.riders),
  seed: Number(values.seed),
};
for (const [name, value] of Object.entries(options)) {
  if (!Number.isFinite(value) || value < 0 || (name !== 'seed' && value === 0)) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
}

const report = await runChaos({ ...options, log: (line) => console.log(line) });
console.log(`\n${renderTable(report)}`);
console.log(`\nreport written to ${path.relative(process.cwd(), writeReport(report, values.out!))} and .json`);
process.exit(report.passed ? 0 : 1);
