// The Pothos builder, its plugins and scalars; domain files (registry.ts, location.ts, ride.ts,
// offer.ts) add their types, queries, mutations and subscriptions beside each other.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import RelayPlugin from '@pothos/plugin-relay';
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
  services: Services;
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  Scalars: { DateTime: { Input: Date; Output: Date }; JSON: { Input: unknown; Output: unknown } };
}>({
  defaultFieldNullability: false,
  plugins: [ComplexityPlugin, RelayPlugin],
  // Cursor connections for the admin lists (drivers, rides, audit); no global node ids.
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // Every type, field and argument carries a description (test/schema-descriptions.test.ts).
    pageInfoTypeOptions: { description: 'Where this page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'More items follow this page (page on with after: endCursor).' },
    hasPreviousPageFieldOptions: { description: 'Items precede this page (page back with before: startCursor).' },
    startCursorFieldOptions: { description: "The first item's cursor; null on an empty page." },
    endCursorFieldOptions: { description: "The last item's cursor; null on an empty page." },
    firstArgOptions: { description: 'At most this many items from the start (or after `after`); 1-100, default 20.' },
    lastArgOptions: { description: 'At most this many items from the end (or before `before`); 1-100.' },
    afterArgOptions: { description: 'Items after this cursor (an endCursor from an earlier page).' },
    beforeArgOptions: { description: 'Items before this cursor (a startCursor from an earlier page).' },
    defaultConnectionTypeOptions: { description: 'One page of a list, with its cursors.' },
    defaultEdgeTypeOptions: { description: 'One item of a page and its cursor.' },
    edgesFieldOptions: { description: 'The items of this page, in list order.' },
    pageInfoFieldOptions: { description: 'Cursors and whether more pages exist.' },
    cursorFieldOptions: { description: 'Opaque position of this item; pass it as after/before to page.' },
    nodeFieldOptions: { description: 'The item.' },
  },
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

builder.scalarType('JSON', {
  description: 'Any JSON value (audit snapshots).',
  serialize: (value) => value,
  parseValue: (value) => value,
});

// Every type, field, argument and enum value carries a description: GraphiQL's Docs pane is
// where client developers read the API (test/schema-descriptions.test.ts holds everyone to it).
builder.queryType({ description: 'Reads. Each field says who may call it; the caller is always the one in the token.' });
builder.mutationType({ description: 'Changes. Each field says who may call it; ids of the caller come from the token, never from arguments.' });
builder.subscriptionType({ description: 'Pushed updates, over graphql-ws only. Each starts with the current state, then every change.' });
