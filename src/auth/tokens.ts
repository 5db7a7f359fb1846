import { hash } from 'node:crypto';
import { type JWTPayload, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { isCanonicalUuid } from '../shared/ids.ts';
import { Secret } from '../shared/secret.ts';
import type { Keyring } from './keyring.ts';
import { CLIENT_APP_NAME, type Principal, type UserRole } from './principal.ts';

const ISSUER = 'fleetgate';
const AUDIENCE = 'fleetgate-api';
/** Only EdDSA is accepted: `alg: none`, HS256 with the public key as secret and friends are refused by jose. */
const ALGORITHMS = ['EdDSA'];
const USER_ROLES: readonly UserRole[] = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'];

export type TokenSubject =
  | { kind: 'user'; tenantId: string; userId: string; role: UserRole; tokenVersion?: number; sessionId?: string; clientApp?: string }
  | { kind: 'operator'; operatorId: string }
  | { kind: 'support'; tenantId: string; grantId: string; supportPrincipal: string }
  | { kind: 'agent'; tenantId: string; agentId: string; generation: number };

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a USER_TOKEN_TTL duration: a number and one of s, m, h, d ('15m', '1d'). */
export function durationMs(duration: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * Tokens whose verification is remembered, at most; the oldest entry goes first. As many as
 * TokenLiveness remembers users: a replica that sees N live tokens, more than this, finds only about
 * size/N of them here, and each miss is a full Ed25519 check, about 100 times a hit (`npm run
 * bench:tokens`). Each entry takes about 0.4 kB of heap, 40 MB when full.
 */
export const VERIFIED_CACHE_SIZE = 100_000;

export class TokenIssuer {
  /**
   * Principals of tokens this issuer has verified, by SHA-256 of the token (the cache holds no
   * token), each until its token's `exp`. Verifying an Ed25519 signature is the largest CPU cost
   * of a small read (bench/run.ts), and clients send the same token many times. Only successes
   * are kept: a token that differs by one byte is another key and is verified in full.
   */
  private readonly verified = new Map<string, { principal: Readonly<Principal>; expiresAtMs: number }>();

  constructor(
    private readonly keyring: Keyring,
    private readonly userTokenTtl: string,
    private readonly cacheSize = VERIFIED_CACHE_SIZE,
  ) {}

  /** How many verified tokens are remembered now (tests). */
  get cachedTokens(): number {
    return this.verified.size;
  }

  /**
   * A session's access token: the user token lifetime, but never past the session's own expiry, so
   * a token cannot outlive its session (TokenLiveness remembers tokens, not session expiries).
   */
  issueForSession(subject: Extract<TokenSubject, { kind: 'user' }>, sessionExpiresAt: Date): Promise<Secret> {
    const lifetimeEnd = new Date(Date.now() + durationMs(this.userTokenTtl));
    return this.issue(subject, sessionExpiresAt < lifetimeEnd ? sessionExpiresAt : lifetimeEnd);
  }

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
   * UNAUTHENTICATED without saying which check failed. A token verified before answers from the
   * cache until its `exp` (the same instant jose refuses it), never after.
   */
  async verify(token: string): Promise<Principal | undefined> {
    const key = hash('sha256', token, 'base64');
    const known = this.verified.get(key);
    if (known && Date.now() < known.expiresAtMs) return known.principal;
    this.verified.delete(key);
    const verified = await this.verifyInFull(token);
    if (verified) this.remember(key, verified.principal, verified.expiresAtMs);
    return verified?.principal;
  }

  /** Expired entries are dropped when met; when full, the oldest entry makes room. */
  private remember(key: string, principal: Readonly<Principal>, expiresAtMs: number): void {
    if (this.verified.size >= this.cacheSize) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(key, { principal, expiresAtMs });
  }

  /**
   * An operator's invitation to sign up (SIGN_UP=invite), bound to the future owner's email. Its
   * `typ` is no principal's, so it never authenticates a request.
   */
  async issueInvite(email: string, ttl = '7d'): Promise<Secret> {
    const jwt = await new SignJWT({ typ: 'invite', email })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.keyring.signingKey.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(ttl)
      .sign(this.keyring.signingKey.privateKey);
    return new Secret(jwt);
  }

  /** Whether `token` is a live invitation for exactly this email. */
  async verifyInvite(token: string, email: string): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, this.keyring.signingKey.publicKey, {
        algorithms: ALGORITHMS,
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat'],
      });
      return payload.typ === 'invite' && payload.email === email;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return false;
      throw error;
    }
  }

  /** The full check: signature, algorithm, issuer, audience, expiry, then the claims' shape. */
  private async verifyInFull(token: string): Promise<{ principal: Readonly<Principal>; expiresAtMs: number } | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.keyring.signingKey.publicKey, {
        algorithms: ALGORITHMS,
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub'],
      });
      const principal = principalOf(payload);
      // jose refuses a token without a numeric exp (required above); the check is for the type only.
      if (!principal || typeof payload.exp !== 'number') return undefined;
      return { principal: Object.freeze(principal), expiresAtMs: payload.exp * 1000 };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return undefined;
      throw error;
    }
  }
}

