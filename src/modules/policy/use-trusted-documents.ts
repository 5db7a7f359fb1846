import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams } from 'graphql-yoga';
import { type AuthDeps, principalOf } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import manifest from '../../generated/operations/persisted-documents.json' with { type: 'json' };

const trustedDocuments: Record<string, string> = manifest;

export interface TrustedDocumentsOptions {
  auth: AuthDeps;
  /**
   * `production`: only operators may send arbitrary operations; everyone else runs the manifest's.
   * `development`: users and anonymous callers may too. Integrators (API keys) never may.
   */
  mode: 'development' | 'production';
}

/**
 * Who may send an operation that is not in the manifest, decided per request from its principal.
 * API keys are for integrations: they run only the reviewed operations of schema/operations/.
 */
export function mayRunArbitraryOperations(principal: Principal, mode: TrustedDocumentsOptions['mode']): boolean {
  if (principal.kind === 'apiKey') return false;
  if (principal.kind === 'operator') return true;
  return mode === 'development';
}

/**
 * Trusted documents: requests name an operation by hash, either `documentId: "sha256:<hex>"`
 * (GraphQL over HTTP) or Apollo's `extensions.persistedQuery.sha256Hash`. Depth, cost and every
 * other rule still run on a persisted operation: it is parsed and validated like any other.
 */
export function useTrustedDocuments(options: TrustedDocumentsOptions) {
  return usePersistedOperations({
    getPersistedOperation: (key) => trustedDocuments[key] ?? null,
    extractPersistedOperationId: documentIdOf,
    allowArbitraryOperations: async (request) => {
      try {
        return mayRunArbitraryOperations(await principalOf(request, options.auth), options.mode);
      } catch {
        return true; // an invalid credential is refused with 401 when the context is built
      }
    },
    customErrors: {
      notFound: { message: 'Unknown persisted operation', extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } },
      persistedQueryOnly: {
        message: 'This credential may only run persisted operations',
        extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 403 } },
      },
    },
  });
}

function documentIdOf(params: GraphQLParams): string | null {
  const documentId = (params as GraphQLParams & { documentId?: unknown }).documentId;
  if (typeof documentId === 'string') return documentId;
  const hash = (params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
  return typeof hash === 'string' ? `sha256:${hash}` : null;
}
