// GraphQL Code Generator: typed operations for the SDK (src/sdk/client.ts) from schema.graphql
// and the operations in src/sdk/operations/*.graphql. `npm run codegen` rewrites
// src/sdk/generated/; test/codegen.test.ts fails when the committed output is stale.
// - Documents are TypedDocumentNodes (the preset's default), which Apollo Client and urql take.
// - `.js` import extensions: the SDK is compiled into a package by plain tsc (npm run build:sdk).
// - persistedDocuments: persisted-documents.json maps the sha256 of each document's text (bare
//   hex, the format of extensions.persistedQuery.sha256Hash) to the text, for the server
//   (src/api/persisted-operations.ts); each document carries its hash in __meta__.hash.
import { createHash } from 'node:crypto';
import type { CodegenConfig } from '@graphql-codegen/cli';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/sdk/operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/sdk/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: sha256 } },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        importExtension: '.js',
        scalars: { DateTime: 'string', JSON: 'unknown' },
        strictScalars: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
      },
    },
  },
};

export default config;
