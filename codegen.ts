import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the tests (and, with the policy issue, the persisted-operations manifest):
 * every `graphql(`…`)` document under test/ is checked against schema/schema.graphql.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSONObject: 'Record<string, unknown>', ID: 'string' },
      },
    },
  },
};

export default config;
