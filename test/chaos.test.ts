// Issue "Correct under races and outages", acceptance 9: a one-minute chaos run (npm run chaos)
// against real processes: 2 API instances, 3 shards, the event bus and a private PostgreSQL,
// killed, frozen and restarted under load. After the heal period every invariant must hold.
import { expect, it } from 'vitest';
import { FAULT_KINDS } from '../src/sim/chaos/faults.ts';
import { renderTable } from '../src/sim/chaos/report.ts';
import { runChaos } from '../src/sim/chaos/run.ts';

it('a minute of faults under load breaks no invariant', async () => {
  const report = await runChaos({ minutes: 1, healSeconds: 30, drivers: 40, riders: 20, seed: 1, log: () => {} });
  const table = renderTable(report);
  console.log(table);
  for (const invariant of report.invariants) expect(invariant, table).toMatchObject({ count: 0 });
  expect(report.rides.byStatus.COMPLETED ?? 0, table).toBeGreaterThan(20);
  for (const kind of FAULT_KINDS) expect(report.faultsByKind[kind], `${kind} injected`).toBeGreaterThan(0);
}, 180_000);
