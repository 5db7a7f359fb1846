import { type EntityManager, TransactionPropagation, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import type { Region, Regions } from '../../db/regions.ts';
import { forkForTenant } from '../../db/request-scope.ts';
import type { RequestScope } from '../../request/scope.ts';
import { badInput, clientError, forbidden, notFound, unauthenticated } from '../../shared/errors.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { openSession, type SessionTokens, sessionPrincipal } from '../sessions/index.ts';
import { User } from '../users/index.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import type { ConnectionRow, PlatformOidcConnection } from './oidc.store.ts';
import * as store from './oidc.store.ts';
import { JIT_ROLES, type MappedRole, OidcConnection } from './oidc-connection.entity.ts';

export type { PlatformOidcConnection } from './oidc.store.ts';

const DOMAIN = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a domain name such as example.com');
const connectionInput = z.object({
  issuer: z.string().trim().min(1).max(500),
  clientId: z.string().trim().min(1).max(200),
  allowedDomains: z.array(DOMAIN).min(1).max(50),
  roleClaim: z.string().trim().min(1).max(100).nullish(),
  roleMapping: z.record(z.string().min(1).max(200), z.enum(JIT_ROLES)).default({}),
  jitRole: z.enum(JIT_ROLES).nullish(),
});

/**
 * An owner registers which issuer and client id sign its members in, for which email domains, how
 * a claim maps to a role and whether unknown people of those domains may join (just in time). Only
 * owners: a connection decides who becomes a member.
 */
export async function registerOidcConnection(scope: RequestScope, input: unknown, keys: IssuerKeys): Promise<OidcConnection> {
  assertCan(scope.principal, 'identity.manage');
  if (scope.principal.kind !== 'user') throw forbidden();
  const parsed = parseInput(connectionInput, input);
  if (!keys.acceptsIssuer(parsed.issuer)) throw badInput('The issuer must be an https URL without query or fragment', 'issuer');
  const connection = scope.em.create(OidcConnection, {
    id: newId(),
    tenantId: scope.principal.tenantId,
    issuer: parsed.issuer,
    clientId: parsed.clientId,
    allowedDomains: [...new Set(parsed.allowedDomains)],
    roleClaim: parsed.roleClaim ?? null,
    roleMapping: parsed.roleMapping,
    jitRole: parsed.jitRole ?? null,
  });
  recordAudit(scope, {
    action: 'oidc.connection.register',
    targetType: 'OidcConnection',
    targetId: connection.id,
    detail: {
      issuer: connection.issuer,
      clientId: connection.clientId,
      allowedDomains: connection.allowedDomains,
      jitRole: connection.jitRole,
    },
  });
  try {
    await scope.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException)
      throw clientError('CONFLICT', 'This issuer and client id are already registered');
    throw error;
  }
  return connection;
}

export function listOidcConnections(scope: RequestScope): Promise<OidcConnection[]> {
  assertCan(scope.principal, 'identity.manage');
  return scope.em.find(OidcConnection, {}, { orderBy: { id: 'asc' } });
}

/** Removes a connection; the identities it linked stay with their members (another connection of the same issuer may use them). */
export async function deleteOidcConnection(scope: RequestScope, id: string): Promise<string> {
  assertCan(scope.principal, 'identity.manage');
  const connection = isUuid(id) ? await scope.em.findOne(OidcConnection, { id }) : null;
  if (!connection) throw notFound('OidcConnection', id);
  scope.em.remove(connection);
  recordAudit(scope, {
    action: 'oidc.connection.delete',
    targetType: 'OidcConnection',
    targetId: id,
    detail: { issuer: connection.issuer },
  });
  await scope.em.flush();
  return id;
}

interface Candidate {
  region: Region;
  connection: ConnectionRow;
}

export interface OidcSignInDeps {
  regions: Regions;
  tokens: TokenIssuer;
  oidc: IssuerKeys;
  requestId: string;
  log: RequestScope['log'];
}

/**
 * Signs a person in with an ID token of an issuer some tenant trusts, and opens a session.
 * 1. The token's `iss` and `aud` are only hints: they select the connections registered for that
 *    issuer and client id, in every region: the tenants' (oidc_connections_of, the one lookup of
 *    connections across tenants) and the platform's (platform_oidc_connections_of).
 * 2. The token is verified for each such client id (IssuerKeys: signature, iss, aud, exp, nonce).
 * 3. A connection accepts the person only with a verified email of one of its domains: tenant A's
 *    connection never admits someone of tenant B's domain. Then, in that tenant's own rows: the
 *    identity already linked to a member, else the member with that email (an invited member's
 *    first sign-in links it), else a new member with the connection's just-in-time role, if it has one.
 *    A platform connection (operators', for standard tenants without an identity provider) admits
 *    the person only to the standard tenants where it already is a member (platform_oidc_member_tenants:
 *    tenant ids by linked identity or verified email), never just in time.
 * 4. Exactly one tenant must accept; with several, the caller names one (`tenant`), and the refusal
 *    (OIDC_TENANT_REQUIRED) offers only the tenants where the person is an active member (choicesOf).
 *    A named tenant that does not admit the person, or does not exist, is OIDC_UNKNOWN_SUBJECT alike.
 * An ID token signs in once: its hash is kept until it expires and a replay is refused.
 */
