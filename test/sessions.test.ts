import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mintTenantSecret, parseTenantSecret, REFRESH_TOKEN_PREFIX, SIGN_IN_LINK_PREFIX } from '../src/auth/tenant-secrets.ts';
import { graphql } from './gql/index.ts';
import { uuidOf } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditEvents, CreateApiKey, ListAgents, Me, SignUp } from './support/operations.ts';

const Refresh = graphql(`
  mutation RefreshSession($refreshToken: String!) {
    refreshSession(refreshToken: $refreshToken) { accessToken refreshToken session { id method } user { id role } }
  }
`);
const SignUpWithSession = graphql(`
  mutation SignUpWithSession($input: SignUpInput!) {
    signUp(input: $input) { tenant { id } owner { id email } session { accessToken refreshToken session { id deviceLabel method } } }
  }
`);
const CreateSignInLink = graphql(`
  mutation CreateSignInLink($userId: ID!) { createSignInLink(userId: $userId) { token expiresAt member { id } } }
`);
const CreateOwnerSignInLink = graphql(`
  mutation CreateOwnerSignInLink($tenantId: ID!, $email: String!) { createOwnerSignInLink(tenantId: $tenantId, email: $email) { token } }
`);
const Redeem = graphql(`
  mutation RedeemSignInLink($token: String!, $deviceLabel: String) {
    redeemSignInLink(token: $token, deviceLabel: $deviceLabel) { accessToken refreshToken session { id deviceLabel method } user { id role } }
  }
`);
const MySessions = graphql(`
  query MySessions { mySessions(first: 20) { edges { node { id deviceLabel method revokedAt revokedReason } } } }
`);
const MemberSessions = graphql(`
  query MemberSessions($userId: ID!) { memberSessions(userId: $userId, first: 20) { edges { node { id revokedAt } } } }
`);
const RevokeSession = graphql(`mutation RevokeSession($id: ID!) { revokeSession(id: $id) { id revokedAt revokedReason } }`);
const RevokeAllSessions = graphql(`mutation RevokeAllSessions($userId: ID) { revokeAllSessions(userId: $userId) }`);
const RemoveMember = graphql(`mutation RemoveMember($input: RemoveMemberInput!) { removeMember(input: $input) }`);
const ChangeRole = graphql(
  `mutation ChangeMemberRole($userId: ID!, $role: UserRole!) { changeMemberRole(userId: $userId, role: $role) { id role } }`,
);
const Suspend = graphql(`mutation SuspendMember($userId: ID!) { suspendMember(userId: $userId) { id status } }`);
const Reinstate = graphql(`mutation ReinstateMember($userId: ID!) { reinstateMember(userId: $userId) { id status } }`);
const Transfer = graphql(`mutation TransferOwnership($userId: ID!) { transferOwnership(userId: $userId) { id role } }`);
const Leave = graphql(`mutation LeaveTenant { leaveTenant }`);
const OnboardEnterprise = graphql(`
  mutation OnboardEnterprise($input: CreateEnterpriseTenantInput!) {
    createEnterpriseTenant(input: $input) { tenant { id plan } ownerSignInLink { token expiresAt } }
  }
`);
const Invite = graphql(`mutation CreateSignUpInvite($email: String!) { createSignUpInvite(email: $email) }`);

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

let counter = 0;
const email = (role: string) => `${role}-${++counter}-${Date.now()}@example.com`;

/** A member with a session of its own (through a sign-in link), as a member would really sign in. */
async function memberWithSession(owner: string, role: 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER', execute = () => gw.execute) {
  const { addMember } = expectNoErrors(
    await execute()(
      graphql(`mutation AddMemberForSession($input: AddMemberInput!) { addMember(input: $input) { member { id } signInToken } }`),
      { input: { email: email(role), name: role, role } },
      { token: owner },
    ),
  );
  const { redeemSignInLink } = expectNoErrors(await execute()(Redeem, { token: addMember.signInToken ?? '', deviceLabel: 'laptop' }));
  return { id: addMember.member.id, token: redeemSignInLink.accessToken, refresh: redeemSignInLink.refreshToken };
}

async function signUpWithSession() {
  const { signUp } = expectNoErrors(
    await gw.execute(SignUpWithSession, {
      input: { tenantName: `t-${++counter}`, owner: { email: email('owner'), name: 'Owner' }, deviceLabel: 'owner laptop' },
    }),
  );
  return { tenantId: signUp.tenant.id, ownerId: signUp.owner.id, ownerEmail: signUp.owner.email, ...signUp.session };
}

