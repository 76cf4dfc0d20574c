// The GraphQL handler (Yoga) and the envelop every operation runs through, on HTTP and on
// graphql-ws alike: compiled execution, operation limits, the operation budget, typed errors,
// per-operation metrics.
// HTTP-only protections sit here too: CORS from the allowlist, CSRF prevention, no multipart.
// Persisted operations: Yoga's plugin here, resolveOperation() on graphql-ws (persisted-operations.ts).
// GraphiQL (outside production) is served from our own assets (graphiql.ts).
import { useGraphQlJit } from '@envelop/graphql-jit';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { getOperationAST } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Services } from '../app.ts';
import { identityFromAuthorization, type Identity } from '../auth.ts';
import { DomainError } from '../errors.ts';
import { originAllowlist } from '../http/origins.ts';
import { operationLimitPlugins } from '../limits/operation-limits.ts';
import type { GraphQLContext } from '../schema/builder.ts';
import { maskError, toGraphQLError } from '../schema/errors.ts';
import { schema } from '../schema/index.ts';
import { persistedOperationPlugins } from './persisted-operations.ts';
import { yogaLogger } from './yoga-logger.ts';
import { graphiqlAssets, renderGraphiQL } from './graphiql.ts';
import { errorCodes, graphqlJsSubscriptions, operationBudget, operationMetrics, subscriptionsOverWebSocketOnly } from './plugins.ts';

/** What the transports hand Yoga besides the request. */
export interface ServerContext {
  clientAddress: string;
  /** Set by the graphql-ws path: the socket's identity (HTTP reads the Authorization header). */
  identity?: Identity | null;
  transport?: 'ws';
  /** The HTTP request's or graphql-ws operation's id (see http/request-id.ts). */
  requestId: string;
  /** graphql-ws: the socket's id. */
  socketId?: string;
}

export type GraphQLHandler = YogaServerInstance<ServerContext, GraphQLContext>;

/** Headers that make a browser preflight a request, so a cross-site form cannot send it. */
const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name', 'graphql-preflight'];

/**
 * The HTTP caller's identity. A present but bad token fails the request with 401; failed
 * sign-ins count against the caller's address, and past the limit the address gets 429.
 */
export async function httpIdentity(services: Services, authorization: string | null, clientAddress: string): Promise<Identity | null> {
  if (!authorization) return null;
  const { limits, config } = services;
  try {
    await limits.check('authFailures', clientAddress);
    return await identityFromAuthorization(config.jwt, authorization);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    if (err.code === 'RATE_LIMITED') throw toGraphQLError(err, { status: 429 });
    await limits.consume('authFailures', clientAddress).catch(() => {});
    throw toGraphQLError(err, { status: 401 });
  }
}

export function createGraphQLHandler(services: Services): GraphQLHandler {
  const { config } = services;
  const allowed = originAllowlist(config.corsOrigins);
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    plugins: [
      // First: a hash becomes its text before the limits look at the text.
      ...persistedOperationPlugins(config.persistedOperations),
      ...operationLimitPlugins(config.operationLimits, { introspection: config.introspection }),
      errorCodes(),
      operationMetrics(services.metrics.registry),
      // Compiled execution (graphql-jit): location acks are executed thousands of times a second
      // with the same few documents; compiling them once roughly halves the cost. Not for
      // subscriptions: graphql-jit 0.8 hands a subscribe resolver the raw variables instead of
      // its arguments, so an inline argument or a renamed variable would be lost.
      useGraphQlJit({}, { enableIf: (args) => getOperationAST(args.document, args.operationName)?.operation !== 'subscription' }),
      operationBudget(),
      subscriptionsOverWebSocketOnly(),
      graphqlJsSubscriptions(),
      useCSRFPrevention({ requestHeaders: CSRF_HEADERS }),
      config.graphiql && graphiqlAssets(),
    ],
    graphqlEndpoint: '/graphql',
    graphiql: config.graphiql ? { subscriptionsProtocol: 'WS', title: 'Ridematch GraphiQL' } : false,
    renderGraphiQL,
    landingPage: false,
    multipart: false,
    cors: (request) => {
      const origin = request.headers.get('origin');
      if (!origin || !allowed(origin)) return false;
      return { origin: [origin], credentials: true, methods: ['GET', 'POST'], maxAge: 600 };
    },
    maskedErrors: { maskError },
    logging: yogaLogger(services.log),
    context: async (initial) => {
      // WS operations arrive with the identity from the socket; HTTP ones carry a header.
      const identity =
        initial.identity !== undefined ? initial.identity : await httpIdentity(services, initial.request.headers.get('authorization'), initial.clientAddress);
      const { clientAddress, requestId, socketId } = initial;
      return { identity, clientAddress, transport: initial.transport ?? 'http', requestId, socketId, services };
    },
  });
}
