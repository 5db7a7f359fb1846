import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import type { Region } from '../../db/regions.ts';
import { enterTenant } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import type { Context } from '../../request/context.ts';
import type { RequestScope } from '../../request/scope.ts';
import { badInput, forbidden, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { openSession, type SessionTokens, sessionPrincipal } from '../sessions/index.ts';
import { User, userInputShape } from '../users/index.ts';
import { Tenant } from './tenant.entity.ts';
import { regionOfDatabase } from './tenant.store.ts';

const signUpInput = z.object({
  tenantName: z.string().trim().min(1).max(100),
  owner: z.object(userInputShape).omit({ role: true }),
});

export interface SignUpResult {
  tenant: Tenant;
  owner: User;
  /** The new owner, as whom the rest of the onboarding request acts. */
  principal: Principal & { kind: 'user' };
  /** The owner's first session. */
  session: SessionTokens;
}

/**
 * Self-service onboarding: a new STANDARD tenant and its owner in one transaction. The caller is
 * anonymous; the tenant id is generated here and entered for the rest of the transaction, so the
 * inserts pass RLS like any other request's would.
 */
export async function signUp(
  scope: RequestScope,
  input: unknown,
  tokens: TokenIssuer,
  deviceLabel?: string | null,
  clientApp?: string | null,
): Promise<SignUpResult> {
  const { tenantName, owner } = parseInput(signUpInput, input);
  const tenantId = newId();
  await enterTenant(scope.em, tenantId);
  const tenant = scope.em.create(Tenant, { id: tenantId, name: tenantName, region: await databaseRegion(scope) });
  await scope.em.flush();
  const user = scope.em.create(User, { id: newId(), tenantId, email: owner.email, name: owner.name, role: 'OWNER' });
  await scope.em.flush();
  // Its counters are the database's (a trigger counts members): the answer says one member, not the default 0.
  await scope.em.refresh(tenant);
  const session = await openSession(scope.em, tokens, user, { method: 'SIGN_UP', deviceLabel, clientApp });
  const principal = sessionPrincipal(user, session.session);
  recordAudit(
    { ...scope, principal },
    { action: 'tenant.signUp', targetType: 'Tenant', targetId: tenantId, detail: { plan: tenant.plan } },
  );
  await scope.em.flush();
  return { tenant, owner: user, principal, session };
}

/**
 * A region a request names (onboarding, listing), or the home region when it names none. An unknown
 * name is bad input that lists the served regions (their names are public, see the `regions` query).
 */
export function regionNamed(ctx: Pick<Context, 'regions'>, name: string | null | undefined): Region {
  if (name === null || name === undefined) return ctx.regions.home;
  const region = ctx.regions.named(name);
  if (!region) throw badInput(`Unknown region; this gateway serves ${ctx.regions.names.join(', ')}`, 'region');
  return region;
}

/** The region of the database the transaction runs in: a new tenant's row states it (and the database refuses any other). */
export async function databaseRegion(scope: Pick<RequestScope, 'em'>): Promise<string> {
  const region = await regionOfDatabase(scope.em);
  if (!region) throw new Error('database has no region (migration 0016)');
  return region;
}

export async function getOwnTenant(scope: RequestScope): Promise<Tenant> {
  assertCan(scope.principal, 'tenant.read');
  const tenant = await scope.em.findOne(Tenant, {});
  if (!tenant) throw notFound('Tenant');
  return tenant;
}

export async function loadTenants(scope: RequestScope, ids: string[]): Promise<(Tenant | null)[]> {
  const own = 'tenantId' in scope.principal ? scope.principal.tenantId : undefined;
  if (!own) return ids.map(() => null);
  const wanted = ids.filter((id) => id === own);
  const found = wanted.length > 0 ? await scope.em.find(Tenant, { id: { $in: wanted } }) : [];
  return ids.map((id) => found.find((tenant) => tenant.id === id) ?? null);
}

/**
 * Operators page through every tenant's metadata. The ORM tenant filter is lifted for this one
 * query on purpose (operators have no tenant); RLS still admits only the `tenants` table to an
 * operator session, so no row inside a tenant is reachable from here.
 */
export async function listPlatformTenants(scope: RequestScope, page: PageArgs): Promise<Tenant[]> {
  assertCan(scope.principal, 'platform.tenants.read');
  return findPage(scope.em, Tenant, {}, page, { filters: { [TENANT_FILTER]: false } });
}

const inviteInput = z.object({ email: z.email().max(254).toLowerCase() });

/**
 * Who may sign up by themselves (SignUpPolicy): refused outright when sign-up is closed, without an
 * invitation for the owner's email when it is by invitation; and at most so many per address per
 * hour in every mode. Checked before anything is written.
 */
export async function admitSignUp(
  ctx: Pick<Context, 'signUp' | 'clientAddress' | 'tokens'>,
  input: { owner: { email: string }; inviteToken?: string | null },
): Promise<void> {
  if (ctx.signUp.mode === 'closed') throw forbidden('Sign-up is closed on this gateway; ask the operator to onboard your tenant');
  const limited = await ctx.signUp.admit(ctx.clientAddress);
  if (limited) throw limited;
  if (ctx.signUp.mode === 'invite') {
    const email = inviteInput.safeParse({ email: input.owner.email }).data?.email;
    if (!input.inviteToken || !email || !(await ctx.tokens.verifyInvite(input.inviteToken, email))) {
      throw forbidden('Sign-up is by invitation on this gateway; an operator’s invitation for this email is required');
    }
  }
}

/** Operators invite a future owner (by email) to sign up when sign-up is by invitation. */
export async function createSignUpInvite(scope: Pick<Context, 'principal' | 'tokens'>, email: string): Promise<Secret> {
  assertCan(scope.principal, 'platform.tenants.manage');
  const parsed = parseInput(inviteInput, { email });
  return scope.tokens.issueInvite(parsed.email);
}