describe('sessions and refresh tokens', () => {
  test('signUp opens a session; a refresh token brings a new access token without any access token, once', async () => {
    const owner = await signUpWithSession();
    expect(owner.session).toMatchObject({ deviceLabel: 'owner laptop', method: 'SIGN_UP' });
    expect(owner.refreshToken.startsWith(REFRESH_TOKEN_PREFIX)).toBe(true);

    const first = expectNoErrors(await gw.execute(Refresh, { refreshToken: owner.refreshToken })).refreshSession;
    expect(first.session.id).toBe(owner.session.id);
    expect(first.refreshToken).not.toBe(owner.refreshToken);
    expectNoErrors(await gw.execute(Me, {}, { token: first.accessToken }));
    const second = expectNoErrors(await gw.execute(Refresh, { refreshToken: first.refreshToken })).refreshSession;
    expectNoErrors(await gw.execute(Me, {}, { token: second.accessToken }));
  });

  test('reusing a rotated refresh token revokes the whole session at once, and the reuse is audited', async () => {
    const owner = await signUpWithSession();
    const next = expectNoErrors(await gw.execute(Refresh, { refreshToken: owner.refreshToken })).refreshSession;

    const replay = await gw.execute(Refresh, { refreshToken: owner.refreshToken });
    expect(replay.status).toBe(401);
    expect(errorCodes(replay)).toEqual(['UNAUTHENTICATED']);
    // The thief's replay ended the session for everyone holding its tokens: the latest ones too.
    expect(errorCodes(await gw.execute(Refresh, { refreshToken: next.refreshToken }))).toEqual(['UNAUTHENTICATED']);
    expect((await gw.execute(Me, {}, { token: next.accessToken })).status).toBe(401);
    expect((await gw.execute(Me, {}, { token: owner.accessToken })).status).toBe(401);

    // The owner signs in again through a link an operator mints for it, and reads the audit log.
    const { createOwnerSignInLink } = expectNoErrors(
      await gw.execute(CreateOwnerSignInLink, { tenantId: owner.tenantId, email: owner.ownerEmail }, { token: await gw.operator.token() }),
    );
    const back = expectNoErrors(await gw.execute(Redeem, { token: createOwnerSignInLink.token })).redeemSignInLink;
    const events = expectNoErrors(await gw.execute(AuditEvents, {}, { token: back.accessToken })).auditEvents.edges.map((e) => e.node);
    expect(events.map((event) => [event.action, event.outcome])).toEqual(
      expect.arrayContaining([
        ['session.reuseDetected', 'DENIED'],
        ['signInLink.create', 'SUCCESS'],
        ['session.signIn', 'SUCCESS'],
      ]),
    );
  });

  test('a refresh token that claims another tenant, or is forged, malformed or unknown, is UNAUTHENTICATED and logs no token', async () => {
    const a = await signUpWithSession();
    const b = await signUpWithSession();
    const parsedA = parseTenantSecret(REFRESH_TOKEN_PREFIX, a.refreshToken);
    if (!parsedA) throw new Error('unparsable refresh token');
    // A's session and secret, claimed under B's tenant: looked up under B's RLS setting, it finds nothing.
    const raw = Buffer.from(a.refreshToken.slice(REFRESH_TOKEN_PREFIX.length), 'base64url');
    Buffer.from(uuidOf(b.tenantId).replaceAll('-', ''), 'hex').copy(raw, 0);
    const crossed = REFRESH_TOKEN_PREFIX + raw.toString('base64url');
    const forged = mintTenantSecret(REFRESH_TOKEN_PREFIX, uuidOf(a.tenantId), a.session.id).secret.reveal();
    for (const refreshToken of [crossed, forged, 'fgr_short', 'not-a-token', a.refreshToken.replace('fgr_', SIGN_IN_LINK_PREFIX)]) {
      const response = await gw.execute(Refresh, { refreshToken });
      expect(response.status).toBe(401);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
      expect(gw.logs()).not.toContain(refreshToken);
    }
    // A's token still works: nothing above touched its session.
    expectNoErrors(await gw.execute(Refresh, { refreshToken: a.refreshToken }));
  });

  test('users list their own sessions and sign out one device or all; owners end a member’s sessions', async () => {
    const owner = await signUpWithSession();
    const member = await memberWithSession(owner.accessToken, 'MEMBER');
    const otherDevice = await memberWithSession(owner.accessToken, 'MEMBER');
    const { mySessions } = expectNoErrors(await gw.execute(MySessions, {}, { token: member.token }));
    expect(mySessions.edges.map((e) => [e.node.deviceLabel, e.node.method])).toEqual([['laptop', 'SIGN_IN_LINK']]);

    const [own] = mySessions.edges;
    const revoked = expectNoErrors(await gw.execute(RevokeSession, { id: own?.node.id ?? '' }, { token: member.token })).revokeSession;
    expect(revoked.revokedReason).toBe('signed out');
    expect((await gw.execute(Me, {}, { token: member.token })).status).toBe(401);
    expect(errorCodes(await gw.execute(Refresh, { refreshToken: member.refresh }))).toEqual(['UNAUTHENTICATED']);

    // A member cannot end another member's session: same answer as a missing one.
    const { mySessions: theirs } = expectNoErrors(await gw.execute(MySessions, {}, { token: otherDevice.token }));
    const stranger = await memberWithSession(owner.accessToken, 'MEMBER');
    expect(errorCodes(await gw.execute(RevokeSession, { id: theirs.edges[0]?.node.id ?? '' }, { token: stranger.token }))).toEqual([
      'FORBIDDEN',
    ]);

    // The owner ends every session of that member.
    expect(
      expectNoErrors(await gw.execute(RevokeAllSessions, { userId: otherDevice.id }, { token: owner.accessToken })).revokeAllSessions,
    ).toBe(1);
    expect((await gw.execute(Me, {}, { token: otherDevice.token })).status).toBe(401);
    const { memberSessions } = expectNoErrors(await gw.execute(MemberSessions, { userId: otherDevice.id }, { token: owner.accessToken }));
    expect(memberSessions.edges.every((e) => e.node.revokedAt !== null)).toBe(true);

    // Sign out everywhere, for oneself.
    expect(expectNoErrors(await gw.execute(RevokeAllSessions, {}, { token: owner.accessToken })).revokeAllSessions).toBe(1);
    expect((await gw.execute(Me, {}, { token: owner.accessToken })).status).toBe(401);
  });
});

