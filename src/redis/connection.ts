// How we connect to a Redis server (plain or Sentinel-managed) and how we read its failures.
// Shared by both routers (shard-router.ts, cluster-router.ts) and the event bus.
import type { RedisOptions } from 'ioredis';

/** The connection is gone: the command was never run (so it may safely run elsewhere). */
export function isConnectionLost(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'AbortError') return true;
  return /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH|Connection (is )?lost/i.test(err.message);
}

/** No answer in time: the server is slow or frozen, and the command may or may not have run. */
export function isTimeout(err: unknown): boolean {
  return err instanceof Error && /Command timed out|ETIMEDOUT/i.test(err.message);
}

/** Parses `redis://host:port[/db]` and `redis+sentinel://h1:p1,h2:p2/mastername` into ioredis options. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  if (url.startsWith('redis+sentinel://')) {
    let rest = url.slice('redis+sentinel://'.length);
    // Credentials, if any, are the primary's and the Sentinels' alike.
    const at = rest.lastIndexOf('@');
    const [user, password] = at >= 0 ? rest.slice(0, at).split(':').map(decodeURIComponent) : [];
    if (at >= 0) rest = rest.slice(at + 1);
    const slash = rest.indexOf('/');
    const hosts = slash >= 0 ? rest.slice(0, slash) : rest;
    const name = slash >= 0 ? rest.slice(slash + 1) : '';
    if (!name) throw new Error(`sentinel URL ${url} names no master (redis+sentinel://h1:p1,h2:p2/mastername)`);
    return {
      name,
      ...(password ? { password, sentinelPassword: password, username: user || undefined } : {}),
      sentinels: hosts.split(',').map((hp) => {
        const [host, port] = hp.split(':');
        return { host: host || '127.0.0.1', port: Number(port || 26379) };
      }),
    };
  }
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === 'rediss:' ? {} : undefined,
  };
}

/** Options that make a dead shard fail fast instead of queueing commands behind a reconnect. */
export function failFastOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    lazyConnect: true,
  };
}
