import { builder } from '../../builder.ts';
import { forbidden } from '../../shared/errors.ts';
import { keysetConnection } from '../common/connection.ts';
import { USER_ROLES, User } from './user.entity.ts';
import { addMember, getCurrentUser, listMembers, loadUsers } from './user.service.ts';

const UserRole = builder.enumType('UserRole', { values: USER_ROLES });

export const UserRef = builder.node(User, {
  name: 'User',
  id: { resolve: (user) => user.id },
  authScopes: (user) => ({ $all: { can: 'member.read', sameTenant: user.tenantId } }),
  loadMany: (ids, ctx) => loadUsers(ctx, ids),
  fields: (t) => ({
    email: t.exposeString('email'),
    name: t.exposeString('name'),
    role: t.field({ type: UserRole, resolve: (user) => user.role }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    description: 'The signed-in user.',
    type: UserRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.read' },
    resolve: (_root, _args, ctx) => getCurrentUser(ctx),
  }),
  members: t.connection({
    description: "The users of the caller's tenant.",
    type: UserRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.read' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listMembers(ctx, page)),
  }),
}));

const AddMemberInput = builder.inputType('AddMemberInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    name: t.string({ required: true }),
    role: t.field({ type: UserRole, required: true }),
  }),
});

const MemberTokenPayload = builder.objectRef<{ member: User; token: string }>('MemberTokenPayload').implement({
  fields: (t) => ({
    member: t.expose('member', { type: UserRef }),
    token: t.exposeString('token', { description: "The member's access token. Shown once; hand it over out of band." }),
  }),
});

builder.mutationFields((t) => ({
  addMember: t.field({
    description: 'Owners and admins add a user to their tenant and receive that user’s first token.',
    type: MemberTokenPayload,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { input: t.arg({ type: AddMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const member = await addMember(ctx, input);
      const token = await ctx.tokens.issue({ kind: 'user', tenantId: member.tenantId, userId: member.id, role: member.role });
      return { member, token: token.reveal() };
    },
  }),
  refreshToken: t.field({
    description: 'A fresh token for the signed-in user, if the user still exists.',
    type: MemberTokenPayload,
    skipTypeScopes: true,
    authScopes: { can: 'member.read' },
    resolve: async (_root, _args, ctx) => {
      if (ctx.principal.kind !== 'user') throw forbidden();
      const member = await getCurrentUser(ctx);
      const token = await ctx.tokens.issue({ kind: 'user', tenantId: member.tenantId, userId: member.id, role: member.role });
      return { member, token: token.reveal() };
    },
  }),
}));
