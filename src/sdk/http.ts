// Queries and mutations over HTTP POST, each with a fresh token from the provider. Nothing is
// resent: a request that gets no answer rejects with fetch's own error.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { RidematchError, type GraphQLErrorShape } from './errors.js';
import type { PersistedDocuments } from './persisted.js';
import { readToken, type TokenSource } from './token.js';

export type Vars = Record<string, unknown>;

export function httpTransport(options: { url: string; token: TokenSource; persisted: PersistedDocuments }) {
  return async function request<R, V extends Vars>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    for (;;) {
      const prepared = options.persisted.prepare(doc, variables);
      const res = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await readToken(options.token)}` },
        body: JSON.stringify(prepared.payload),
      });
      const body = (await res.json()) as { data?: R; errors?: GraphQLErrorShape[] };
      if (options.persisted.refusedHash(doc, prepared, body.errors)) continue; // once more, as text
      if (body.errors?.length) throw new RidematchError(body.errors);
      return body.data as R;
    }
  };
}