export async function signInWithOidc(
  deps: OidcSignInDeps,
  input: { idToken: string; nonce?: string | null; tenant?: string | null; deviceLabel?: string | null; clientApp?: string | null },
): Promise<SessionTokens> {
  const claimed = deps.oidc.claimed(input.idToken);
  if (!claimed) throw unauthenticated();
  const found = await Promise.all(
    deps.regions.all.map(async (region) => {
      const { tenants, platform } = await store.connectionsFor(region.orm.em.fork(), claimed.issuer, claimed.audiences);
      return { region, tenants, platform };
    }),
  );
  const verified = new Map<string, JWTPayload | undefined>();
  for (const clientId of new Set(found.flatMap(({ tenants, platform }) => [...tenants, ...platform].map((c) => c.client_id)))) {
    verified.set(clientId, await deps.oidc.verify(input.idToken, claimed.issuer, clientId, input.nonce));
  }
  const claims = [...verified.values()].find((payload) => payload !== undefined);
  if (!claims?.sub) throw unauthenticated();
  const email = claims.email_verified === true && typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
  const domain = email?.split('@')[1];
  const accepts = (connection: { client_id: string; allowed_domains: string[] }) =>
    verified.get(connection.client_id) !== undefined &&
    domain !== undefined &&
    (connection.allowed_domains.includes(domain) || connection.allowed_domains.includes('*'));
  const accepting: Candidate[] = [];
  for (const { region, tenants, platform } of found) {
    for (const connection of tenants.filter(accepts)) accepting.push({ region, connection });
    // A platform connection admits the person to the standard tenants where it is already a member.
    for (const connection of platform.filter(accepts)) {
      const members = await store.platformMemberTenants(region.orm.em.fork(), claimed.issuer, claims.sub, email);
      for (const tenant_id of members) {
        accepting.push({ region, connection: { ...connection, tenant_id, role_claim: null, role_mapping: {}, jit_role: null } });
      }
    }
  }
  const chosen = onePerTenant(accepting).filter(({ connection }) => !input.tenant || connection.tenant_id === input.tenant);
  const admitting: Admitted[] = [];
  for (const candidate of chosen) {
    const admission = await admissionIn(candidate, claimed.issuer, claims, email);
    if (admission.known || candidate.connection.jit_role !== null) admitting.push({ ...candidate, admission });
  }
  // Naming a tenant that does not exist, that does not trust this issuer, or that does not know the
  // person: one answer for all three, so a caller learns nothing of tenants it does not belong to.
  if (admitting.length === 0) {
    throw clientError('OIDC_UNKNOWN_SUBJECT', 'No tenant admits this identity; ask an owner to add you', { http: { status: 403 } });
  }
  const [only] = admitting;
  if (admitting.length > 1 || !only) {
    const choices = choicesOf(admitting);
    throw clientError('OIDC_TENANT_REQUIRED', 'This identity belongs to several tenants; name one with `tenant`', {
      tenants: choices.map((choice) => choice.id),
      choices,
    });
  }
  const opened = await forkForTenant(only.region.orm, only.connection.tenant_id).transactional(
    (em) =>
      openOidcSession(em, deps, only, {
        idToken: input.idToken,
        issuer: claimed.issuer,
        claims,
        email: email ?? '',
        deviceLabel: input.deviceLabel,
        clientApp: input.clientApp,
      }),
    { propagation: TransactionPropagation.REQUIRES_NEW },
  );
  if (!opened) throw unauthenticated();
  return opened;
}

interface Admitted extends Candidate {
  admission: store.Admission;
}

/**
 * One candidate per tenant: a standard tenant may trust the issuer through its own connection and
 * through the platform's; its own comes first (it carries the tenant's role mapping and just-in-time
 * rule) and wins. Without this the same tenant counted twice and a person could never sign in to it.
 */
function onePerTenant(candidates: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return candidates.filter(({ connection }) => !seen.has(connection.tenant_id) && seen.add(connection.tenant_id));
}

/** What the candidate tenant knows of this person (store.admissionOf), in that tenant's own transaction. */
async function admissionIn(candidate: Candidate, issuer: string, claims: JWTPayload, email: string | undefined): Promise<store.Admission> {
  const { connection } = candidate;
  return forkForTenant(candidate.region.orm, connection.tenant_id).transactional(
    (em) => store.admissionOf(em, connection.tenant_id, issuer, claims.sub, email ?? ''),
    // Its own transaction, so the tenant's settings never outlive it inside the caller's.
    { propagation: TransactionPropagation.REQUIRES_NEW },
  );
}

/**
 * The tenants a person who several tenants admit may be offered, by id and name: only those where
 * the identity already is an ACTIVE member. A tenant that would take the person just in time, or
 * where the person is suspended, is not named (the person may still name a tenant it knows with
 * `tenant`): the answer reveals no tenant the person does not already belong to. The person proved
 * who it is with a verified ID token, so naming its own tenants tells it nothing new.
 */
