// Persisted operations (trusted documents). GraphQL Code Generator writes the SDK's documents,
// keyed by the sha256 of their text, to src/sdk/generated/persisted-documents.json; a client then
// sends extensions.persistedQuery.sha256Hash (as Apollo, urql and our SDK do) instead of the text.
// PERSISTED_OPERATIONS says what is accepted, the same on both transports:
//   off    the manifest is not consulted: operations come as text. A hash alone is answered
//          PERSISTED_QUERY_NOT_FOUND, so a client resends the text.
//   allow  (default) a known hash runs the manifest's text; a text runs as sent.
//   only   a known hash, nothing else: a text is refused (PERSISTED_QUERY_ONLY), an unknown hash
//          is not found. For deployments serving only apps built on the SDK (GraphiQL and
//          hand-written queries stop working).
// A known hash wins over a text sent beside it (Apollo's GraphQLWsLink always sends the text), so
// 'only' executes manifest documents and nothing else. HTTP: Yoga's persisted-operations plugin.
// graphql-ws, where Yoga's HTTP plugins do not run: server.ts's onSubscribe asks resolveOperation().
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { PersistedOperationsMode } from '../config.ts';
import manifest from '../sdk/generated/persisted-documents.json' with { type: 'json' };

/** sha256 of the text → the text. A Map, so a client's "hash" can never name a prototype key. */
const DOCUMENTS: ReadonlyMap<string, string> = new Map(Object.entries(manifest));

const NOT_FOUND = { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } };
const ONLY_PERSISTED = {
  message: 'only persisted operations are accepted: send extensions.persistedQuery.sha256Hash of an SDK document',
  extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } },
};
const NO_QUERY = { message: 'Must provide query string.', extensions: { code: 'BAD_REQUEST', http: { status: 400 } } };

/** extensions.persistedQuery.sha256Hash with version 1 (Apollo's format), or null. */
function hashIn(extensions: unknown): string | null {
  const persisted = (extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | null | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : null;
}

const known = (mode: PersistedOperationsMode, hash: string | null): string | undefined =>
  mode === 'off' || hash === null ? undefined : DOCUMENTS.get(hash);

/** HTTP: Yoga's plugin, with the manifest as its store. */
export function persistedOperationPlugins(mode: PersistedOperationsMode): Plugin[] {
  return [
    {
      // Yoga's plugin runs a text whenever one is sent; a known hash beside it wins instead.
      onParams({ params, setParams }) {
        if (params.query && known(mode, hashIn(params.extensions))) setParams({ ...params, query: undefined });
      },
    },
    usePersistedOperations({
      getPersistedOperation: (hash) => known(mode, hash) ?? null,
      extractPersistedOperationId: (params) => hashIn(params.extensions),
      allowArbitraryOperations: mode !== 'only',
      customErrors: { notFound: NOT_FOUND, persistedQueryOnly: ONLY_PERSISTED, keyNotFound: NO_QUERY },
    }),
  ];
}

/** graphql-ws: the text to run for a subscribe message, or the error refusing it (the rules above). */
export function resolveOperation(mode: PersistedOperationsMode, payload: { query: string; extensions?: unknown }): string | GraphQLError {
  const hash = hashIn(payload.extensions);
  const persisted = known(mode, hash);
  if (persisted) return persisted;
  if (!payload.query && hash) return new GraphQLError(NOT_FOUND.message, { extensions: NOT_FOUND.extensions });
  if (mode === 'only') return new GraphQLError(ONLY_PERSISTED.message, { extensions: { code: ONLY_PERSISTED.extensions.code } });
  return payload.query; // an empty text is the parser's to refuse, as without persisted operations
}
