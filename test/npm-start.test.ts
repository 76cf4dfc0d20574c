// `npm start` as a user runs it (a job of its own, i.e. its own process group), stopped the way a
// process manager or `kill` stops it, a signal to the npm process alone, and the way a terminal's
// Ctrl-C does, SIGINT to the whole group. npm forwards SIGTERM/SIGINT only to its own child, the
// `sh -c` running the script; the script must `exec` the server so that child is the server
// itself (otherwise sh dies and the server and its redis-server shards are orphaned).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../src/db/admin.ts';
import { freePort } from '../src/redis/local-servers.ts';
import { killAll, processTree, survivorsAfter, type ProcessInfo } from './helpers/proc.ts';
import { watchProcess } from './helpers/process.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const dbUrl = `postgresql://postgres@127.0.0.1:5432/ridematch_npm_start_${process.pid}`;
/** The default SHUTDOWN_GRACE_MS plus the 2 s the built server is also given. */
const STOP_WITHIN_MS = 3_000 + 2_000;

afterAll(() => dropDatabase(dbUrl));

const stops = [
  { how: 'SIGTERM to the npm process', signal: 'SIGTERM', group: false },
  { how: 'SIGINT to the npm process', signal: 'SIGINT', group: false },
  { how: 'Ctrl-C (SIGINT to its process group)', signal: 'SIGINT', group: true },
] as const;

describe('npm start', () => {
  for (const { how, signal, group } of stops) {
    it(`stops everything it started on ${how}`, async () => {
      const port = await freePort();
      // The defaults (local shards, dev secret), on a free port and a database of its own.
      const env = { ...process.env, PORT: String(port), DATABASE_URL: dbUrl } as NodeJS.ProcessEnv;
      for (const name of ['REDIS_SHARDS', 'PUBSUB_REDIS_URL', 'JWT_SECRET', 'NODE_ENV']) delete env[name];
      const npm = watchProcess(spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
      const npmPid = npm.child.pid!;
      let started: ProcessInfo[] = [];
      try {
        await npm.waitFor(/Ridematch is up/);
        started = processTree(npmPid).filter((p) => p.pid !== npmPid);
        // Whatever sits in between, there is the server and, under it, its three local shards.
        const shards = started.filter((p) => p.command.startsWith('redis-server '));
        expect(shards).toHaveLength(3);
        expect(started.find((p) => p.pid === shards[0]!.ppid)?.command).toMatch(/src\/main\.ts/);

        process.kill(group ? -npmPid : npmPid, signal);
        const exit = await Promise.race([npm.exited, sleep(STOP_WITHIN_MS).then(() => 'still running')]);
        expect(exit, npm.output()).toMatchObject({ code: 0 });
        const left = await survivorsAfter(started, STOP_WITHIN_MS);
        expect(left.map((p) => `${p.pid} ${p.command}`), npm.output()).toEqual([]);
        // A graceful stop, not the forced exit a second signal asks for.
        expect(npm.output()).toContain(`${signal}: shutting down`);
        expect(npm.output()).not.toContain('exiting now');
      } finally {
        killAll([...processTree(npmPid), ...started]);
      }
    });
  }
});