/** Maps verified claims to a principal; undefined when they do not describe one. */
function principalOf(payload: JWTPayload): Principal | undefined {
  const sub = payload.sub ?? '';
  if (payload.typ === 'operator' && sub.length > 0) return { kind: 'operator', operatorId: sub };
  if (
    payload.typ === 'support' &&
    isCanonicalUuid(sub) &&
    typeof payload.tid === 'string' &&
    isCanonicalUuid(payload.tid) &&
    typeof payload.spn === 'string' &&
    payload.spn.length > 0
  ) {
    // Only a claim: authenticate() admits it after finding the grant unexpired and unrevoked.
    return { kind: 'support', tenantId: payload.tid, grantId: sub, supportPrincipal: payload.spn };
  }
  if (
    payload.typ === 'agent' &&
    isCanonicalUuid(sub) &&
    typeof payload.tid === 'string' &&
    isCanonicalUuid(payload.tid) &&
    Number.isSafeInteger(payload.gen)
  ) {
    // Only a claim: authenticate() admits it while the agent row still holds this generation.
    return { kind: 'agent', tenantId: payload.tid, agentId: sub, generation: payload.gen as number };
  }
  if (
    payload.typ === 'user' &&
    isCanonicalUuid(sub) &&
    typeof payload.tid === 'string' &&
    isCanonicalUuid(payload.tid) &&
    USER_ROLES.includes(payload.role as UserRole) &&
    (payload.sid === undefined || (typeof payload.sid === 'string' && isCanonicalUuid(payload.sid))) &&
    (payload.ver === undefined || Number.isSafeInteger(payload.ver)) &&
    (payload.app === undefined || (typeof payload.app === 'string' && CLIENT_APP_NAME.test(payload.app)))
  ) {
    // Only a claim: the request's first statement admits it while the user is ACTIVE at this version
    // and the session is live. Tokens minted before sessions carry neither: version 1, no session.
    return {
      kind: 'user',
      tenantId: payload.tid,
      userId: sub,
      role: payload.role as UserRole,
      tokenVersion: (payload.ver as number | undefined) ?? 1,
      ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
      ...(typeof payload.app === 'string' ? { clientApp: payload.app } : {}),
    };
  }
  return undefined;
}

function claimsOf(subject: TokenSubject): Record<string, string | number> {
  switch (subject.kind) {
    case 'user':
      return {
        typ: 'user',
        tid: subject.tenantId,
        role: subject.role,
        ver: subject.tokenVersion ?? 1,
        ...(subject.sessionId ? { sid: subject.sessionId } : {}),
        ...(subject.clientApp ? { app: subject.clientApp } : {}),
      };
    case 'support':
      return { typ: 'support', tid: subject.tenantId, spn: subject.supportPrincipal };
    case 'operator':
      return { typ: 'operator' };
    case 'agent':
      return { typ: 'agent', tid: subject.tenantId, gen: subject.generation };
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
    case 'agent':
      return subject.agentId;
  }
}
