// Persisted operations, the client's side: a generated document goes out as its hash alone
// (extensions.persistedQuery.sha256Hash, the format Apollo and urql send), so the server runs the
// text from its manifest. When the server answers PERSISTED_QUERY_NOT_FOUND (it runs with
// PERSISTED_OPERATIONS=off, or was built from other documents), that document is sent as text
// from then on.
import type { DocumentNode } from 'graphql';
import { hashOf, operationOf, textOf } from './documents.js';
import type { GraphQLErrorShape } from './errors.js';

export interface OperationPayload {
  /** Empty when the hash stands for the text (graphql-ws requires a string; Yoga reads '' as none). */
  query: string;
  operationName?: string;
  variables: Record<string, unknown>;
  extensions?: { persistedQuery: { version: 1; sha256Hash: string } };
}

export interface Prepared {
  payload: OperationPayload;
  byHash: boolean;
}

export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';

export class PersistedDocuments {
  private readonly unknownToServer = new WeakSet<DocumentNode>();

  constructor(private readonly enabled: boolean) {}

  prepare(doc: DocumentNode, variables: Record<string, unknown>): Prepared {
    const { name } = operationOf(doc);
    const hash = hashOf(doc);
    if (this.enabled && hash && !this.unknownToServer.has(doc)) {
      return { byHash: true, payload: { query: '', operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } };
    }
    return { byHash: false, payload: { query: textOf(doc), operationName: name, variables } };
  }

  /** True when the server did not know the hash it was sent; the document goes as text from now on. */
  refusedHash(doc: DocumentNode, prepared: Prepared, errors: readonly GraphQLErrorShape[] | undefined): boolean {
    if (!prepared.byHash || !errors?.some((e) => e.extensions?.code === PERSISTED_QUERY_NOT_FOUND)) return false;
    this.unknownToServer.add(doc);
    return true;
  }
}
