// npm run chaos -- [--minutes 1] [--heal-seconds 30] [--drivers 40] [--riders 20] [--seed N]
//                  [--faults shard-kill,bus-kill,...] [--out bench/results]
// Drives drivers and riders through the SDK against 2 API instances, 3 Redis shards, an event bus
// and a private PostgreSQL while faults kill and freeze them; after a heal period checks the
// invariants, prints the report and writes it to <out>/chaos-<date>.md and .json. Exit code 1
// when an invariant fails.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind } from '../src/sim/chaos/faults.ts';
import { renderTable, writeReport } from '../src/sim/chaos/report.ts';
import { runChaos } from '../src/sim/chaos/run.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    'heal-seconds': { type: 'string', default: '30' },
    drivers: { type: 'string', default: '40' },
    riders: { type: 'string', default: '20' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    faults: { type: 'string', default: FAULT_KINDS.join(',') },
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

const faultKinds = values.faults!.split(',').filter(Boolean) as FaultKind[];
const unknown = faultKinds.filter((k) => !FAULT_KINDS.includes(k));
if (faultKinds.length === 0 || unknown.length > 0) {
  console.error(`--faults takes a comma-separated list of ${FAULT_KINDS.join(', ')}`);
  process.exit(2);
}

const report = await runChaos({ ...options, faultKinds, log: (line) => console.log(line) });
console.log(`\n${renderTable(report)}`);
console.log(`\nreport written to ${path.relative(process.cwd(), writeReport(report, values.out!))} and .json`);
process.exit(report.passed ? 0 : 1);
