import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { LivenessScope, RequestScope } from '../../request/scope.ts';
import { clientError, forbidden } from '../../shared/errors.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { memberWithinReach, revokeSessionsOf } from '../sessions/index.ts';
import { USER_ROLES, User } from './user.entity.ts';
import * as store from './user.store.ts';

/**
 * Team lifecycle: remove, change role, suspend and reinstate, hand over ownership, leave. Each takes
 * effect at the member's next request on every replica: a removed member's row is gone, a role or
 * status change bumps its token version (users_bump_token_version, migrations/functions/sessions.sql),
 * and every change here also revokes the sessions that must not go on. Each tells this replica's
 * TokenLiveness before it commits (`changing`), so a token it remembered is checked in the database
 * again at once; other replicas hear of it through the liveness feed. Two rules hold in every path: the last owner can never
 * be removed, demoted, suspended or leave, and an admin cannot touch an owner (memberWithinReach).
 */

const roleInput = z.object({ role: z.enum(USER_ROLES) });
const removeInput = z.object({ keepApiKeys: z.boolean().default(false) });

/**
 * Refuses a change that would leave the tenant without an ACTIVE owner. The other owners' rows are
 * locked until the transaction ends, so two owners demoting each other at once cannot both pass.
 */
async function assertAnotherOwner(scope: RequestScope, member: User): Promise<void> {
  if (member.role !== 'OWNER' || member.status !== 'ACTIVE') return;
  const others = await store.lockOtherActiveOwners(scope.em, member.tenantId, member.id);
  if (others.length === 0) throw clientError('CONFLICT', 'The last owner cannot be removed, demoted, suspended or leave');
}

/**
 * Removes a member: its row goes (and with it its sessions, sign-in links and identities). The API
 * keys it created are revoked unless the caller keeps them (`keepApiKeys`); kept keys, and the
 * support grants it issued, are then recorded as the caller's, since the member's row is gone.
 */
export async function removeMember(scope: LivenessScope, userId: string, input: unknown): Promise<string> {
  const member = await memberWithinReach(scope, userId);
  const { keepApiKeys } = parseInput(removeInput, input ?? {});
  return dropMember(scope, member, { keepApiKeys, action: 'member.remove' });
}

/** A member leaves its tenant: as removal by an owner, API keys revoked. The last owner cannot leave. */
export async function leaveTenant(scope: LivenessScope): Promise<string> {
  assertCan(scope.principal, 'tenant.leave');
  if (scope.principal.kind !== 'user') throw forbidden();
  const me = await scope.em.findOneOrFail(User, { id: scope.principal.userId });
  return dropMember(scope, me, { keepApiKeys: false, action: 'member.leave' });
}

async function dropMember(scope: LivenessScope, member: User, options: { keepApiKeys: boolean; action: string }): Promise<string> {
  if (scope.principal.kind !== 'user') throw forbidden();
  await assertAnotherOwner(scope, member);
  const heir = scope.principal.userId === member.id ? await anotherOwner(scope, member) : scope.principal.userId;
  const revoked = options.keepApiKeys ? [] : await store.revokeApiKeysOf(scope.em, member.tenantId, member.id);
  // The member's row is referenced by the keys and grants it created: they become the heir's.
  await store.handOverToHeir(scope.em, member.tenantId, member.id, heir);
  scope.tokenLiveness.changing(member.id);
  await store.deleteMember(scope.em, member.tenantId, member.id);
  recordAudit(scope, {
    action: options.action,
    targetType: 'User',
    targetId: member.id,
    detail: { role: member.role, apiKeysRevoked: revoked.length, apiKeysKept: options.keepApiKeys, heir },
  });
  await scope.em.flush();
  return member.id;
}

