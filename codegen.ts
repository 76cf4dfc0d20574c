// GraphQL Code Generator: typed operations for the SDK (src/sdk/client.ts) from schema.graphql
// and the operations in src/sdk/operations/*.graphql. `npm run codegen` rewrites
// src/sdk/generated/; test/codegen.test.ts fails when the committed output is stale.
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
        scalars: { DateTime: 'string' },
        strictScalars: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
      },
    },
  },
};

export default config;
