import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the tests (every `graphql(`…`)` document under test/) and the persisted
 * operations manifests of schema/operations/ and console/operations/, all checked against schema/schema.graphql.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    // The trusted documents: `persisted-documents.json` maps sha256 hashes to the operations
    // integrators may run. Checked in, so the gateway starts without running codegen.
    'src/generated/operations/': {
      documents: ['schema/operations/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
      config: { useTypeImports: true, enumsAsTypes: true },
    },
    // The console's operations (console/operations/), published as the platform app `console`
    // (src/console/console-app.ts). The page carries only their hashes and types, never the text.
    'console/src/gql/': {
      documents: ['console/operations/*.graphql'],
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256', mode: 'replaceDocumentWithHash' } },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSONObject: 'Record<string, unknown>', ID: 'string' },
      },
    },
    'test/gql/': {
      documents: ['test/**/*.ts', '!test/gql/**'],
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
