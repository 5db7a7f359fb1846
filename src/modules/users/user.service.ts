import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, forbidden, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { USER_ROLES, User } from './user.entity.ts';

export const userInputShape = {
  email: z.email().max(254).toLowerCase(),
  name: z.string().trim().min(1).max(100),
  role: z.enum(USER_ROLES),
};
const addMemberInput = z.object(userInputShape);

/** The calling user's own record; a token whose user was removed no longer finds one. */
export async function getCurrentUser(scope: RequestScope): Promise<User> {
  assertCan(scope.principal, 'member.read');
  if (scope.principal.kind !== 'user') throw forbidden();
  const user = await scope.em.findOne(User, { id: scope.principal.userId });
  if (!user) throw notFound('User');
  return user;
}

export function listMembers(scope: RequestScope, page: PageArgs): Promise<User[]> {
  assertCan(scope.principal, 'member.read');
  return findPage(scope.em, User, {}, page);
}

export async function loadUsers(scope: RequestScope, ids: string[]): Promise<(User | null)[]> {
  assertCan(scope.principal, 'member.read');
  const found = await scope.em.find(User, { id: { $in: ids } });
  return ids.map((id) => found.find((user) => user.id === id) ?? null);
}

/**
 * Adds a user to the caller's tenant. Only an owner may create another owner. The tenant comes
 * from the principal; the email is unique within the tenant only, so a conflict reveals nothing
 * about other tenants.
 */
export async function addMember(scope: RequestScope, input: unknown): Promise<User> {
  assertCan(scope.principal, 'member.manage');
  const { email, name, role } = parseInput(addMemberInput, input);
  if (role === 'OWNER' && !(scope.principal.kind === 'user' && scope.principal.role === 'OWNER')) {
    throw forbidden('Only an owner can add another owner');
  }
  const tenantId = scope.principal.kind === 'user' ? scope.principal.tenantId : '';
  const user = scope.em.create(User, { id: newId(), tenantId, email, name, role });
  recordAudit(scope, { action: 'member.add', targetType: 'User', targetId: user.id, detail: { role } });
  try {
    await scope.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw clientError('CONFLICT', 'A member with this email already exists');
    throw error;
  }
  return user;
}
