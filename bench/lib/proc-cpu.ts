// CPU time of processes as the kernel counts it (Linux /proc/<pid>/stat: utime + stime), for
// "CPU per operation": sample before and after a load, divide by what the load did.
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc counts CPU time in ticks of 10 ms on Linux. */
const TICK_MS = 10;

function stat(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is [0], ppid [1], utime [11], stime [12].
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU ms used so far by each of these processes (a gone process counts 0). */
export function cpuMsOf(pids: number[]): Map<number, number> {
  return new Map(pids.map((pid) => {
    const f = stat(pid);
    return [pid, f ? (Number(f[11]) + Number(f[12])) * TICK_MS : 0];
  }));
}

/** CPU ms used between two samples, summed; a process that appeared in between counts from zero. */
export function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** The process and its children (a primary and its workers). */
export function withChildren(pid: number): number[] {
  const children = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((p) => Number(stat(p)?.[1]) === pid);
  return [pid, ...children];
}
