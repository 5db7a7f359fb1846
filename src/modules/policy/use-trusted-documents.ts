import type { Plugin } from 'graphql-yoga';
import { CLIENT_APP_NAME, type Principal, tenantOf } from '../../auth/principal.ts';
import { type AuthDeps, principalOf, settledPrincipalOf } from '../../request/authenticate.ts';
import { clientError } from '../../shared/errors.ts';
import { type MaybePromise, whenSettled } from '../../shared/maybe-promise.ts';

/** The app a request runs when it names none and its credential is bound to none: the gateway's own operations. */
export const DEFAULT_CLIENT_APP = 'fleetgate';
const CLIENT_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/;

/** A trusted document found for a request: the app and version that published it (one object per document, shared by its requests). */
export interface FoundDocument {
  readonly document: string;
  readonly app: string;
  readonly version: string;
  /** A platform app (the gateway's own) rather than the tenant's. */
  readonly platform: boolean;
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

/** Where a request's context carries the trusted document it runs (a property, not a weak map: no entry per request for the GC). */
const TRUSTED_DOCUMENT = Symbol('trustedDocument');

/** The trusted document a request's operation runs, and the app and version that published it (metrics); undefined for an arbitrary operation. */
export function trustedDocumentOf(context: object): FoundDocument | undefined {
  return (context as { [TRUSTED_DOCUMENT]?: FoundDocument })[TRUSTED_DOCUMENT];
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

/** The parts of a request's parameters (GraphQL over HTTP, or a graphql-ws subscribe payload) that name its operation. */
export interface OperationParams {
  query?: string;
  documentId?: unknown;
  extensions?: Readonly<Record<string, unknown>> | null;
}

/**
 * The trusted document a request runs, or null to run the operation it sent (`query`) as it is: one
 * decision for HTTP (useTrustedDocuments) and graphql-ws. A named hash (`documentId: "sha256:<hex>"`,
 * or Apollo's `extensions.persistedQuery.sha256Hash`) is looked up in the live versions of the
 * request's client app (clientAppOf): the tenant's own app of that name, else the platform app;
 * another tenant's apps are never consulted. Unknown: PERSISTED_QUERY_NOT_IN_LIST. An operation sent
 * as text runs only where mayRunArbitraryOperations allows it, else PERSISTED_QUERY_ONLY (403). A
 * remembered document answers without a promise. Depth, cost and every other rule still run on a
 * trusted document: it is parsed and validated like any other.
 */
export function trustedDocumentFor(
  principal: Principal,
  request: Request,
  params: OperationParams,
  options: Pick<TrustedDocumentsOptions, 'mode' | 'registry'>,
): MaybePromise<FoundDocument | null> {
  const hash = documentIdOf(params);
  if (hash === null) {
    if (!mayRunArbitraryOperations(principal, options.mode)) {
      throw clientError('PERSISTED_QUERY_ONLY', 'This credential may only run persisted operations', { http: { status: 403 } });
    }
    return null;
  }
  const { app, version } = clientAppOf(principal, request);
  const found = app === '' || version === '' ? null : options.registry.find(tenantOf(principal), app, version, hash);
  return whenSettled(found, (document) => {
    if (!document) throw clientError('PERSISTED_QUERY_NOT_IN_LIST', 'Unknown persisted operation');
    return document;
  });
}

/**
 * Trusted documents over HTTP: before the operation is parsed, its parameters are replaced by the
 * trusted document it names (trustedDocumentFor), which its context then carries (trustedDocumentOf).
 * The principal is settled by now (the server authenticates as soon as the parameters are parsed), so
 * a remembered document answers without a promise. An invalid credential is refused with its 401
 * (UNAUTHENTICATED): before the lookup when the request names a document, when its context is built
 * otherwise.
 */
export function useTrustedDocuments(options: TrustedDocumentsOptions): Plugin {
  return {
    onParams({ params, request, setParams, context }) {
      const run = (principal: Principal) =>
        whenSettled(trustedDocumentFor(principal, request, params, options), (document) => {
          if (!document) return;
          (context as { [TRUSTED_DOCUMENT]?: FoundDocument })[TRUSTED_DOCUMENT] = document;
          // Without `documentId`: yoga's own check of the parameters, after this hook, refuses names it does not know.
          const { operationName, variables, extensions } = params;
          setParams({ query: document.document, operationName, variables, extensions });
        });
      const principal = settledPrincipalOf(request);
      if (principal) return run(principal);
      return principalOf(request, options.auth).then(run, (error: unknown) => {
        if (documentIdOf(params) !== null) throw error;
      });
    },
  };
}

/** The trusted document a request names: `documentId` (GraphQL over HTTP) or Apollo's `extensions.persistedQuery.sha256Hash`. */
export function documentIdOf(params: OperationParams): string | null {
  const documentId = params.documentId;
  if (typeof documentId === 'string') return documentId;
  const hash = (params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
  return typeof hash === 'string' ? `sha256:${hash}` : null;
}
