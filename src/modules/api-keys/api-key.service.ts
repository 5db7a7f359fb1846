import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { CLIENT_APP_NAME } from '../../auth/principal.ts';
import { API_KEY_PREFIX, mintTenantSecret } from '../../auth/tenant-secrets.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, forbidden, notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { ApiKey } from './api-key.entity.ts';

export const API_KEY_SCOPES = ['AGENTS_READ', 'AGENTS_WRITE'] as const;
const createApiKeyInput = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length),
  /** The client app the key is bound to: it runs only that app's published documents (use-trusted-documents.ts). */
  clientApp: z.string().regex(CLIENT_APP_NAME).nullish(),
});

export function listApiKeys(scope: RequestScope, page: PageArgs): Promise<ApiKey[]> {
  assertCan(scope.principal, 'apiKey.read');
  return findPage(scope.em, ApiKey, {}, page);
}

export async function loadApiKeys(scope: RequestScope, ids: string[]): Promise<(ApiKey | null)[]> {
  assertCan(scope.principal, 'apiKey.read');
  const valid = ids.filter((id) => isUuid(id));
  const found = valid.length > 0 ? await scope.em.find(ApiKey, { id: { $in: valid } }) : [];
  return ids.map((id) => found.find((key) => key.id === id) ?? null);
}

/** Creates a key for integrators. The key is returned here once and stored only as a hash. */
export async function createApiKey(scope: RequestScope, input: unknown): Promise<{ apiKey: ApiKey; key: Secret }> {
  assertCan(scope.principal, 'apiKey.manage');
  if (scope.principal.kind !== 'user') throw forbidden();
  const { name, scopes, clientApp } = parseInput(createApiKeyInput, input);
  const id = newId();
  const { secret: key, secretHash } = mintTenantSecret(API_KEY_PREFIX, scope.principal.tenantId, id);
  const apiKey = scope.em.create(ApiKey, {
    id,
    tenantId: scope.principal.tenantId,
    name,
    secretHash,
    scopes: [...new Set(scopes)],
    createdBy: scope.principal.userId,
    clientApp: clientApp ?? null,
  });
  recordAudit(scope, {
    action: 'apiKey.create',
    targetType: 'ApiKey',
    targetId: id,
    detail: { name, scopes: apiKey.scopes, ...(clientApp ? { clientApp } : {}) },
  });
  await scope.em.flush();
  return { apiKey, key };
}

export async function revokeApiKey(scope: RequestScope, id: string): Promise<ApiKey> {
  assertCan(scope.principal, 'apiKey.manage');
  const [apiKey] = await loadApiKeys(scope, [id]);
  if (!apiKey) throw notFound('ApiKey', id);
  if (apiKey.revokedAt) throw clientError('CONFLICT', 'This API key is already revoked');
  apiKey.revokedAt = new Date();
  recordAudit(scope, { action: 'apiKey.revoke', targetType: 'ApiKey', targetId: id });
  await scope.em.flush();
  return apiKey;
}
