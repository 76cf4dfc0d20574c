// Yoga's own log lines (a masked error with its original, an aborted request) through our logger:
// one JSON line each, with the credentials and tokens scrubbed like every other line. Yoga's
// default logger printed them with console.error: lines of text and a stack, outside both.
import type { YogaLogger } from 'graphql-yoga';
import type { Logger } from '../logger.ts';

type Level = keyof YogaLogger;

export function yogaLogger(log: Logger): YogaLogger {
  const line =
    (level: Level) =>
    (...args: unknown[]) => {
      const err = args.find((a): a is Error => a instanceof Error);
      const text = args.filter((a): a is string => typeof a === 'string').join(' ');
      log[level]({ source: 'graphql-yoga', ...(err ? { err } : {}) }, text || err?.message || 'graphql-yoga');
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}
