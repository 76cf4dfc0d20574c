// The Pothos builder, its plugins and scalars; domain files (registry.ts, location.ts, ride.ts,
// offer.ts) add their types, queries, mutations and subscriptions beside each other.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import { GraphQLError, Kind } from 'graphql';
import type { Identity } from '../auth.ts';
import type { Services } from '../app.ts';
import { OPERATION_LIMIT } from '../limits/operation-limits.ts';

export interface GraphQLContext {
  /** Who is calling: from the HTTP Authorization header or the graphql-ws connectionParams. */
  identity: Identity | null;
  /** The caller's network address (limits for anonymous callers and failed sign-ins). */
  clientAddress: string;
  /** Subscriptions run over graphql-ws only. */
  transport: 'http' | 'ws';
  /** This HTTP request's or graphql-ws operation's id, and (graphql-ws) its socket's. */
  requestId: string;
  socketId?: string;
  services: Services;
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date } };
}>({
  defaultFieldNullability: false,
  plugins: [ComplexityPlugin],
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    // Depth and aliases are armor's (limits/operation-limits.ts); this is the weighted cost.
    limit: (ctx) => ({ complexity: ctx.services.config.operationLimits.maxCost }),
    complexityError: (_kind, result) =>
      new GraphQLError(`operation too costly: cost ${result.complexity}, at most ${result.maxComplexity}`, {
        extensions: { code: OPERATION_LIMIT, limit: 'cost', cost: result.complexity, maxCost: result.maxComplexity },
      }),
  },
});

// RFC 3339 with an explicit offset: a time without one would be read in the server's zone.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && DATE_TIME.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO-8601 date-time with an offset, e.g. 2026-11-22T10:00:00Z or 2026-11-22T15:30:00+05:30', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time with an offset (Z or ±hh:mm), e.g. 2026-11-22T10:00:00.000Z. Served in UTC.',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.queryType({ description: 'Reads.' });
builder.mutationType({ description: 'Changes.' });
builder.subscriptionType({ description: 'Pushed updates (over graphql-ws only).' });
