import { builder } from '../../builder.ts';
import { forbidden } from '../../shared/errors.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import { keysetConnection } from '../common/index.ts';
import { createSignInLink } from '../sessions/index.ts';
import {
  changeMemberRole,
  leaveTenant,
  reinstateMember,
  removeMember,
  suspendMember,
  transferOwnership,
} from './member-lifecycle.service.ts';
import { USER_ROLES, USER_STATUSES, User } from './user.entity.ts';
import { addMember, getCurrentUser, listMembers, loadUsers } from './user.service.ts';

const UserRole = builder.enumType('UserRole', { values: USER_ROLES });
const UserStatus = builder.enumType('UserStatus', { values: USER_STATUSES });

export const UserRef = builder.node(User, {
  name: 'User',
  id: { resolve: (user) => user.id },
  authScopes: (user) => ({ $all: { can: 'member.read', sameTenant: user.tenantId } }),
  loadMany: (ids, ctx) => loadUsers(ctx, ids),
  fields: (t) => ({
    email: t.exposeString('email'),
    name: t.exposeString('name'),
    role: t.field({ type: UserRole, resolve: (user) => user.role }),
    status: t.field({ type: UserStatus, resolve: (user) => user.status }),
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

const MemberTokenPayload = builder.objectRef<{ member: User; token: string; signInToken?: string }>('MemberTokenPayload').implement({
  fields: (t) => ({
    member: t.expose('member', { type: UserRef }),
    token: t.exposeString('token', {
      description: 'A short-lived access token of the member, without a session. Shown once; hand it over out of band.',
      deprecationReason: 'Hand the member `signInToken` instead: it opens a session the member can refresh and revoke.',
    }),
    signInToken: t.exposeString('signInToken', {
      nullable: true,
      description:
        'addMember: a one-time sign-in token (15 minutes) for the new member; redeemSignInLink trades it for a session. Shown once.',
    }),
  }),
});

const RemoveMemberInput = builder.inputType('RemoveMemberInput', {
  fields: (t) => ({
    userId: t.globalID({ required: true, for: UserRef }),
    keepApiKeys: t.boolean({
      description: 'Keep the API keys the member created working (they become yours). Default: they are revoked.',
    }),
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
      const link = await createSignInLink(ctx, member.id);
      return { member, token: token.reveal(), signInToken: link.secret.reveal() };
    },
  }),
  refreshToken: t.field({
    description: 'A fresh token for the signed-in user, if the user still exists.',
    deprecationReason: 'Use refreshSession with the session’s refresh token: it works after the access token expired.',
    type: MemberTokenPayload,
    skipTypeScopes: true,
    authScopes: { can: 'member.read' },
    resolve: async (_root, _args, ctx) => {
      if (ctx.principal.kind !== 'user') throw forbidden();
      const member = await getCurrentUser(ctx);
      const { sessionId } = ctx.principal;
      const token = await ctx.tokens.issue({
        kind: 'user',
        tenantId: member.tenantId,
        userId: member.id,
        role: member.role,
        tokenVersion: member.tokenVersion,
        ...(sessionId ? { sessionId } : {}),
      });
      return { member, token: token.reveal() };
    },
  }),
  removeMember: t.id({
    description: 'Owners and admins remove a member (admins: not an owner); its sessions end at once. Returns the removed user’s id.',
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const removed = await removeMember(ctx, input.userId.id, { keepApiKeys: input.keepApiKeys ?? false });
      return encodeGlobalId('User', removed);
    },
  }),
  changeMemberRole: t.field({
    description:
      'Owners and admins change a member’s role (only owners grant or take OWNER). Tokens with the old role stop working at once.',
    type: UserRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { userId: t.arg.globalID({ required: true, for: UserRef }), role: t.arg({ type: UserRole, required: true }) },
    resolve: (_root, { userId, role }, ctx) => changeMemberRole(ctx, userId.id, { role }),
  }),
  suspendMember: t.field({
    description: 'Owners and admins suspend a member: every session and token of it ends at once; reinstateMember undoes it.',
    type: UserRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { userId: t.arg.globalID({ required: true, for: UserRef }) },
    resolve: (_root, { userId }, ctx) => suspendMember(ctx, userId.id),
  }),
  reinstateMember: t.field({
    description: 'Owners and admins reinstate a suspended member; it signs in again (its old sessions stay ended).',
    type: UserRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { userId: t.arg.globalID({ required: true, for: UserRef }) },
    resolve: (_root, { userId }, ctx) => reinstateMember(ctx, userId.id),
  }),
  transferOwnership: t.field({
    description: 'An owner hands ownership to another member, who becomes OWNER; the caller becomes ADMIN.',
    type: UserRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { userId: t.arg.globalID({ required: true, for: UserRef }) },
    resolve: (_root, { userId }, ctx) => transferOwnership(ctx, userId.id),
  }),
  leaveTenant: t.id({
    description: 'The caller leaves its tenant (the last owner cannot). Its sessions end; the API keys it created are revoked.',
    skipTypeScopes: true,
    authScopes: { can: 'tenant.leave' },
    resolve: async (_root, _args, ctx) => encodeGlobalId('User', await leaveTenant(ctx)),
  }),
}));
