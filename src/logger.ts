// Structured logs (pino): one JSON object per line on stderr, readable (pino-pretty) in
// development when it is installed. Nothing secret is written: credentials in URLs, bearer
// tokens and JWTs are scrubbed from messages and fields, and fields named like secrets are
// redacted, whatever code logged them.
//
// A line written while a request is served carries that request's context (its id, the caller)
// through AsyncLocalStorage, so domain code logs with the service's one logger and never passes
// request details around; the same works for an HTTP request and a graphql-ws operation.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = PinoLogger;
export type LogDestination = pino.DestinationStream;

/** The request a log line was written for. */
export interface LogContext {
  requestId: string;
  transport: 'http' | 'ws';
  /** graphql-ws: the socket's id (its upgrade request's id), shared by its operations. */
  socketId?: string;
  role?: string;
  callerId?: string;
}

// Process-wide like the async flows it follows; each request runs in a context of its own.
const requestContext = new AsyncLocalStorage<LogContext>();

/** Runs `fn` so that every line logged within it (after awaits too) carries `context`. */
export function withLogContext<T>(context: LogContext, fn: () => T): T {
  return requestContext.run(context, fn);
}

/** The context of the request being served (to add the caller once the token is read). */
export function currentLogContext(): LogContext | undefined {
  return requestContext.getStore();
}

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@'], // scheme://user:password@host
  [/\bBearer\s+[^\s"',]+/gi, 'Bearer [redacted]'],
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]+/g, '[redacted jwt]'],
];

/** Removes credentials and tokens from a text (log messages, error messages, URLs). */
export function scrub(text: string): string {
  return SECRET_PATTERNS.reduce((t, [pattern, replacement]) => t.replace(pattern, replacement), text);
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: scrub(value.message), code: (value as { code?: unknown }).code };
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

const REDACTED_KEYS = ['authorization', 'password', 'token', 'secret', 'jwtSecret', 'cookie'];

function prettyTransport(): pino.TransportSingleOptions | undefined {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } };
  } catch {
    return undefined; // production images carry no dev dependencies: JSON it is
  }
}

export function createLogger(level: LogLevel = 'info', opts: { pretty?: boolean; destination?: LogDestination } = {}): Logger {
  const transport = opts.pretty && level !== 'silent' ? prettyTransport() : undefined;
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'ridematch' },
    // A copy: pino merges the line's own fields into what the mixin returns.
    mixin: () => ({ ...requestContext.getStore() }),
    redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
    formatters: { log: (object) => scrubDeep(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)) as Parameters<typeof method>);
      },
    },
    serializers: { err: (err: Error) => scrubDeep(err) },
  };
  if (transport) return pino({ ...options, transport });
  return pino(options, opts.destination ?? pino.destination({ fd: 2, sync: true }));
}