describe('sign-in links', () => {
  test('an operator onboarding an enterprise tenant hands its owner a one-time link that opens the owner’s first session', async () => {
    const operator = await gw.operator.token();
    const ownerEmail = email('enterprise-owner');
    const { createEnterpriseTenant } = expectNoErrors(
      await gw.execute(OnboardEnterprise, { input: { tenantName: 'Bank', owner: { email: ownerEmail, name: 'B' } } }, { token: operator }),
    );
    expect(createEnterpriseTenant.tenant.plan).toBe('ENTERPRISE');
    // The operator gets the link, never the owner's row (a User is for its own tenant's eyes).
    const link = createEnterpriseTenant.ownerSignInLink;
    expect(link.token.startsWith('fgl_')).toBe(true);
    const { redeemSignInLink } = expectNoErrors(await gw.execute(Redeem, { token: link.token, deviceLabel: 'owner laptop' }));
    expect(redeemSignInLink.user.role).toBe('OWNER');
    expect(redeemSignInLink.session.method).toBe('SIGN_IN_LINK');
    expect(expectNoErrors(await gw.execute(Me, {}, { token: redeemSignInLink.accessToken })).me).toMatchObject({
      id: redeemSignInLink.user.id,
      email: ownerEmail,
    });
    // Once only; the minting is in the new tenant's own audit log.
    expect((await gw.execute(Redeem, { token: link.token })).status).toBe(401);
    const { auditEvents } = expectNoErrors(await gw.execute(AuditEvents, {}, { token: redeemSignInLink.accessToken }));
    const minted = auditEvents.edges.filter((edge) => edge.node.action === 'signInLink.create').map((edge) => edge.node);
    expect(minted).toEqual([expect.objectContaining({ actorType: 'OPERATOR', targetId: uuidOf(redeemSignInLink.user.id) })]);
  });

  test('a link signs its member in once; used, forged and foreign links are refused alike; admins cannot mint one for an owner', async () => {
    const owner = await signUpWithSession();
    const admin = await memberWithSession(owner.accessToken, 'ADMIN');
    const viewer = await memberWithSession(owner.accessToken, 'VIEWER');
    const { createSignInLink } = expectNoErrors(await gw.execute(CreateSignInLink, { userId: viewer.id }, { token: admin.token }));
    expect(createSignInLink.token.startsWith(SIGN_IN_LINK_PREFIX)).toBe(true);
    const session = expectNoErrors(await gw.execute(Redeem, { token: createSignInLink.token, deviceLabel: 'phone' })).redeemSignInLink;
    expect(session.user).toEqual({ id: viewer.id, role: 'VIEWER' });
    expect(session.session.deviceLabel).toBe('phone');

    const forged = mintTenantSecret(SIGN_IN_LINK_PREFIX, uuidOf(owner.tenantId), uuidOf(viewer.id)).secret.reveal();
    for (const token of [createSignInLink.token, forged, 'fgl_x']) {
      const refused = await gw.execute(Redeem, { token });
      expect(refused.status).toBe(401);
      expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
    }
    expect(errorCodes(await gw.execute(CreateSignInLink, { userId: owner.ownerId }, { token: admin.token }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(CreateSignInLink, { userId: admin.id }, { token: viewer.token }))).toEqual(['FORBIDDEN']);
    // Another tenant's owner cannot mint a link for this tenant's member: NOT_FOUND, as for a missing one.
    const other = await signUpWithSession();
    expect(errorCodes(await gw.execute(CreateSignInLink, { userId: viewer.id }, { token: other.accessToken }))).toEqual(['NOT_FOUND']);
    expect(gw.logs()).not.toContain(createSignInLink.token);
  });

  test('an expired link is refused', async () => {
    const owner = await signUpWithSession();
    const viewer = await memberWithSession(owner.accessToken, 'VIEWER');
    const { createSignInLink } = expectNoErrors(await gw.execute(CreateSignInLink, { userId: viewer.id }, { token: owner.accessToken }));
    await adminQuery(gw.database.adminUrl, "update sign_in_links set expires_at = now() - interval '1 second' where user_id = $1", [
      uuidOf(viewer.id),
    ]);
    expect(errorCodes(await gw.execute(Redeem, { token: createSignInLink.token }))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('team lifecycle takes effect at the next request', () => {
  test('a removed member is refused at once, its refresh token too; its API keys are revoked unless kept', async () => {
    const owner = await signUpWithSession();
    const admin = await memberWithSession(owner.accessToken, 'ADMIN');
    const { createApiKey } = expectNoErrors(
      await gw.execute(CreateApiKey, { input: { name: 'ci', scopes: ['AGENTS_READ'] } }, { token: admin.token }),
    );
    expectNoErrors(await gw.execute(ListAgents, { first: 1 }, { token: createApiKey.key }));

    expectNoErrors(await gw.execute(RemoveMember, { input: { userId: admin.id } }, { token: owner.accessToken }));
    const refused = await gw.execute(Me, {}, { token: admin.token });
    expect(refused.status).toBe(401);
    expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await gw.execute(Refresh, { refreshToken: admin.refresh }))).toEqual(['UNAUTHENTICATED']);
    expect((await gw.execute(ListAgents, { first: 1 }, { token: createApiKey.key })).status).toBe(401);

    const keeper = await memberWithSession(owner.accessToken, 'ADMIN');
    const kept = expectNoErrors(
      await gw.execute(CreateApiKey, { input: { name: 'kept', scopes: ['AGENTS_READ'] } }, { token: keeper.token }),
    ).createApiKey.key;
    expectNoErrors(await gw.execute(RemoveMember, { input: { userId: keeper.id, keepApiKeys: true } }, { token: owner.accessToken }));
    expectNoErrors(await gw.execute(ListAgents, { first: 1 }, { token: kept }));

    const events = expectNoErrors(await gw.execute(AuditEvents, {}, { token: owner.accessToken })).auditEvents.edges.map((e) => e.node);
    const removals = events.filter((event) => event.action === 'member.remove');
    expect(removals.map((event) => [event.actorType, event.detail.role, event.detail.apiKeysRevoked, event.detail.apiKeysKept])).toEqual([
      ['USER', 'ADMIN', 1, false],
      ['USER', 'ADMIN', 0, true],
    ]);
  });

  test('a role change ends tokens carrying the old role; the session refreshes into the new one', async () => {
    const owner = await signUpWithSession();
    const admin = await memberWithSession(owner.accessToken, 'ADMIN');
    expectNoErrors(await gw.execute(ChangeRole, { userId: admin.id, role: 'VIEWER' }, { token: owner.accessToken }));
    expect((await gw.execute(Me, {}, { token: admin.token })).status).toBe(401);
    const refreshed = expectNoErrors(await gw.execute(Refresh, { refreshToken: admin.refresh })).refreshSession;
    expect(refreshed.user.role).toBe('VIEWER');
    // The demoted admin's fresh token carries VIEWER: member management is gone.
    expect(errorCodes(await gw.execute(CreateSignInLink, { userId: owner.ownerId }, { token: refreshed.accessToken }))).toEqual([
      'FORBIDDEN',
    ]);
    const events = expectNoErrors(await gw.execute(AuditEvents, {}, { token: owner.accessToken })).auditEvents.edges.map((e) => e.node);
    expect(events.find((event) => event.action === 'member.role')?.detail).toEqual({ before: 'ADMIN', after: 'VIEWER' });
  });

  test('a suspended member is refused and cannot refresh; reinstated, it signs in again with a new link', async () => {
    const owner = await signUpWithSession();
    const member = await memberWithSession(owner.accessToken, 'MEMBER');
    expect(expectNoErrors(await gw.execute(Suspend, { userId: member.id }, { token: owner.accessToken })).suspendMember.status).toBe(
      'SUSPENDED',
    );
    expect((await gw.execute(Me, {}, { token: member.token })).status).toBe(401);
    expect(errorCodes(await gw.execute(Refresh, { refreshToken: member.refresh }))).toEqual(['UNAUTHENTICATED']);
    const link = expectNoErrors(await gw.execute(CreateSignInLink, { userId: member.id }, { token: owner.accessToken })).createSignInLink;
    expect(errorCodes(await gw.execute(Redeem, { token: link.token }))).toEqual(['UNAUTHENTICATED']);

    expectNoErrors(await gw.execute(Reinstate, { userId: member.id }, { token: owner.accessToken }));
    expect(errorCodes(await gw.execute(Refresh, { refreshToken: member.refresh }))).toEqual(['UNAUTHENTICATED']);
    const again = expectNoErrors(await gw.execute(CreateSignInLink, { userId: member.id }, { token: owner.accessToken })).createSignInLink;
    const back = expectNoErrors(await gw.execute(Redeem, { token: again.token })).redeemSignInLink;
    expectNoErrors(await gw.execute(Me, {}, { token: back.accessToken }));
  });

  test('the last owner cannot be removed, demoted, suspended or leave; an admin cannot touch an owner', async () => {
    const owner = await signUpWithSession();
    const admin = await memberWithSession(owner.accessToken, 'ADMIN');
    for (const response of [
      await gw.execute(ChangeRole, { userId: owner.ownerId, role: 'ADMIN' }, { token: owner.accessToken }),
      await gw.execute(Leave, {}, { token: owner.accessToken }),
    ]) {
      expect(errorCodes(response)).toEqual(['CONFLICT']);
    }
    for (const response of [
      await gw.execute(RemoveMember, { input: { userId: owner.ownerId } }, { token: admin.token }),
      await gw.execute(Suspend, { userId: owner.ownerId }, { token: admin.token }),
      await gw.execute(ChangeRole, { userId: owner.ownerId, role: 'VIEWER' }, { token: admin.token }),
      await gw.execute(ChangeRole, { userId: admin.id, role: 'OWNER' }, { token: admin.token }),
      await gw.execute(Transfer, { userId: admin.id }, { token: admin.token }),
    ]) {
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    }
    expectNoErrors(await gw.execute(Me, {}, { token: owner.accessToken }));
  });

  test('ownership is handed over in one step; the old owner, now admin, can then leave', async () => {
    const owner = await signUpWithSession();
    const admin = await memberWithSession(owner.accessToken, 'ADMIN');
    expect(expectNoErrors(await gw.execute(Transfer, { userId: admin.id }, { token: owner.accessToken })).transferOwnership.role).toBe(
      'OWNER',
    );
    // The old owner's OWNER token is gone; its session refreshes into ADMIN.
    expect((await gw.execute(Me, {}, { token: owner.accessToken })).status).toBe(401);
    const asAdmin = expectNoErrors(await gw.execute(Refresh, { refreshToken: owner.refreshToken })).refreshSession;
    expect(asAdmin.user.role).toBe('ADMIN');
    expectNoErrors(await gw.execute(Leave, {}, { token: asAdmin.accessToken }));
    expect((await gw.execute(Me, {}, { token: asAdmin.accessToken })).status).toBe(401);
    // The heir's ADMIN token went with its old role; its session refreshes into OWNER.
    expect((await gw.execute(Me, {}, { token: admin.token })).status).toBe(401);
    const heir = expectNoErrors(await gw.execute(Refresh, { refreshToken: admin.refresh })).refreshSession;
    expect(heir.user.role).toBe('OWNER');
  });

  test('regression: a user deleted from the database behind the API loses access within a second (the liveness feed)', async () => {
    const owner = await signUpWithSession();
    const member = await memberWithSession(owner.accessToken, 'MEMBER');
    // Both request paths have found the token live, so this replica remembers it.
    expectNoErrors(await gw.execute(ListAgents, { first: 1 }, { token: member.token }));
    expectNoErrors(await gw.execute(Me, {}, { token: member.token }));
    expect(gw.fleetgate.tokenLiveness.vouchesFor(await principalOf(member))).toBe(true);
    await adminQuery(gw.database.adminUrl, 'delete from users where id = $1', [uuidOf(member.id)]);
    const refusedWithin = await waitFor(
      async () => (await gw.execute(ListAgents, { first: 1 }, { token: member.token })).status === 401,
      1_000,
    );
    expect(refusedWithin).toBeLessThan(1_000);
    expect((await gw.execute(Me, {}, { token: member.token })).status).toBe(401);
  });

  test('a change made while the liveness feed is down is not missed: the replica forgets what it remembered when the feed is back', async () => {
    const owner = await signUpWithSession();
    const member = await memberWithSession(owner.accessToken, 'MEMBER');
    expectNoErrors(await gw.execute(Me, {}, { token: member.token }));
    expect(gw.fleetgate.tokenLiveness.vouchesFor(await principalOf(member))).toBe(true);
    await adminQuery(
      gw.database.adminUrl,
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'fleetgate-change-feed' and datname = current_database()",
    );
    // Suspended by hand while nobody listens: its notification is lost.
    await adminQuery(gw.database.adminUrl, "update users set status = 'SUSPENDED' where id = $1", [uuidOf(member.id)]);
    await waitFor(async () => gw.fleetgate.watcher.isCurrent(), 5_000);
    expect(gw.fleetgate.tokenLiveness.vouchesFor(await principalOf(member))).toBe(false);
    expect((await gw.execute(Me, {}, { token: member.token })).status).toBe(401);
  });
});

/** The principal the member's access token carries, to ask the replica's TokenLiveness about it. */
async function principalOf(member: { token: string }) {
  const principal = await gw.tokens.verify(member.token);
  if (principal?.kind !== 'user') throw new Error('not a user token');
  return principal;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (await condition()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`condition not met within ${timeoutMs}ms`);
}

describe('self-service sign-up', () => {
  test('closed refuses, invite needs an operator’s invitation for that very email, and each address is limited', async () => {
    const closed = await startGateway({ policy: { signUp: 'closed' } });
    const invite = await startGateway({ policy: { signUp: 'invite' } });
    const limited = await startGateway({ policy: { signUpPerIpPerHour: 2 } });
    try {
      const input = (ownerEmail: string, inviteToken?: string) => ({
        input: { tenantName: 'x', owner: { email: ownerEmail, name: 'X' }, inviteToken },
      });
      expect(errorCodes(await closed.execute(SignUp, input(email('c'))))).toEqual(['FORBIDDEN']);

      const invited = email('i');
      expect(errorCodes(await invite.execute(SignUp, input(invited)))).toEqual(['FORBIDDEN']);
      const { createSignUpInvite } = expectNoErrors(
        await invite.execute(Invite, { email: invited }, { token: await invite.operator.token() }),
      );
      expect(errorCodes(await invite.execute(SignUp, input(email('other'), createSignUpInvite)))).toEqual(['FORBIDDEN']);
      expectNoErrors(await invite.execute(SignUp, input(invited, createSignUpInvite)));
      // An invitation is no bearer token.
      expect((await invite.execute(Me, {}, { token: createSignUpInvite })).status).toBe(401);

      expectNoErrors(await limited.execute(SignUp, input(email('l'))));
      expectNoErrors(await limited.execute(SignUp, input(email('l'))));
      const third = await limited.execute(SignUp, input(email('l')));
      expect(third.status).toBe(429);
      expect(errorCodes(third)).toEqual(['RATE_LIMITED']);
    } finally {
      await Promise.all([closed.close(), invite.close(), limited.close()]);
    }
  });
});
