// GraphQL Code Generator: typed operations for the SDK (src/sdk/client.ts) from schema.graphql
// and the operations in src/sdk/operations/*.graphql. `npm run codegen` rewrites
// src/sdk/generated/; test/codegen.test.ts fails when the committed output is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/sdk/operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/sdk/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string', // TypedDocumentString: the query text, typed; fits graphql-ws and fetch alike
        useTypeImports: true,
        enumsAsTypes: true,
        importExtension: '.ts',
        scalars: { DateTime: 'string' },
        strictScalars: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
      },
    },
  },
};

export default config;
