// Structured logs (pino): one JSON object per line on stderr, readable (pino-pretty) in
// development when it is installed. Nothing secret is written: credentials in URLs, bearer
// tokens and JWTs are scrubbed from messages and fields, and fields named like secrets are
// redacted, whatever code logged them.
//
// Lines about a request come from a child logger carrying the request's id and caller
// (schema/request-log.ts), which resolvers hand to the domain methods they call. Not
// AsyncLocalStorage: on Node 20 it hooks every promise of the process, and measured on location
// updates that cost about a quarter more server CPU per update.
import { createRequire } from 'node:module';
import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = PinoLogger;
export type LogDestination = pino.DestinationStream;

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