function choicesOf(admitting: Admitted[]): { id: string; name: string }[] {
  return admitting
    .filter(({ admission }) => admission.active && admission.tenantName !== null)
    .map(({ connection, admission }) => ({ id: encodeGlobalId('Tenant', connection.tenant_id), name: admission.tenantName ?? '' }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function openOidcSession(
  em: EntityManager,
  deps: OidcSignInDeps,
  { connection }: Candidate,
  signIn: { idToken: string; issuer: string; claims: JWTPayload; email: string; deviceLabel?: string | null; clientApp?: string | null },
): Promise<SessionTokens | undefined> {
  const { issuer, claims, email } = signIn;
  if (!(await store.firstUseOf(em, connection.tenant_id, signIn.idToken, claims.exp ?? 0))) {
    deps.log.info({ tenantId: connection.tenant_id }, 'ID token replayed: refused');
    return undefined;
  }
  const linked = await store.linkedUser(em, connection.tenant_id, issuer, claims.sub);
  const mapped = mappedRole(connection, claims);
  let user = linked ? await em.findOne(User, { id: linked }) : await em.findOne(User, { email });
  const joined = !user;
  if (!user) {
    if (!connection.jit_role) return undefined;
    const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 100) : email;
    user = em.create(User, { id: newId(), tenantId: connection.tenant_id, email, name, role: mapped ?? connection.jit_role });
    await em.flush();
  } else if (mapped && user.role !== 'OWNER' && user.role !== mapped) {
    // The identity provider is the source of truth for mapped roles (never for ownership).
    user.role = mapped;
    await em.flush();
    await em.refresh(user);
  }
  if (user.status !== 'ACTIVE') return undefined;
  await store.linkIdentity(em, connection.tenant_id, issuer, claims.sub, user.id);
  const tokens = await openSession(em, deps.tokens, user, { method: 'OIDC', deviceLabel: signIn.deviceLabel, clientApp: signIn.clientApp });
  const scope = { em, principal: sessionPrincipal(user, tokens.session), requestId: deps.requestId, log: deps.log };
  recordAudit(scope, {
    action: 'session.signIn',
    targetType: 'Session',
    targetId: tokens.session.id,
    detail: { method: 'OIDC', issuer, connectionId: connection.id, joined, role: user.role },
  });
  await em.flush();
  return tokens;
}

/** The most privileged role the connection's claim maps to, if any (never OWNER: ownership is handed over, not mapped). */
function mappedRole(connection: Candidate['connection'], claims: JWTPayload): MappedRole | undefined {
  if (!connection.role_claim) return undefined;
  const value = claims[connection.role_claim];
  const values = (Array.isArray(value) ? value : [value]).filter((each): each is string => typeof each === 'string');
  const roles = values.map((each) => connection.role_mapping[each]).filter((role): role is MappedRole => role !== undefined);
  return JIT_ROLES.find((role) => roles.includes(role));
}

const platformConnectionInput = z.object({
  issuer: z.string().trim().min(1).max(500),
  clientId: z.string().trim().min(1).max(200),
  allowedDomains: z
    .array(z.union([z.literal('*'), DOMAIN]))
    .min(1)
    .max(50),
});

/**
 * Operators register the platform's own identity provider for the standard tier (in the request's
 * region): a verified email of its allowed domains (or any, with '*') signs its owner in to the
 * standard tenants where an owner or admin added that email. It adds nobody to any tenant.
 */
export async function registerPlatformOidcConnection(
  scope: RequestScope,
  input: unknown,
  keys: IssuerKeys,
): Promise<PlatformOidcConnection> {
  assertCan(scope.principal, 'platform.tenants.manage');
  const parsed = parseInput(platformConnectionInput, input);
  if (!keys.acceptsIssuer(parsed.issuer)) throw badInput('The issuer must be an https URL without query or fragment', 'issuer');
  try {
    const row = await store.insertPlatformConnection(scope.em, {
      issuer: parsed.issuer,
      clientId: parsed.clientId,
      allowedDomains: [...new Set(parsed.allowedDomains)],
    });
    if (!row) throw new Error('insert returned no row');
    scope.log.info({ connectionId: row.id, issuer: row.issuer }, 'platform OpenID connection registered');
    return row;
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException)
      throw clientError('CONFLICT', 'This issuer and client id are already registered');
    throw error;
  }
}

export function listPlatformOidcConnections(scope: RequestScope): Promise<PlatformOidcConnection[]> {
  assertCan(scope.principal, 'platform.tenants.read');
  return store.platformConnections(scope.em);
}

export async function deletePlatformOidcConnection(scope: RequestScope, id: string): Promise<string> {
  assertCan(scope.principal, 'platform.tenants.manage');
  const deleted = isUuid(id) && (await store.deletePlatformConnection(scope.em, id));
  if (!deleted) throw notFound('PlatformOidcConnection', id);
  scope.log.info({ connectionId: id }, 'platform OpenID connection deleted');
  return id;
}
