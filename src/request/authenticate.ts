import type { Principal } from '../auth/principal.ts';
import { API_KEY_PREFIX, looksLikeApiKey, parseTenantSecret, secretMatches } from '../auth/tenant-secrets.ts';
import type { TokenIssuer } from '../auth/tokens.ts';
import type { Regions } from '../db/regions.ts';
import { forkForPrincipal } from '../db/request-scope.ts';
import { ApiKey } from '../modules/api-keys/index.ts';
import { SupportGrant } from '../modules/support/index.ts';
import { unauthenticated } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

const principals = new WeakMap<Request, Promise<Principal>>();
const settled = new WeakMap<Request, Principal>();

/**
 * The request's principal, authenticated once per request however many plugins ask (policies
 * decide before the context exists: trusted documents, introspection).
 */
export function principalOf(request: Request, deps: AuthDeps): Promise<Principal> {
  let principal = principals.get(request);
  if (!principal) {
    principal = authenticate(request, deps);
    principals.set(request, principal);
    principal.then((value) => settled.set(request, value)).catch(() => undefined);
  }
  return principal;
}

/**
 * The principal of a request already authenticated by `principalOf`, for synchronous hooks
 * (validation). Undefined when authentication has not finished or failed: treat as anonymous.
 */
export function settledPrincipalOf(request: Request): Principal | undefined {
  return settled.get(request);
}

export interface AuthDeps {
  /** API keys and support grants are looked up in their tenant's region. */
  regions: Regions;
  tokens: TokenIssuer;
  log: Logger;
}

/**
 * Derives the request's single principal from its credential. No credential: anonymous. A
 * credential that is present but invalid (expired, forged, revoked, unknown, wrong algorithm) is
 * refused outright with UNAUTHENTICATED rather than downgraded to anonymous.
 */
async function authenticate(request: Request, deps: AuthDeps): Promise<Principal> {
  const header = request.headers.get('authorization');
  if (header === null || header.trim() === '') return { kind: 'anonymous' };
  const match = /^Bearer\s+(\S{1,4096})$/i.exec(header.trim());
  if (!match?.[1]) throw unauthenticated();
  const credential = match[1];
  let principal = looksLikeApiKey(credential) ? await verifyApiKey(credential, deps.regions) : await deps.tokens.verify(credential);
  if (principal?.kind === 'support' && !(await grantIsLive(principal, deps.regions))) principal = undefined;
  // An agent token's liveness (its agent still holds the token's generation) is checked in the
  // request's own transaction, by its first statement: see useRequestTransaction.
  if (!principal) {
    deps.log.info({ credential: looksLikeApiKey(credential) ? 'apiKey' : 'token' }, 'authentication refused');
    throw unauthenticated();
  }
  return principal;
}

/**
 * Looks the key up under the tenant id the key claims, inside that tenant's RLS context: a key
 * claiming another tenant finds no row there. Then compares the secret hash in constant time.
 */
async function verifyApiKey(credential: string, regions: Regions): Promise<Principal | undefined> {
  const parsed = parseTenantSecret(API_KEY_PREFIX, credential);
  if (!parsed) return undefined;
  const claimed: Principal = { kind: 'apiKey', tenantId: parsed.tenantId, keyId: parsed.id, scopes: [] };
  const region = await regions.locate(parsed.tenantId);
  if (!region) return undefined;
  const em = forkForPrincipal(region.orm, claimed);
  const key = await em.transactional((tx) => tx.findOne(ApiKey, { id: parsed.id, revokedAt: null }, { populate: ['secretHash'] }));
  if (!key || !secretMatches(key.secretHash, parsed.secretHash)) return undefined;
  return { ...claimed, scopes: key.scopes, ...(key.clientApp ? { clientApp: key.clientApp } : {}) };
}

/**
 * A support token is only as good as its grant: found under the grant's tenant (RLS), not revoked
 * and not expired. The token's own `exp` ends it too; this check makes revocation immediate.
 */
async function grantIsLive(principal: Principal & { kind: 'support' }, regions: Regions): Promise<boolean> {
  const region = await regions.locate(principal.tenantId);
  if (!region) return false;
  const em = forkForPrincipal(region.orm, principal);
  const grant = await em.transactional((tx) =>
    tx.findOne(SupportGrant, {
      id: principal.grantId,
      supportPrincipal: principal.supportPrincipal,
      revokedAt: null,
      expiresAt: { $gt: new Date() },
    }),
  );
  return grant !== null;
}
