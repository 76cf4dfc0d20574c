// What the transports need to know about a generated document: its operation, its text (graphql-ws
// and HTTP send text, the generated documents are ASTs) and its persisted-operation hash.
import { print, type DocumentNode, type OperationDefinitionNode } from 'graphql';

export type OperationKind = 'query' | 'mutation' | 'subscription';

export function operationOf(doc: DocumentNode): { kind: OperationKind; name: string | undefined } {
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  if (!op) throw new Error('the document has no operation');
  return { kind: op.operation, name: op.name?.value };
}

const texts = new WeakMap<DocumentNode, string>();

/** The document as text, printed once per document. */
export function textOf(doc: DocumentNode): string {
  let text = texts.get(doc);
  if (text === undefined) texts.set(doc, (text = print(doc)));
  return text;
}

/** The sha256 hash GraphQL Code Generator stamped on the document (`persistedDocuments`), if any. */
export const hashOf = (doc: DocumentNode): string | undefined => (doc as { __meta__?: { hash?: string } }).__meta__?.hash;
