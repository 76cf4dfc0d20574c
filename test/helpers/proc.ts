// The process tree as the kernel sees it (Linux /proc), so a test checks what a command really left
// running rather than what it says it stopped.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line (redis-server rewrites its own to `redis-server 127.0.0.1:<port>`). */
  command: string;
  /** Clock ticks after boot: with the pid, identifies the process even if the pid is reused. */
  startTime: string;
}

interface Stat {
  ppid: number;
  state: string;
  startTime: string;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone
  }
  // "pid (comm) state ppid … starttime …": comm may hold spaces and parentheses, so fields are
  // counted after the last ')'. starttime is field 22, i.e. the 20th after comm.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** The process and all its descendants, alive now. */
export function processTree(rootPid: number): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (stat && stat.state !== 'Z') all.push({ pid, ppid: stat.ppid, startTime: stat.startTime, command: commandOf(pid) });
  }
  const tree = all.filter((p) => p.pid === rootPid);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid));
  return tree;
}

/** Still running: the same process (pid and start time) exists and is not a zombie (a zombie is dead, only not yet reaped). */
export function isAlive(p: ProcessInfo): boolean {
  const stat = readStat(p.pid);
  return stat !== null && stat.startTime === p.startTime && stat.state !== 'Z';
}

/** Polls until none of these processes is alive, or the time is up; returns those still alive. */
export async function survivorsAfter(processes: ProcessInfo[], timeoutMs: number): Promise<ProcessInfo[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = processes.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Test cleanup: SIGKILL whatever of these processes is still alive. */
export function killAll(processes: ProcessInfo[]): void {
  for (const p of processes.filter(isAlive)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // exited in between
    }
  }
}
