/**
 * Who is calling. A request carries exactly one principal, derived from its credential alone and
 * never from arguments or headers the client chooses. Every tenant id here came from a verified
 * token or a verified API key.
 */
export type UserRole = 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER';
export type ApiKeyScope = 'AGENTS_READ' | 'AGENTS_WRITE';

export type Principal =
  | { kind: 'anonymous' }
  /**
   * A member signed in through a session. `tokenVersion` is the user's token version at minting
   * (absent: 1) and `sessionId` the session the token belongs to (absent on tokens minted before
   * sessions existed, and on the canary's): the token is admitted only while the user is ACTIVE at
   * that version and the session is live, checked by the request transaction's first statement
   * (enter_user_request).
   */
  | {
      kind: 'user';
      tenantId: string;
      userId: string;
      role: UserRole;
      tokenVersion?: number;
      sessionId?: string;
      /** The client app the session is bound to (its tokens run only that app's documents); absent: not bound. */
      clientApp?: string;
    }
  /** `clientApp`: the app the key is bound to (it runs only that app's documents); absent: not bound. */
  | { kind: 'apiKey'; tenantId: string; keyId: string; scopes: readonly ApiKeyScope[]; clientApp?: string }
  /** A named support person acting under a tenant owner's time-bound, read-only grant. */
  | { kind: 'support'; tenantId: string; grantId: string; supportPrincipal: string }
  | { kind: 'operator'; operatorId: string }
  /**
   * An agent acting as itself, from the token the gateway minted for its container. `generation` is
   * the agent row's token generation at minting: the token is admitted only while they still match.
   */
  | { kind: 'agent'; tenantId: string; agentId: string; generation: number };

export type TenantPrincipal = Extract<Principal, { tenantId: string }>;

export function tenantOf(principal: Principal): string | undefined {
  return 'tenantId' in principal ? principal.tenantId : undefined;
}

/** Actor fields for the audit log: never a token, only who. */
export function actorOf(principal: Principal): { actorType: string; actorId: string } {
  switch (principal.kind) {
    case 'user':
      return { actorType: 'USER', actorId: principal.userId };
    case 'apiKey':
      return { actorType: 'API_KEY', actorId: principal.keyId };
    case 'support':
      return { actorType: 'SUPPORT', actorId: principal.supportPrincipal };
    case 'operator':
      return { actorType: 'OPERATOR', actorId: principal.operatorId };
    case 'agent':
      return { actorType: 'AGENT', actorId: principal.agentId };
    case 'anonymous':
      return { actorType: 'ANONYMOUS', actorId: 'anonymous' };
  }
}

/** What a client app's name looks like (the CHECK of client_apps.name): the app a key or session may be bound to. */
export const CLIENT_APP_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
