import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import type { GraphQLParams } from 'graphql-yoga';
import { CLIENT_APP_NAME, type Principal, tenantOf } from '../../auth/principal.ts';
import { type AuthDeps, principalOf, settledPrincipalOf } from '../../request/authenticate.ts';
import { clientError } from '../../shared/errors.ts';
import { type MaybePromise, whenSettled } from '../../shared/maybe-promise.ts';

/** The app a request runs when it names none and its credential is bound to none: the gateway's own operations. */
export const DEFAULT_CLIENT_APP = 'fleetgate';
const CLIENT_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/;

/** A trusted document found for a request: the app and version that published it. */
export interface FoundDocument {
  document: string;
  app: string;
  version: string;
  /** A platform app (the gateway's own) rather than the tenant's. */
  platform: boolean;
}

/** Where trusted documents are looked up (src/modules/documents/document-registry.ts). */
export interface TrustedDocumentLookup {
  /** The document of `hash` in the live versions of `app` as `tenantId` (undefined: anonymous) may run it; null when none. A value when remembered. */
  find(tenantId: string | undefined, app: string, version: string | undefined, hash: string): MaybePromise<FoundDocument | null>;
}

export interface TrustedDocumentsOptions {
  auth: AuthDeps;
  /**
   * `production`: only operators may send arbitrary operations; everyone else runs published documents.
   * `development`: users and anonymous callers may too. Integrators (API keys) never may.
   */
  mode: 'development' | 'production';
  /** The published client apps and their documents (cached per replica). */
  registry: TrustedDocumentLookup;
}

const found = new WeakMap<Request, FoundDocument>();

/** The trusted document a request runs, and the app and version that published it (metrics); undefined for an arbitrary operation. */
export function trustedDocumentOf(request: Request): FoundDocument | undefined {
  return found.get(request);
}

/**
 * Who may send an operation that is not a published document, decided per request from its principal.
 * API keys are for integrations: they run only reviewed, published documents. A credential bound to
 * a client app runs only that app's documents, in every mode: binding it is the owner's promise that
 * nothing else will run under it.
 */
export function mayRunArbitraryOperations(principal: Principal, mode: TrustedDocumentsOptions['mode']): boolean {
  if (principal.kind === 'apiKey') return false;
  if (principal.kind === 'user' && principal.clientApp !== undefined) return false;
  if (principal.kind === 'operator') return true;
  return mode === 'development';
}

/**
 * The app whose documents a request may run: the one its credential is bound to, else the one it
 * names (`x-graphql-client-name`, the Hive/Apollo convention), else the gateway's own. A bound
 * credential naming another app is refused: a key bound to app X never runs app Y's documents.
 */
export function clientAppOf(principal: Principal, request: Request): { app: string; version: string | undefined } {
  const named = request.headers.get('x-graphql-client-name') ?? undefined;
  const version = request.headers.get('x-graphql-client-version') ?? undefined;
  const bound = principal.kind === 'apiKey' || principal.kind === 'user' ? principal.clientApp : undefined;
  if (bound !== undefined && named !== undefined && named !== bound) {
    throw clientError('FORBIDDEN', 'This credential is bound to another client app', { http: { status: 403 } });
  }
  const app = bound ?? named ?? DEFAULT_CLIENT_APP;
  return {
    app: CLIENT_APP_NAME.test(app) ? app : '',
    version: version === undefined ? undefined : CLIENT_VERSION.test(version) ? version : '',
  };
}

/**
 * The app a session opened by this request is bound to: the one the signing-in client names
 * (`x-graphql-client-name`), when well-formed. The session's tokens then run only that app's
 * documents; naming an app only ever narrows what a session may do, so the client may choose it.
 */
export function sessionClientAppOf(request: Request): string | null {
  const named = request.headers.get('x-graphql-client-name');
  return named !== null && CLIENT_APP_NAME.test(named) ? named : null;
}

/**
 * Trusted documents: requests name an operation by hash, either `documentId: "sha256:<hex>"`
 * (GraphQL over HTTP) or Apollo's `extensions.persistedQuery.sha256Hash`, and the hash is looked up
 * in the live versions of the request's client app (see clientAppOf): the tenant's own app of that
 * name, else the platform app. Another tenant's apps are never consulted. Depth, cost and every
 * other rule still run on a trusted document: it is parsed and validated like any other.
 */
export function useTrustedDocuments(options: TrustedDocumentsOptions) {
  const documentFor = (principal: Principal, request: Request, key: string): MaybePromise<string | null> => {
    const { app, version } = clientAppOf(principal, request);
    if (app === '' || version === '') return null;
    return whenSettled(options.registry.find(tenantOf(principal), app, version, key), (document) => {
      if (!document) return null;
      found.set(request, document);
      return document.document;
    });
  };
  // The principal is settled by now (the server authenticates as soon as the parameters are parsed),
  // so a remembered document answers without a promise; an invalid credential has no settled
  // principal, and principalOf refuses it with its 401 (UNAUTHENTICATED) before any lookup.
  return usePersistedOperations({
    getPersistedOperation: (key, request) => {
      const principal = settledPrincipalOf(request);
      return principal
        ? documentFor(principal, request, key)
        : principalOf(request, options.auth).then((p) => documentFor(p, request, key));
    },
    extractPersistedOperationId: documentIdOf,
    allowArbitraryOperations: (request) => {
      const principal = settledPrincipalOf(request);
      if (principal) return mayRunArbitraryOperations(principal, options.mode);
      return principalOf(request, options.auth).then(
        (each) => mayRunArbitraryOperations(each, options.mode),
        () => true, // an invalid credential is refused with 401 when the context is built
      );
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

/** The trusted document a request names: `documentId` (GraphQL over HTTP) or Apollo's `extensions.persistedQuery.sha256Hash`. */
export function documentIdOf(params: GraphQLParams): string | null {
  const documentId = (params as GraphQLParams & { documentId?: unknown }).documentId;
  if (typeof documentId === 'string') return documentId;
  const hash = (params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
  return typeof hash === 'string' ? `sha256:${hash}` : null;
}
