import { createHash } from 'node:crypto';
import type { GraphQLSchema } from 'graphql';
import { getOperationAST, parse } from 'graphql';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { actorOf, CLIENT_APP_NAME } from '../../auth/principal.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, forbidden, notFound } from '../../shared/errors.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { type CostLimitOptions, checkTrustedDocument } from '../policy/index.ts';
import { type AppOwner, type ClientAppRow, insertVersion, listApps, retireVersion } from './client-app.store.ts';

/** Most operations one published version may hold. */
export const MAX_DOCUMENTS_PER_VERSION = 500;
/** Longest document, in characters: the gateway's own request limit (DEFAULT_MAX_DOCUMENT_CHARACTERS). */
const MAX_DOCUMENT_CHARACTERS = 10_000;
const HASH = /^(?:sha256:)?([0-9a-f]{64})$/;

const appName = z.string().regex(CLIENT_APP_NAME, 'lower-case letters, digits, ".", "_" or "-", at most 63');
const appVersion = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/, 'letters, digits, ".", "+", "_" or "-", at most 64');

const publishInput = z.object({
  app: appName,
  version: appVersion,
  platform: z.boolean().nullish(),
  documents: z
    .record(z.string(), z.string().min(1).max(MAX_DOCUMENT_CHARACTERS))
    .refine((documents) => Object.keys(documents).length >= 1, 'at least one operation')
    .refine((documents) => Object.keys(documents).length <= MAX_DOCUMENTS_PER_VERSION, `at most ${MAX_DOCUMENTS_PER_VERSION} operations`),
});

const retireInput = z.object({ app: appName, version: appVersion, platform: z.boolean().nullish() });

/** What publishing needs beyond the request: the schema documents are checked against, and the cost limit. */
export interface PublishDeps {
  schema: GraphQLSchema;
  cost: CostLimitOptions;
}

/**
 * Platform apps (every tenant may run them) are operators' to publish and retire; a tenant's own
 * apps are its owners' and admins'. Decided from the principal, before anything is read.
 */
function ownerFor(scope: RequestScope, platform: boolean | null | undefined): AppOwner {
  if (platform) {
    assertCan(scope.principal, 'platform.documents.manage');
    return { kind: 'platform' };
  }
  assertCan(scope.principal, 'documents.publish');
  if (scope.principal.kind !== 'user') throw forbidden();
  return { kind: 'tenant', tenantId: scope.principal.tenantId };
}

/** The tenant's own apps (owners and admins), or the platform's (operators). */
export function listClientApps(scope: RequestScope, platform: boolean | null | undefined): Promise<ClientAppRow[]> {
  if (platform) {
    assertCan(scope.principal, 'platform.documents.manage');
    return listApps(scope.em, { kind: 'platform' });
  }
  assertCan(scope.principal, 'documents.read');
  if (scope.principal.kind !== 'user') throw forbidden();
  return listApps(scope.em, { kind: 'tenant', tenantId: scope.principal.tenantId });
}

/**
 * Publishes a manifest (the client preset's persisted-documents output: `{"sha256:<hex>": document}`)
 * as one version of an app. All or nothing: every hash must be the SHA-256 of its document, and every
 * document must parse, hold one operation, validate against the current schema and pass the
 * gateway's depth, alias, directive, token and cost limits; the first invalid one is named in the
 * refusal and all are listed in `extensions.invalidOperations`.
 */
export async function publishDocuments(scope: RequestScope, input: unknown, deps: PublishDeps): Promise<ClientAppRow> {
  const owner = ownerFor(scope, (input as { platform?: boolean } | null)?.platform);
  const { app, version, documents } = parseInput(publishInput, input);
  const manifest: Record<string, string> = {};
  const invalid: { operation: string; hash: string; reason: string }[] = [];
  for (const [key, document] of Object.entries(documents)) {
    const hex = HASH.exec(key)?.[1];
    const name = operationNameOf(document);
    const hash = hex ? `sha256:${hex}` : key.slice(0, 80);
    const reason = !hex
      ? 'the key is not a sha256 hash'
      : createHash('sha256').update(document).digest('hex') !== hex
        ? 'the hash is not the SHA-256 of the document'
        : checkTrustedDocument(deps.schema, document, deps.cost);
    if (reason) invalid.push({ operation: name, hash, reason: reason.slice(0, 300) });
    else manifest[hash] = document;
  }
  const first = invalid[0];
  if (first) {
    throw clientError('BAD_USER_INPUT', `Manifest refused: operation ${first.operation} (${first.hash}) is invalid: ${first.reason}`, {
      invalidOperations: invalid,
    });
  }
  const publishedBy = `${actorOf(scope.principal).actorType}:${actorOf(scope.principal).actorId}`;
  if (!(await insertVersion(scope.em, owner, { name: app, version, documents: manifest, publishedBy }))) {
    throw clientError('CONFLICT', `Version ${version} of ${app} is already published`);
  }
  if (owner.kind === 'tenant') {
    recordAudit(scope, {
      action: 'documents.publish',
      targetType: 'ClientApp',
      targetId: app,
      detail: { version, operations: invalid.length + Object.keys(manifest).length },
    });
  } else {
    scope.log.info({ app, version, operations: Object.keys(manifest).length }, 'platform app version published');
  }
  return appNamed(scope, owner, app);
}

/** Retires one version: its hashes stop working on every replica within a second (document-registry.ts). */
export async function retireDocumentsVersion(scope: RequestScope, input: unknown): Promise<ClientAppRow> {
  const owner = ownerFor(scope, (input as { platform?: boolean } | null)?.platform);
  const { app, version } = parseInput(retireInput, input);
  if (!(await retireVersion(scope.em, owner, app, version))) throw notFound('ClientAppVersion');
  if (owner.kind === 'tenant')
    recordAudit(scope, { action: 'documents.retire', targetType: 'ClientApp', targetId: app, detail: { version } });
  else scope.log.info({ app, version }, 'platform app version retired');
  return appNamed(scope, owner, app);
}

async function appNamed(scope: RequestScope, owner: AppOwner, name: string): Promise<ClientAppRow> {
  const [found] = await listApps(scope.em, owner, name);
  if (!found) throw notFound('ClientApp');
  return found;
}

/** The operation's name for a refusal (`anonymous` when it has none, `unparsable` when it does not parse). */
function operationNameOf(document: string): string {
  try {
    return getOperationAST(parse(document, { maxTokens: 4_000 }))?.name?.value ?? 'anonymous';
  } catch {
    return 'unparsable';
  }
}
