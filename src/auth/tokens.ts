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

export type TokenSubject = { kind: 'user'; tenantId: string; userId: string; role: UserRole } | { kind: 'operator'; operatorId: string };

export class TokenIssuer {
  constructor(
    private readonly keyring: Keyring,
    private readonly userTokenTtl: string,
  ) {}

  async issue(subject: TokenSubject, ttl = this.userTokenTtl): Promise<Secret> {
    const claims = subject.kind === 'user' ? { typ: 'user', tid: subject.tenantId, role: subject.role } : { typ: 'operator' };
    const jwt = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: this.keyring.signingKey.kid, typ: 'JWT' })
      .setSubject(subject.kind === 'user' ? subject.userId : subject.operatorId)
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
