// A PostgreSQL server of the chaos run's own: initdb into a temporary folder, a free port, and
// nothing shared with the machine's server (the run stops and restarts this one). The postmaster
// is our child process, started with a parent-death signal, so a crashed run leaves no server
// behind; its backends exit with it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../redis/local-servers.ts';

const SETPRIV = '/usr/bin/setpriv';

function binDir(): string {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return '/usr/lib/postgresql/15/bin';
  }
}

/** initdb and postgres refuse to run as root: as root, they run as the `postgres` user. */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export class PrivatePostgres {
  private child: ChildProcess | null = null;
  private readonly bin = binDir();
  private readonly user = postgresUser();

  private constructor(
    /** Holds the data directory and the server's Unix socket. */
    readonly dir: string,
    readonly port: number,
  ) {}

  /** A new, empty cluster (not started). */
  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ridematch-chaos-pg-'));
    const server = new PrivatePostgres(dir, await freePort());
    if (server.user) chownSync(dir, server.user.uid, server.user.gid);
    // --no-sync and fsync=off: the data only has to survive process deaths, never a power cut,
    // and this machine's disk is shared with other sessions.
    execFileSync(path.join(server.bin, 'initdb'), ['-D', server.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync'], {
      stdio: 'ignore',
      ...(server.user ?? {}),
    });
    return server;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** The URL of a database on this server. */
  url(database: string): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the postmaster and resolves once it accepts connections. */
  async start(): Promise<void> {
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'];
    const postgres = path.join(this.bin, 'postgres');
    const child = existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', postgres, ...args], { stdio: 'ignore', ...(this.user ?? {}) })
      : spawn(postgres, args, { stdio: 'ignore', ...(this.user ?? {}) });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (!this.running) throw new Error(`postgres on port ${this.port} exited during start-up`);
      const client = new pg.Client({ connectionString: this.url('postgres') });
      const up = await client.connect().then(() => true, () => false);
      await client.end().catch(() => {});
      if (up) return;
      if (Date.now() > deadline) throw new Error(`postgres on port ${this.port} did not accept connections within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Fast shutdown (SIGINT, what `pg_ctl stop -m fast` sends): sessions are cut, the data is kept. */
  async stop(): Promise<void> {
    await this.signal('SIGINT');
  }

  /** Stops it for good and removes its folder. */
  async destroy(): Promise<void> {
    await this.signal('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
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
