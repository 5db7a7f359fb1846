import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { Secret } from '../shared/secret.ts';
import type { Keyring } from './keyring.ts';
import type { Principal, UserRole } from './principal.ts';

const ISSUER = 'fleetgate';
const AUDIENCE = 'fleetgate-api';
/** Only EdDSA is accepted: `alg: none`, HS256 with the public key as secret and friends are refused by jose. */
const ALGORITHMS = ['EdDSA'];
const USER_ROLES: readonly UserRole[] = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type TokenSubject =
  | { kind: 'user'; tenantId: string; userId: string; role: UserRole }
  | { kind: 'operator'; operatorId: string }
  | { kind: 'support'; tenantId: string; grantId: string; supportPrincipal: string };

export class TokenIssuer {
  constructor(
    private readonly keyring: Keyring,
    private readonly userTokenTtl: string,
  ) {}

  /** `ttl` is a duration ('12h') or, for support grants, the grant's expiry as a Date. */
  async issue(subject: TokenSubject, ttl: string | Date = this.userTokenTtl): Promise<Secret> {
    const jwt = await new SignJWT(claimsOf(subject))
      .setProtectedHeader({ alg: 'EdDSA', kid: this.keyring.signingKey.kid, typ: 'JWT' })
      .setSubject(subjectOf(subject))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(ttl)
      .sign(this.keyring.signingKey.privateKey);
    return new Secret(jwt);
  }

  /**
   * Verifies signature, algorithm, issuer, audience and expiry (all required), then maps the claims
   * to a principal. Returns undefined for every kind of invalid token: the caller answers
   * UNAUTHENTICATED without saying which check failed.
   */
  async verify(token: string): Promise<Principal | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.keyring.signingKey.publicKey, {
        algorithms: ALGORITHMS,
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub'],
      });
      const sub = payload.sub ?? '';
      if (payload.typ === 'operator' && sub.length > 0) return { kind: 'operator', operatorId: sub };
      if (
        payload.typ === 'support' &&
        UUID.test(sub) &&
        typeof payload.tid === 'string' &&
        UUID.test(payload.tid) &&
        typeof payload.spn === 'string' &&
        payload.spn.length > 0
      ) {
        // Only a claim: authenticate() admits it after finding the grant unexpired and unrevoked.
        return { kind: 'support', tenantId: payload.tid, grantId: sub, supportPrincipal: payload.spn };
      }
      if (
        payload.typ === 'user' &&
        UUID.test(sub) &&
        typeof payload.tid === 'string' &&
        UUID.test(payload.tid) &&
        USER_ROLES.includes(payload.role as UserRole)
      ) {
        return { kind: 'user', tenantId: payload.tid, userId: sub, role: payload.role as UserRole };
      }
      return undefined;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return undefined;
      throw error;
    }
  }
}

function claimsOf(subject: TokenSubject): Record<string, string> {
  switch (subject.kind) {
    case 'user':
      return { typ: 'user', tid: subject.tenantId, role: subject.role };
    case 'support':
      return { typ: 'support', tid: subject.tenantId, spn: subject.supportPrincipal };
    case 'operator':
      return { typ: 'operator' };
  }
}

function subjectOf(subject: TokenSubject): string {
  switch (subject.kind) {
    case 'user':
      return subject.userId;
    case 'support':
      return subject.grantId;
    case 'operator':
      return subject.operatorId;
  }
}