/** Who inherits what a leaving member created: the longest-standing other ACTIVE owner. */
async function anotherOwner(scope: RequestScope, member: User): Promise<string> {
  const owner = await scope.em.findOne(
    User,
    { role: 'OWNER', status: 'ACTIVE', id: { $ne: member.id } },
    { orderBy: { createdAt: 'asc' } },
  );
  if (!owner) throw clientError('CONFLICT', 'The last owner cannot be removed, demoted, suspended or leave');
  return owner.id;
}

/**
 * Changes a member's role. Only an owner grants or takes away OWNER; the last owner cannot be
 * demoted. The member's tokens carrying the old role stop working at once (its token version moves);
 * its sessions go on and the next refresh carries the new role.
 */
export async function changeMemberRole(scope: LivenessScope, userId: string, input: unknown): Promise<User> {
  const member = await memberWithinReach(scope, userId);
  const { role } = parseInput(roleInput, input);
  if (role === member.role) return member;
  if (role === 'OWNER' && !(scope.principal.kind === 'user' && scope.principal.role === 'OWNER')) {
    throw forbidden('Only an owner can make another owner');
  }
  if (member.role === 'OWNER') await assertAnotherOwner(scope, member);
  const before = member.role;
  scope.tokenLiveness.changing(member.id);
  member.role = role;
  recordAudit(scope, { action: 'member.role', targetType: 'User', targetId: member.id, detail: { before, after: role } });
  await scope.em.flush();
  await scope.em.refresh(member);
  return member;
}

/** Suspends a member: every token and session of it ends now; the row (and what it created) stays. */
export async function suspendMember(scope: LivenessScope, userId: string): Promise<User> {
  const member = await memberWithinReach(scope, userId);
  if (member.status === 'SUSPENDED') return member;
  await assertAnotherOwner(scope, member);
  scope.tokenLiveness.changing(member.id);
  member.status = 'SUSPENDED';
  const sessions = await revokeSessionsOf(scope.em, member.id, 'member suspended');
  recordAudit(scope, { action: 'member.suspend', targetType: 'User', targetId: member.id, detail: { role: member.role, sessions } });
  await scope.em.flush();
  await scope.em.refresh(member);
  return member;
}

/** Reinstates a suspended member: it signs in again (a sign-in link or its identity provider); old sessions stay revoked. */
export async function reinstateMember(scope: LivenessScope, userId: string): Promise<User> {
  const member = await memberWithinReach(scope, userId);
  if (member.status === 'ACTIVE') return member;
  scope.tokenLiveness.changing(member.id);
  member.status = 'ACTIVE';
  recordAudit(scope, { action: 'member.reinstate', targetType: 'User', targetId: member.id, detail: { role: member.role } });
  await scope.em.flush();
  await scope.em.refresh(member);
  return member;
}

/**
 * An owner hands ownership to another member: the member becomes OWNER and the caller ADMIN, in one
 * transaction, so the tenant always has an owner. The caller's own tokens carrying OWNER stop working.
 */
export async function transferOwnership(scope: LivenessScope, userId: string): Promise<User> {
  const heir = await memberWithinReach(scope, userId);
  if (scope.principal.kind !== 'user' || scope.principal.role !== 'OWNER') throw forbidden('Only an owner can hand over ownership');
  if (heir.id === scope.principal.userId) throw clientError('CONFLICT', 'You already own this tenant');
  if (heir.status !== 'ACTIVE') throw clientError('CONFLICT', 'A suspended member cannot become owner');
  const me = await scope.em.findOneOrFail(User, { id: scope.principal.userId });
  const heirBefore = heir.role;
  scope.tokenLiveness.changing(heir.id);
  scope.tokenLiveness.changing(me.id);
  heir.role = 'OWNER';
  me.role = 'ADMIN';
  recordAudit(scope, {
    action: 'member.transferOwnership',
    targetType: 'User',
    targetId: heir.id,
    detail: { before: heirBefore, after: 'OWNER', previousOwner: me.id, previousOwnerAfter: 'ADMIN' },
  });
  await scope.em.flush();
  await scope.em.refresh(heir);
  return heir;
}
