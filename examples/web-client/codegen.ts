import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * The web client's typed documents: every `graphql(`…`)` in src/, checked against the gateway's
 * schema (`npm run schema` in the gateway's repository writes it; an operator can also fetch it, see
 * docs/frontend.md). Writes src/gql/: typed documents (TypedDocumentNode) and
 * persisted-documents.json, the manifest `npm run documents:publish` publishes as the app `web`.
 */
const config: CodegenConfig = {
  schema: '../../schema/schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSONObject: 'Record<string, unknown>', ID: 'string' },
      },
    },
  },
};

export default config;
