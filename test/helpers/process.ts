// Runs src/main.ts (what `npm start` runs) as a child process, for tests of the real process:
// start-up defaults, signals, and instances that get killed. watchProcess() gives the same
// handle on any server command (the built server, `npm start` itself).
import type { ChildProcess } from 'node:child_process';
import { spawnMain } from '../../src/sim/server-process.ts';

export interface ServerProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the output line that matches, rejects when the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

export function spawnServer(env: Record<string, string | undefined>, nodeArgs: string[] = []): ServerProcess {
  return watchProcess(spawnMain(env, { nodeArgs, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Collects the output of a child spawned with piped stdout and stderr, and its exit. */
export function watchProcess(child: ChildProcess): ServerProcess {
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = text.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            cleanup();
            resolve(line);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output:\n${text}`));
        }, timeoutMs);
        void exited.then(() => {
          check();
          cleanup();
          reject(new Error(`process exited before ${pattern}; output:\n${text}`));
        });
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}
