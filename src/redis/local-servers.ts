// Local redis-server processes on free ports: `npm start` uses them when REDIS_SHARDS is unset,
// and the tests use them as real shards they can kill and restart. No persistence: a restarted
// shard comes back empty, like a failed-over primary that lost its data.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { Redis } from 'ioredis';

const SETPRIV = '/usr/bin/setpriv';
const PARENT_DEATH_SIGNAL = process.platform === 'linux' && existsSync(SETPRIV);

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));
}

export class LocalRedisError extends Error {
  override name = 'LocalRedisError';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new LocalRedisError(`redis-server on port ${port} exited (${child.exitCode})`);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new LocalRedisError(`redis-server on port ${port} did not answer PING`);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      probe.disconnect();
    }
  }
}

export class LocalRedis {
  private child: ChildProcess | null = null;

  /** `extraArgs` are added to redis-server's command line (a cluster node's settings, for one). */
  constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...this.extraArgs];
    // With util-linux's setpriv the kernel kills the shard when its parent dies, even by SIGKILL,
    // so a crashed `npm start` or test run never leaves shards behind.
    if (!onPath('redis-server')) {
      throw new LocalRedisError('redis-server is not installed: install it (Debian: apt-get install redis-server) or set REDIS_SHARDS');
    }
    const child = PARENT_DEATH_SIGNAL
      ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', 'redis-server', ...args], { stdio: 'ignore' })
      : spawn('redis-server', args, { stdio: 'ignore' });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    await spawned;
    this.child = child;
    await waitForPing(this.port, child);
  }

  /** Frozen but alive (SIGSTOP): keeps its data and its connections, answers nothing. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Abrupt death (SIGKILL), as in a crashed shard. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}

export async function startLocalRedis(count: number): Promise<LocalRedis[]> {
  const servers: LocalRedis[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = new LocalRedis(await freePort());
      await server.start();
      servers.push(server);
    }
    return servers;
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
}
