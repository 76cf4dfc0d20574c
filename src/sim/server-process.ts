// Runs `npm start` (src/main.ts) as a child process for the simulator and the benchmark, so the
// load generator and the server are separate processes (as in production, and so the server's
// CPU and memory can be measured on their own).
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { freePort, startLocalRedis } from '../redis/local-servers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface ChildServer {
  child: ChildProcess;
  port: number;
  url: string;
  /** The shards the server uses (started here, as `npm start` would; the first one carries events). */
  shards: Array<{ name: string; url: string }>;
  stop(): Promise<void>;
}

/** Spawns src/main.ts with this environment on top of ours (an undefined value unsets a variable). */
export function spawnMain(env: Record<string, string | undefined>, opts: { nodeArgs?: string[]; stdio: StdioOptions }): ChildProcess {
  return spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    stdio: opts.stdio,
  });
}

/**
 * Starts src/main.ts on a free port, with local shards started here (so the caller knows their
 * addresses: /ready never tells), and resolves once /ready answers.
 */
export async function startChildServer(env: Record<string, string | undefined>, nodeArgs: string[] = []): Promise<ChildServer> {
  const port = await freePort();
  const local = await startLocalRedis(3);
  const shards = local.map((s, i) => ({ name: `local-${i + 1}`, url: s.url }));
  const child = spawnMain(
    { LOG_LEVEL: 'warn', ...env, PORT: String(port), REDIS_SHARDS: shards.map((s) => `${s.name}=${s.url}`).join(' ') },
    { nodeArgs, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}/graphql`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await Promise.all(local.map((s) => s.stop()));
      throw new Error(`server exited during start-up (${child.exitCode})`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error('server did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    port,
    url,
    shards,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await Promise.all(local.map((s) => s.stop()));
    },
  };
}
