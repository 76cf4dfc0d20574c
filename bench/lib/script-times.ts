// Redis server time per script (and per plain command) over a load, from each server's SLOWLOG
// with a 0 µs threshold: every command's own execution time, an EVALSHA named by its script's
// SHA-1. INFO commandstats cannot do this: it lumps every script into one EVALSHA line. The
// durations are Redis' own (the slowlog's bookkeeping is outside them, though inside INFO cpu).
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { scriptSource, type ScriptName } from '../../src/redis/scripts.ts';

export type TimeByName = Record<string, { calls: number; usec: number }>;

/** Enough entries for a phase of the cost bench (a few thousand commands per shard). */
const MAX_ENTRIES = 200_000;

export async function timeScripts<T>(servers: Redis[], names: ScriptName[], run: () => Promise<T>): Promise<{ result: T; byName: TimeByName }> {
  const bySha = new Map(names.map((name) => [createHash('sha1').update(scriptSource(name)).digest('hex'), name]));
  const saved = await Promise.all(
    servers.map(async (s) => ({
      threshold: (await s.config('GET', 'slowlog-log-slower-than'))[1] as string,
      maxLen: (await s.config('GET', 'slowlog-max-len'))[1] as string,
    })),
  );
  await Promise.all(servers.map(async (s) => {
    await s.config('SET', 'slowlog-max-len', String(MAX_ENTRIES));
    await s.config('SET', 'slowlog-log-slower-than', '0');
    await s.call('SLOWLOG', 'RESET');
  }));
  let result: T;
  const byName: TimeByName = {};
  try {
    result = await run();
  } finally {
    for (const [i, s] of servers.entries()) {
      await s.config('SET', 'slowlog-log-slower-than', saved[i]!.threshold);
      const entries = (await s.call('SLOWLOG', 'GET', String(MAX_ENTRIES))) as Array<[number, number, number, string[]]>;
      await s.config('SET', 'slowlog-max-len', saved[i]!.maxLen);
      for (const [, , usec, args] of entries) {
        const command = String(args[0]).toLowerCase();
        if (command === 'slowlog' || command === 'config') continue;
        const name = command === 'evalsha' ? (bySha.get(String(args[1])) ?? libraryScript(args)) : command;
        const entry = (byName[name] ??= { calls: 0, usec: 0 });
        entry.calls += 1;
        entry.usec += Number(usec);
      }
    }
  }
  return { result: result!, byName };
}

/** A script that is not ours, named by its first key: rate-limiter-flexible's counters are rl:<limit>:… */
function libraryScript(args: string[]): string {
  const key = String(args[3] ?? '');
  return key.startsWith('rl:') ? `rate limiter (${key.split(':')[1]})` : `evalsha ${String(args[1]).slice(0, 8)}`;
}
