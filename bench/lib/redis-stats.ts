// Redis server time around a load, summed over servers: the process' CPU (INFO cpu: everything
// the server did, network I/O included) and INFO commandstats per command. Commands a script runs
// are counted both on their own and inside EVALSHA's time, so commandstats is not summed: script
// time is EVALSHA + EVAL, and the CPU counter is the total.
import type { Redis } from 'ioredis';

export interface RedisSample {
  cpuUs: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

export async function sampleRedis(servers: Redis[]): Promise<RedisSample> {
  const sample: RedisSample = { cpuUs: 0, byCommand: {} };
  // 'all': the default INFO leaves commandstats out.
  for (const info of await Promise.all(servers.map((s) => s.info('all')))) {
    sample.cpuUs += (Number(/used_cpu_sys:([\d.]+)/.exec(info)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)![1])) * 1e6;
    for (const m of info.matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) {
      const entry = (sample.byCommand[m[1]!] ??= { calls: 0, usec: 0 });
      entry.calls += Number(m[2]);
      entry.usec += Number(m[3]);
    }
  }
  return sample;
}

export interface RedisCost {
  cpuUs: number;
  scriptUs: number;
  byCommand: Record<string, { calls: number; usec: number }>;
}

/** What happened between two samples (our own INFO calls left out). */
export function redisBetween(before: RedisSample, after: RedisSample): RedisCost {
  const byCommand: RedisCost['byCommand'] = {};
  for (const [cmd, v] of Object.entries(after.byCommand)) {
    if (cmd === 'info') continue;
    const calls = v.calls - (before.byCommand[cmd]?.calls ?? 0);
    if (calls > 0) byCommand[cmd] = { calls, usec: v.usec - (before.byCommand[cmd]?.usec ?? 0) };
  }
  const scriptUs = (byCommand.evalsha?.usec ?? 0) + (byCommand.eval?.usec ?? 0);
  return { cpuUs: after.cpuUs - before.cpuUs, scriptUs, byCommand };
}
