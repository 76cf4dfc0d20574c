// Typed, client-facing errors. A DomainError thrown in a resolver reaches the client with its
// extensions (code, field, ...) because graphql-js copies them onto the GraphQL error; such errors
// pass through unmasked and unlogged. Everything unexpected is masked ("Unexpected error.") and
// logged, so internals never leak.
import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as yogaMaskError } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { DomainError } from '../errors.ts';
import { NoHealthyShardError, ShardTimeoutError } from '../redis/router.ts';

export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  if (error instanceof GraphQLError) {
    const original = error.originalError;
    // Parse, validation and scalar errors (no original), and our own typed errors, are for the client.
    if (!original || original instanceof DomainError) return error;
    // A typed error raised inside graphql itself (a scalar refusing a value), wrapped by the
    // executor's variable coercion: keep both messages and the inner code.
    if (original instanceof GraphQLError && original.extensions.code) {
      return createGraphQLError(`${error.message} ${original.message}`, {
        nodes: error.nodes,
        path: error.path,
        extensions: original.extensions,
      });
    }
    if (isDatabaseUnavailable(original)) {
      return createGraphQLError('the database is unavailable; try again shortly', {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
    }
    if (original instanceof NoHealthyShardError || original instanceof ShardTimeoutError) {
      return createGraphQLError(original instanceof ShardTimeoutError ? 'a Redis shard is slow; nothing was retried, try again' : original.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: original instanceof ShardTimeoutError ? 'RETRYABLE' : 'SERVICE_UNAVAILABLE' },
      });
    }
  }
  if (error instanceof DomainError) return toGraphQLError(error);
  return yogaMaskError(error, message, isDev);
}

/** For errors raised outside resolvers (a bad token while building the context, a limit). */
export function toGraphQLError(error: DomainError, http?: { status: number; headers?: Record<string, string> }): GraphQLError {
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, ...(http ? { http } : {}) },
  });
}
