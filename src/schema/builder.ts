// The Pothos builder and its scalars; domain files (registry.ts, location.ts, ride.ts, offer.ts)
// add their types, queries, mutations and subscriptions beside each other.
import SchemaBuilder from '@pothos/core';
import { GraphQLError, Kind } from 'graphql';
import type { Identity } from '../auth.ts';
import type { Services } from '../app.ts';

export interface GraphQLContext {
  /** Who is calling: from the HTTP Authorization header or the graphql-ws connectionParams. */
  identity: Identity | null;
  services: Services;
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date } };
}>({ defaultFieldNullability: false });

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO-8601 date-time string, e.g. 2026-11-22T10:00:00Z', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date-time string in UTC, e.g. 2026-11-22T10:00:00.000Z',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
